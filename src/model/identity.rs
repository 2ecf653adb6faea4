//! One object per identity. A cluster holds one object per (cluster, API group, kind,
//! namespace, name), names and namespaces taken after every transformation; the repository may
//! declare it more than once:
//!
//! * twice in one kustomize build (a kustomization built on its own, or a Flux
//!   Kustomization): kustomize refuses the whole build ("may not add resource with an already
//!   registered id", or "namespace transformation produces ID conflict" when the copies differ
//!   only before a `namespace:`). The first copy is kept, so verdicts never go silent. First
//!   in apply order below: within a file that is kustomize's order; across the files of one
//!   build kustomize follows its `resources` lists, which the model does not see, and path
//!   order stands in for them;
//! * otherwise (a plain tree applied with `kubectl apply -R -f DIR`, or two controllers
//!   applying the same object) the copies are applied one after the other and the last one
//!   wins: lexical path order, then document order within a file;
//! * the same source object reaching the same place by two ways is one object, silently.

use crate::topology::BuildRoot;
use rustc_hash::FxHashMap as HashMap;
use std::cmp::Ordering;
use std::collections::hash_map::Entry;

/// An object's identity in a cluster.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId {
    pub cluster: Option<String>,
    /// The API group: empty for the core group (`apiVersion: v1`).
    pub group: String,
    pub kind: String,
    /// `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectId {
    /// `NetworkPolicy web/allow-dns`, `Namespace web`.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }
}

/// An [`ObjectId`] borrowed from the object it names: what settling compares, so that a
/// repository's objects cost no copies of their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct IdKey<'a> {
    pub cluster: Option<&'a str>,
    pub group: &'a str,
    pub kind: &'a str,
    pub namespace: Option<&'a str>,
    pub name: &'a str,
}

impl IdKey<'_> {
    pub fn to_id(self) -> ObjectId {
        ObjectId {
            cluster: self.cluster.map(str::to_string),
            group: self.group.to_string(),
            kind: self.kind.to_string(),
            namespace: self.namespace.map(str::to_string),
            name: self.name.to_string(),
        }
    }
}

/// An object's identity as kustomize tells resources of one build apart: by group, version,
/// kind, name and namespace, where no namespace and `default` are the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct BuildKey<'a> {
    pub cluster: Option<&'a str>,
    pub root: BuildRoot,
    pub api_version: &'a str,
    pub kind: &'a str,
    /// After the build's `namespace:`; `None` for cluster-scoped kinds.
    pub namespace: Option<&'a str>,
    pub name: &'a str,
}

/// One object as it lands one way, as far as its identity goes.
#[derive(Debug, Clone)]
pub(super) struct Candidate<'a> {
    pub id: IdKey<'a>,
    /// Set when a kustomize build applies it.
    pub build: Option<BuildKey<'a>>,
    /// The source object: its file and its index among the file's objects.
    pub source: (usize, usize),
}

/// Two copies of one object: `first` comes before `second` in apply order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Clash {
    pub first: usize,
    pub second: usize,
    /// Both are in this kustomize build, which kustomize refuses: `first` is kept. `None`:
    /// `second` replaces `first`.
    pub refused: Option<BuildRoot>,
}

/// Which candidates become objects of the model, and the clashes between copies.
#[derive(Debug)]
pub(super) struct Settled {
    pub kept: Vec<bool>,
    pub clashes: Vec<Clash>,
}

