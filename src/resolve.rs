//! Stage 3: which namespace(s) each file's objects land in, following kustomize.
//!
//! A kustomization's `namespace:` sets the namespace of every namespaced object it builds,
//! through `resources`, `components` and `bases`; the outermost kustomization that sets one
//! wins, as in kustomize. A base reached from two overlays lands in both overlays' namespaces.
//! Files that no kustomization builds keep their own `metadata.namespace`.

use crate::discover::{KUSTOMIZATION_NAMES, normalize};
use crate::load::LoadedFile;
use crate::yaml::Node;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// What kustomize would do to one file's objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Not built by any kustomization: objects keep their own namespace.
    Standalone,
    /// Built by kustomizations; each entry is one way in, with the namespace it forces (if any).
    Built(BTreeSet<Option<String>>),
    /// Used by a kustomization as a patch or generator input, not as a resource.
    NotAResource,
}

#[derive(Debug, Default)]
pub struct Resolution {
    /// One placement per loaded file, in the same order.
    pub placements: Vec<Placement>,
    /// Things kustomize would follow that imds-lint cannot (remote bases, missing paths, cycles).
    pub notes: Vec<String>,
}

/// A reference from a kustomization to something it builds.
enum Target {
    File(usize),
    Kustomization(usize),
}

struct Kustomization {
    namespace: Option<String>,
    builds: Vec<Target>,
}

fn strings(node: Option<&Node>) -> Vec<&str> {
    node.and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(Node::as_str)
        .collect()
}

fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("github.com/")
        || entry.starts_with("git@")
        || entry.contains("?ref=")
}

pub fn resolve(files: &[LoadedFile]) -> Resolution {
    let index: HashMap<PathBuf, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (normalize(&f.path), i))
        .collect();
    let kustomization_in = |dir: &Path| {
        KUSTOMIZATION_NAMES
            .iter()
            .find_map(|name| index.get(&normalize(&dir.join(name))).copied())
            .filter(|&i| files[i].kustomization.is_some())
    };

    let mut notes = Vec::new();
    let mut not_resources = BTreeSet::new();
    let mut kustomizations: HashMap<usize, Kustomization> = HashMap::new();
    for (i, file) in files.iter().enumerate() {
        let Some(k) = &file.kustomization else {
            continue;
        };
        let dir = file.path.parent().unwrap_or(Path::new("."));
        let mut builds = Vec::new();
        let entries = ["resources", "components", "bases"]
            .iter()
            .flat_map(|key| strings(k.get(key)));
        for entry in entries {
            if is_remote(entry) {
                notes.push(format!(
                    "{}: remote resource {entry} is not followed",
                    file.display
                ));
                continue;
            }
            let path = normalize(&dir.join(entry));
            if let Some(&target) = index.get(&path) {
                builds.push(Target::File(target));
            } else if let Some(target) = kustomization_in(&path) {
                builds.push(Target::Kustomization(target));
            } else {
                notes.push(format!(
                    "{}: resource {entry} is neither a manifest nor a kustomization in the linted tree",
                    file.display
                ));
            }
        }
        if k.get("helmCharts").is_some() {
            notes.push(format!(
                "{}: helmCharts are not rendered; lint `kubectl kustomize --enable-helm` output with `-`",
                file.display
            ));
        }
        // Patches and generator inputs are not objects of their own.
        let mut inputs: Vec<&str> = strings(k.get("patchesStrategicMerge"));
        for key in ["patches", "patchesJson6902", "replacements"] {
            for item in k.get(key).and_then(Node::as_seq).unwrap_or_default() {
                inputs.extend(item.get("path").and_then(Node::as_str));
            }
        }
        for key in ["configMapGenerator", "secretGenerator"] {
            for item in k.get(key).and_then(Node::as_seq).unwrap_or_default() {
                inputs.extend(
                    strings(item.get("files"))
                        .into_iter()
                        .map(|f| f.rsplit('=').next().unwrap_or(f)),
                );
            }
        }
        for input in inputs {
            if let Some(&target) = index.get(&normalize(&dir.join(input))) {
                not_resources.insert(target);
            }
        }
        let namespace = k
            .get("namespace")
            .and_then(Node::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        kustomizations.insert(i, Kustomization { namespace, builds });
    }

    let mut included = BTreeSet::new();
    for k in kustomizations.values() {
        for t in &k.builds {
            if let Target::Kustomization(j) = t {
                included.insert(*j);
            }
        }
    }
    let mut walker = Walker {
        kustomizations: &kustomizations,
        files,
        placements: vec![Placement::Standalone; files.len()],
        reached: BTreeSet::new(),
        notes,
    };
    let mut roots: Vec<usize> = kustomizations
        .keys()
        .copied()
        .filter(|k| !included.contains(k))
        .collect();
    roots.sort_unstable();
    for root in roots {
        walker.walk(root, None, &mut Vec::new());
    }
    // A cycle that nothing outside builds has no root: enter it at its first member.
    let mut all: Vec<usize> = kustomizations.keys().copied().collect();
    all.sort_unstable();
    for k in all {
        if !walker.reached.contains(&k) {
            walker.walk(k, None, &mut Vec::new());
        }
    }
    let Walker {
        mut placements,
        mut notes,
        ..
    } = walker;
    for i in not_resources {
        if placements[i] == Placement::Standalone {
            placements[i] = Placement::NotAResource;
        }
    }
    notes.sort();
    notes.dedup();
    Resolution { placements, notes }
}

