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
use rustc_hash::{FxBuildHasher, FxHashMap as HashMap};
use std::cmp::Ordering;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, Hash};

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

/// The copies of objects settling reads, by index. Their keys are computed when asked, so
/// that settling keeps no second record per copy.
pub(super) trait Copies {
    /// The identity of copy `i`.
    fn id(&self, i: usize) -> IdKey<'_>;
    /// Its identity in the kustomize build that applies it, when one does.
    fn build(&self, i: usize) -> Option<BuildKey<'_>>;
    /// Copies `a` and `b` are one source object landing alike (one object); else two copies.
    fn same(&self, a: usize, b: usize) -> bool;
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

/// Which copies become objects of the model, and the clashes between copies.
#[derive(Debug)]
pub(super) struct Settled {
    /// By copy index; copies not in the order settled are kept.
    pub kept: Vec<bool>,
    pub clashes: Vec<Clash>,
}

/// Settles `count` copies taken in `order` (indices of copies with an identity, in apply
/// order, the ways of one source object next to each other). A loop over the copies, with two
/// maps: the first copy of each identity per build, and the copy of each identity that counts
/// so far.
pub(super) fn settle(copies: &(impl Copies + ?Sized), count: usize, order: &[usize]) -> Settled {
    let mut kept = vec![true; count];
    let mut clashes = Vec::new();
    let mut first_in_build: ByKey<_> = ByKey::default();
    let mut current: ByKey<_> = ByKey::default();
    for &c in order {
        if let Some(build) = copies.build(c) {
            let in_build = |i| copies.build(i) == Some(build);
            match first_in_build.get(&build, in_build) {
                Some(first) => {
                    if !copies.same(first, c) {
                        kept[c] = false;
                        clashes.push(Clash {
                            first,
                            second: c,
                            refused: Some(build.root),
                        });
                        continue;
                    }
                }
                None => first_in_build.insert(build, c, in_build),
            }
        }
        let id = copies.id(c);
        let same_id = |i| copies.id(i) == id;
        match current.get(&id, same_id) {
            None => current.insert(id, c, same_id),
            Some(earlier) if copies.same(earlier, c) => kept[c] = false,
            Some(earlier) => {
                kept[earlier] = false;
                current.insert(id, c, same_id);
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

/// Indices by a key that each index has, holding no keys: the key of an index is computed
/// from it when needed (`has_key(i)`: index `i` has the key asked for). Indices are found by
/// the hash of their key; two keys with one hash are told apart exactly, the later one held
/// by value.
struct ByKey<K, S = FxBuildHasher> {
    by_hash: HashMap<u64, usize>,
    collided: HashMap<K, usize>,
    hasher: S,
}

impl<K, S: Default> Default for ByKey<K, S> {
    fn default() -> Self {
        Self {
            by_hash: HashMap::default(),
            collided: HashMap::default(),
            hasher: S::default(),
        }
    }
}

impl<K: Hash + Eq, S: BuildHasher> ByKey<K, S> {
    /// The index held for `key`.
    fn get(&self, key: &K, has_key: impl Fn(usize) -> bool) -> Option<usize> {
        match self.by_hash.get(&self.hasher.hash_one(key)) {
            Some(&i) if has_key(i) => Some(i),
            Some(_) => self.collided.get(key).copied(),
            None => None,
        }
    }

    /// Holds `index` for `key`, in place of any index held for it.
    fn insert(&mut self, key: K, index: usize, has_key: impl Fn(usize) -> bool) {
        match self.by_hash.entry(self.hasher.hash_one(&key)) {
            Entry::Vacant(slot) => {
                slot.insert(index);
            }
            Entry::Occupied(mut slot) if has_key(*slot.get()) => {
                slot.insert(index);
            }
            Entry::Occupied(_) => {
                self.collided.insert(key, index);
            }
        }
    }
}

/// The indices of `sources` (index, then the source object: file index into `files`, index
/// among the file's objects) in the order in which the objects are applied: files in
/// [`path_order`], documents in file order. Stable, so the ways of one object stay together
/// in the order they come, whether they arrive object by object or way by way.
pub(super) fn apply_order(
    files: &[String],
    mut sources: Vec<(usize, (usize, usize))>,
) -> Vec<usize> {
    // Files ranked once, so that ordering the objects compares integers, not paths.
    let mut by_path: Vec<usize> = (0..files.len()).collect();
    by_path.sort_by(|&a, &b| path_order(&files[a], &files[b]));
    let mut rank = vec![0; files.len()];
    for (position, &file) in by_path.iter().enumerate() {
        rank[file] = position;
    }
    sources.sort_by_key(|&(_, (file, object))| (rank[file], object));
    sources.into_iter().map(|(i, _)| i).collect()
}

/// `kubectl apply -R -f DIR` order of two display paths: a directory's entries by name, so
/// `a/b.yaml` comes before `a-c.yaml` (a plain string order would put `-` before `/`).
pub(super) fn path_order(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(name: &str) -> IdKey<'_> {
        IdKey {
            cluster: None,
            group: "networking.k8s.io",
            kind: "NetworkPolicy",
            namespace: Some("web"),
            name,
        }
    }

    /// One copy as it lands one way, as far as its identity goes.
    #[derive(Debug, Clone)]
    struct Candidate<'a> {
        id: IdKey<'a>,
        build: Option<BuildKey<'a>>,
        /// The source object: its file and its index among the file's objects.
        source: (usize, usize),
    }

    /// One object when from one source, as when every way lands it alike.
    impl Copies for [Candidate<'_>] {
        fn id(&self, i: usize) -> IdKey<'_> {
            self[i].id
        }

        fn build(&self, i: usize) -> Option<BuildKey<'_>> {
            self[i].build
        }

        fn same(&self, a: usize, b: usize) -> bool {
            self[a].source == self[b].source
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
        settle(candidates, candidates.len(), &order)
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
        let settled = settle(&candidates[..], 2, &[1, 0]);
        assert_eq!(settled.kept, [true, false]);
    }

    #[test]
    fn ways_arriving_way_by_way_are_applied_document_by_document() {
        let files = ["a-b.yaml".to_string(), "a/x.yaml".to_string()];
        // Way 1 then way 2 of objects 0 and 1 of `a-b.yaml`, then `a/x.yaml`'s object.
        let sources = [(0, 0), (0, 1), (0, 0), (0, 1), (1, 0)];
        let indexed = |n: usize| sources[..n].iter().copied().enumerate().collect();
        assert_eq!(apply_order(&files, indexed(5)), [4, 0, 2, 1, 3]);
        // Two documents of one identity reached by two ways: one clash, the last one kept.
        let candidates: Vec<Candidate> = sources[..4]
            .iter()
            .map(|&(file, object)| candidate("a", file, object, None))
            .collect();
        let order = apply_order(&files, indexed(4));
        let settled = settle(&candidates[..], 4, &order);
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

    /// Settling as it was done before copies were found by index: with each copy's keys held
    /// by value in the maps. The reference for [`settle`].
    fn settle_by_value(candidates: &[Candidate], order: &[usize]) -> Settled {
        let mut kept: Vec<bool> = (0..candidates.len()).map(|c| !order.contains(&c)).collect();
        let mut clashes = Vec::new();
        let mut first_in_build: HashMap<BuildKey, usize> = HashMap::default();
        let mut current: HashMap<IdKey, usize> = HashMap::default();
        for &c in order {
            let candidate = &candidates[c];
            if let Some(build) = candidate.build {
                match first_in_build.get(&build) {
                    Some(&first) if candidates.same(first, c) => {}
                    Some(&first) => {
                        clashes.push(Clash {
                            first,
                            second: c,
                            refused: Some(build.root),
                        });
                        continue;
                    }
                    None => {
                        first_in_build.insert(build, c);
                    }
                }
            }
            match current.get(&candidate.id) {
                None => {
                    current.insert(candidate.id, c);
                    kept[c] = true;
                }
                Some(&earlier) if candidates.same(earlier, c) => {}
                Some(&earlier) => {
                    kept[earlier] = false;
                    kept[c] = true;
                    current.insert(candidate.id, c);
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

    const NAMES: [&str; 3] = ["a", "b", "c"];
    const NAMESPACES: [&str; 2] = ["web", "default"];

    /// Few names, namespaces, builds and sources, so that identities repeat; and an order
    /// that leaves some copies out.
    fn arb_settling() -> impl Strategy<Value = (Vec<Candidate<'static>>, Vec<usize>)> {
        let copy = (
            0..3usize,
            0..2usize,
            prop::option::of(0..2usize),
            0..2usize,
            0..2usize,
        );
        prop::collection::vec(copy, 0..12).prop_flat_map(|copies| {
            let candidates: Vec<Candidate> = copies
                .into_iter()
                .map(|(name, namespace, build, file, object)| {
                    let mut c = candidate(NAMES[name], file, object, build);
                    c.id.namespace = Some(NAMESPACES[namespace]);
                    if let Some(b) = &mut c.build {
                        b.namespace = c.id.namespace;
                    }
                    c
                })
                .collect();
            let n = candidates.len();
            let order = prop::sample::subsequence((0..n).collect::<Vec<_>>(), 0..=n).prop_shuffle();
            (Just(candidates), order)
        })
    }

    /// Every key hashes alike: each index past the first is found through the exact map.
    #[derive(Default)]
    struct OneHash;

    impl std::hash::Hasher for OneHash {
        fn finish(&self) -> u64 {
            7
        }

        fn write(&mut self, _: &[u8]) {}
    }

    /// [`ByKey`] against a map holding the keys, for `S`: a run of inserts and lookups of
    /// few keys, index `i` being the `i`th insert.
    fn by_key_agrees<S: BuildHasher + Default>(ops: &[(bool, u8)]) -> Result<(), TestCaseError> {
        let mut by_key: ByKey<u8, S> = ByKey::default();
        let mut by_value: HashMap<u8, usize> = HashMap::default();
        let mut key_of = Vec::new();
        for &(insert, key) in ops {
            let has_key = |i: usize| key_of[i] == key;
            if insert {
                by_key.insert(key, key_of.len(), has_key);
                by_value.insert(key, key_of.len());
                key_of.push(key);
            } else {
                prop_assert_eq!(by_key.get(&key, has_key), by_value.get(&key).copied());
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn settles_as_with_keys_held_by_value((candidates, order) in arb_settling()) {
            let settled = settle(&candidates[..], candidates.len(), &order);
            let reference = settle_by_value(&candidates, &order);
            prop_assert_eq!(settled.kept, reference.kept);
            prop_assert_eq!(settled.clashes, reference.clashes);
        }

        #[test]
        fn indices_by_key_are_found_as_in_a_map_of_keys(
            ops in prop::collection::vec((any::<bool>(), 0..5u8), 0..40),
        ) {
            by_key_agrees::<FxBuildHasher>(&ops)?;
            by_key_agrees::<std::hash::BuildHasherDefault<OneHash>>(&ops)?;
        }
    }
}