/// Settles `candidates` taken in `order` (indices into `candidates`, in apply order, the ways
/// of one source object next to each other). A loop over the candidates, with two maps: the
/// first copy of each identity per build, and the copy of each identity that counts so far.
/// `same(a, b)`: candidates `a` and `b` are one source object landing alike (one object);
/// else two copies.
pub(super) fn settle(
    candidates: &[Candidate],
    order: &[usize],
    same: impl Fn(usize, usize) -> bool,
) -> Settled {
    let mut kept = vec![false; candidates.len()];
    let mut clashes = Vec::new();
    let mut first_in_build: HashMap<&BuildKey, usize> = HashMap::default();
    let mut current: HashMap<&IdKey, usize> = HashMap::default();
    for &c in order {
        let candidate = &candidates[c];
        if let Some(build) = &candidate.build {
            match first_in_build.entry(build) {
                Entry::Occupied(first) => {
                    let first = *first.get();
                    if !same(first, c) {
                        clashes.push(Clash {
                            first,
                            second: c,
                            refused: Some(build.root),
                        });
                        continue;
                    }
                }
                Entry::Vacant(slot) => {
                    slot.insert(c);
                }
            }
        }
        match current.entry(&candidate.id) {
            Entry::Vacant(slot) => {
                slot.insert(c);
                kept[c] = true;
            }
            Entry::Occupied(mut slot) => {
                let earlier = *slot.get();
                if same(earlier, c) {
                    continue;
                }
                kept[earlier] = false;
                kept[c] = true;
                slot.insert(c);
                clashes.push(Clash {
                    first: earlier,
                    second: c,
                    refused: None,
                });
            }
        }
    }
    Settled { kept, clashes }
}

/// The order in which objects from `sources` (file index into `files`, index among the file's
/// objects) are applied: files in [`path_order`], documents in file order. Stable, so the
/// ways of one object stay together in the order they come, whether they arrive object by
/// object or way by way.
pub(super) fn apply_order(files: &[String], sources: &[(usize, usize)]) -> Vec<usize> {
    // Files ranked once, so that ordering the objects compares integers, not paths.
    let mut by_path: Vec<usize> = (0..files.len()).collect();
    by_path.sort_by(|&a, &b| path_order(&files[a], &files[b]));
    let mut rank = vec![0; files.len()];
    for (position, &file) in by_path.iter().enumerate() {
        rank[file] = position;
    }
    let mut order: Vec<usize> = (0..sources.len()).collect();
    order.sort_by_key(|&i| {
        let (file, object) = sources[i];
        (rank[file], object)
    });
    order
}