/// Follows kustomizations from an entry point down to the files they build.
struct Walker<'a> {
    kustomizations: &'a HashMap<usize, Kustomization>,
    files: &'a [LoadedFile],
    placements: Vec<Placement>,
    reached: BTreeSet<usize>,
    notes: Vec<String>,
}

impl Walker<'_> {
    /// `forced`: the namespace an outer kustomization sets; `path`: the kustomizations above.
    fn walk(&mut self, k: usize, forced: Option<&str>, path: &mut Vec<usize>) {
        let Some(kustomization) = self.kustomizations.get(&k) else {
            return;
        };
        if path.contains(&k) {
            self.notes.push(format!(
                "{}: kustomization cycle, not followed again",
                self.files[k].display
            ));
            return;
        }
        self.reached.insert(k);
        // The outermost kustomization that sets a namespace wins.
        let forced = forced.or(kustomization.namespace.as_deref());
        path.push(k);
        for target in &kustomization.builds {
            match *target {
                Target::File(f) => {
                    let way = forced.map(str::to_string);
                    match &mut self.placements[f] {
                        Placement::Built(ways) => {
                            ways.insert(way);
                        }
                        other => *other = Placement::Built(BTreeSet::from([way])),
                    }
                }
                Target::Kustomization(j) => self.walk(j, forced, path),
            }
        }
        path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_stream;

    fn file(path: &str, text: &str) -> LoadedFile {
        let mut f = load_stream(path, text.as_bytes());
        f.path = PathBuf::from(path);
        if crate::load::is_kustomization(Path::new(path)) {
            f.kustomization = crate::yaml::parse_documents(text, 0)
                .unwrap()
                .into_iter()
                .next();
        }
        f
    }

    fn ways(p: &Placement) -> Vec<Option<&str>> {
        match p {
            Placement::Built(w) => w.iter().map(|o| o.as_deref()).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn base_used_by_two_overlays_lands_in_both() {
        let files = vec![
            file("base/kustomization.yaml", "resources: [np.yaml]\n"),
            file("base/np.yaml", "kind: NetworkPolicy\n"),
            file(
                "a/kustomization.yaml",
                "namespace: alpha\nresources: [../base]\n",
            ),
            file(
                "b/kustomization.yml",
                "namespace: beta\nbases: [../base/]\n",
            ),
            file("loose.yaml", "kind: ConfigMap\n"),
        ];
        let r = resolve(&files);
        assert_eq!(ways(&r.placements[1]), vec![Some("alpha"), Some("beta")]);
        assert_eq!(r.placements[4], Placement::Standalone);
    }

    #[test]
    fn outermost_namespace_wins_and_unset_keeps_own() {
        let files = vec![
            file(
                "base/kustomization.yaml",
                "namespace: inner\nresources: [np.yaml]\n",
            ),
            file("base/np.yaml", "kind: NetworkPolicy\n"),
            file(
                "top/kustomization.yaml",
                "namespace: outer\nresources: [../mid]\n",
            ),
            file("mid/kustomization.yaml", "resources: [../base]\n"),
            file(
                "plain/kustomization.yaml",
                "resources: [p.yaml]\ncomponents: [../comp]\n",
            ),
            file("plain/p.yaml", "kind: Pod\n"),
            file(
                "comp/kustomization.yaml",
                "kind: Component\nresources: [c.yaml]\n",
            ),
            file("comp/c.yaml", "kind: Pod\n"),
        ];
        let r = resolve(&files);
        assert_eq!(ways(&r.placements[1]), vec![Some("outer")]);
        assert_eq!(ways(&r.placements[5]), vec![None]);
        assert_eq!(ways(&r.placements[7]), vec![None]);
    }

    #[test]
    fn patches_are_not_resources_and_remote_is_noted() {
        let files = vec![
            file(
                "o/kustomization.yaml",
                "resources: [https://github.com/x/y//base?ref=v1, missing.yaml]\npatches:\n- path: patch.yaml\npatchesStrategicMerge: [psm.yaml]\nhelmCharts:\n- name: x\n",
            ),
            file("o/patch.yaml", "kind: NetworkPolicy\n"),
            file("o/psm.yaml", "kind: Deployment\n"),
        ];
        let r = resolve(&files);
        assert_eq!(r.placements[1], Placement::NotAResource);
        assert_eq!(r.placements[2], Placement::NotAResource);
        assert_eq!(r.notes.len(), 3, "{:?}", r.notes);
        assert!(r.notes.iter().any(|n| n.contains("helmCharts")));
    }

    #[test]
    fn cycles_terminate() {
        let files = vec![
            file(
                "a/kustomization.yaml",
                "namespace: x\nresources: [../b, a.yaml]\n",
            ),
            file("b/kustomization.yaml", "resources: [../a]\n"),
            file("a/a.yaml", "kind: Pod\n"),
        ];
        let r = resolve(&files);
        assert!(r.notes.iter().any(|n| n.contains("cycle")));
        assert_eq!(ways(&r.placements[2]), vec![Some("x")]);
    }
}