/// `kubectl apply -R -f DIR` order of two display paths: a directory's entries by name, so
/// `a/b.yaml` comes before `a-c.yaml` (a plain string order would put `-` before `/`).
pub(super) fn path_order(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str) -> IdKey<'_> {
        IdKey {
            cluster: None,
            group: "networking.k8s.io",
            kind: "NetworkPolicy",
            namespace: Some("web"),
            name,
        }
    }

    /// A candidate named `name` from object `object` of `file`, in `build` when given.
    fn candidate(name: &str, file: usize, object: usize, build: Option<usize>) -> Candidate<'_> {
        let id = id(name);
        Candidate {
            build: build.map(|k| BuildKey {
                cluster: None,
                root: BuildRoot::Kustomization(k),
                api_version: "networking.k8s.io/v1",
                kind: id.kind,
                namespace: id.namespace,
                name: id.name,
            }),
            id,
            source: (file, object),
        }
    }

    fn settle_in_order(candidates: &[Candidate]) -> Settled {
        let order: Vec<usize> = (0..candidates.len()).collect();
        settle(candidates, &order, by_source(candidates))
    }

    /// One object when from one source, as when every way lands it alike.
    fn by_source<'a>(candidates: &'a [Candidate<'_>]) -> impl Fn(usize, usize) -> bool + 'a {
        |a, b| candidates[a].source == candidates[b].source
    }

    #[test]
    fn distinct_identities_are_all_kept() {
        let settled = settle_in_order(&[candidate("a", 0, 0, None), candidate("b", 1, 0, None)]);
        assert_eq!(settled.kept, [true, true]);
        assert!(settled.clashes.is_empty());
    }

    #[test]
    fn in_a_plain_tree_the_last_copy_wins() {
        let settled = settle_in_order(&[
            candidate("a", 0, 0, None),
            candidate("a", 1, 0, None),
            candidate("a", 1, 1, None),
        ]);
        assert_eq!(settled.kept, [false, false, true]);
        assert_eq!(
            settled.clashes,
            [
                Clash {
                    first: 0,
                    second: 1,
                    refused: None
                },
                Clash {
                    first: 1,
                    second: 2,
                    refused: None
                }
            ]
        );
    }

    #[test]
    fn in_one_build_the_second_copy_is_refused_and_the_first_kept() {
        let settled =
            settle_in_order(&[candidate("a", 0, 0, Some(9)), candidate("a", 1, 0, Some(9))]);
        assert_eq!(settled.kept, [true, false]);
        assert_eq!(
            settled.clashes,
            [Clash {
                first: 0,
                second: 1,
                refused: Some(BuildRoot::Kustomization(9))
            }]
        );
    }

    #[test]
    fn copies_in_two_builds_are_applied_one_after_the_other() {
        let settled =
            settle_in_order(&[candidate("a", 0, 0, Some(8)), candidate("a", 1, 0, Some(9))]);
        assert_eq!(settled.kept, [false, true]);
        assert_eq!(settled.clashes[0].refused, None);
    }

    #[test]
    fn one_source_reaching_one_place_twice_is_one_object_silently() {
        // A base built by two kustomizations that land it alike.
        let settled =
            settle_in_order(&[candidate("a", 0, 0, Some(8)), candidate("a", 0, 0, Some(9))]);
        assert_eq!(settled.kept, [true, false]);
        assert!(settled.clashes.is_empty());
    }

    #[test]
    fn a_refused_copy_never_replaces_the_one_that_counts() {
        // Build 9 holds two copies; a plain copy comes between them in apply order.
        let settled = settle_in_order(&[
            candidate("a", 0, 0, Some(9)),
            candidate("a", 1, 0, None),
            candidate("a", 2, 0, Some(9)),
        ]);
        assert_eq!(settled.kept, [false, true, false]);
        let kinds: Vec<(usize, usize, bool)> = settled
            .clashes
            .iter()
            .map(|c| (c.first, c.second, c.refused.is_some()))
            .collect();
        assert_eq!(kinds, [(0, 1, false), (0, 2, true)]);
    }

    #[test]
    fn the_order_given_decides_which_copy_is_last() {
        let candidates = [candidate("a", 0, 0, None), candidate("a", 1, 0, None)];
        let settled = settle(&candidates, &[1, 0], by_source(&candidates));
        assert_eq!(settled.kept, [true, false]);
    }

    #[test]
    fn ways_arriving_way_by_way_are_applied_document_by_document() {
        let files = ["a-b.yaml".to_string(), "a/x.yaml".to_string()];
        // Way 1 then way 2 of objects 0 and 1 of `a-b.yaml`, then `a/x.yaml`'s object.
        let sources = [(0, 0), (0, 1), (0, 0), (0, 1), (1, 0)];
        assert_eq!(apply_order(&files, &sources), [4, 0, 2, 1, 3]);
        // Two documents of one identity reached by two ways: one clash, the last one kept.
        let candidates: Vec<Candidate> = sources[..4]
            .iter()
            .map(|&(file, object)| candidate("a", file, object, None))
            .collect();
        let settled = settle(
            &candidates,
            &apply_order(&files, &sources[..4]),
            by_source(&candidates),
        );
        assert_eq!(settled.kept, [false, true, false, false]);
        assert_eq!(settled.clashes.len(), 1, "{:?}", settled.clashes);
    }

    #[test]
    fn paths_are_ordered_a_directory_at_a_time() {
        assert_eq!(path_order("a/b.yaml", "a-c.yaml"), Ordering::Less);
        // kubectl walks directory `a` before file `a.yaml`.
        assert_eq!(path_order("a.yaml", "a/b.yaml"), Ordering::Greater);
        assert_eq!(path_order("x/2.yaml", "x/10.yaml"), Ordering::Greater);
        assert_eq!(path_order("x/a.yaml", "x/a.yaml"), Ordering::Equal);
    }
}
