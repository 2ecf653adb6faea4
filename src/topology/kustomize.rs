//! Kustomize: what each kustomization file builds (its `resources`, `components` and
//! `bases`), the namespace it sets, and the files it uses as patches or generator inputs.

use super::patch::PatchError;
use super::render::{
    self,
    transformer::{Transformer, TransformerId, Unapplied},
};
use crate::source::discover::{KUSTOMIZATION_NAMES, normalize};
use crate::source::load::{LoadedFile, is_kustomization};
use crate::source::yaml::{FileRef, Node, Span};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Something a build includes as a resource (kustomize's `resources:`, or what Flux generates
/// one from): a manifest file, or a kustomization that is built in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Resource {
    File(usize),
    Kustomization(usize),
    /// A kustomization of kind `Component`, listed under `components`: its resources join
    /// the including kustomization's, and its transformers apply to everything accumulated
    /// so far.
    Component(usize),
}

/// A kustomization file: the namespace it sets, what it builds (`resources` and `bases`, then
/// `components`), and what it does to what it builds.
pub(super) struct Kustomization {
    pub(super) namespace: Option<String>,
    pub(super) resources: Vec<Resource>,
    /// Its transformers, when it has more than a namespace.
    pub(super) transformer: Option<TransformerId>,
}

impl Kustomization {
    /// The components it includes, in order.
    pub(super) fn components(&self) -> impl Iterator<Item = usize> + '_ {
        self.resources.iter().filter_map(|r| match r {
            Resource::Component(c) => Some(*c),
            _ => None,
        })
    }
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

/// The kustomizations of the linted tree.
pub(super) struct Kustomize {
    pub(super) kustomizations: HashMap<usize, Kustomization>,
    /// The transformers of the kustomizations that have some; a [`TransformerId`] indexes it.
    pub(super) transformers: Vec<Transformer>,
    /// Files used as patches or generator inputs.
    pub(super) not_resources: BTreeSet<usize>,
    /// Kustomizations another kustomization builds.
    pub(super) included: BTreeSet<usize>,
    /// Files a kustomization lists as resources.
    pub(super) resource_files: BTreeSet<usize>,
}

/// Every kustomization file of `files`, with notes on what kustomize would follow that cannot
/// be followed here.
pub(super) fn read_kustomizations(files: &[LoadedFile], notes: &mut Vec<String>) -> Kustomize {
    let index = FileIndex::new(files);
    let mut not_resources = BTreeSet::new();
    let mut kustomizations: HashMap<usize, Kustomization> = HashMap::new();
    let mut transformers = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let Some(k) = &file.kustomization else {
            if is_kustomization(&file.path) && file.errors.is_empty() {
                notes.push(format!(
                    "{}: kustomization is empty: kustomize refuses to build it",
                    file.display
                ));
            }
            continue;
        };
        let dir = file.path.parent().unwrap_or(Path::new("."));
        let mut unapplied = Vec::new();
        let resources = resources_of(k, dir, &index, i, notes, &mut unapplied);
        let (patches, refused) = render::read_patches(k, files, i, dir, &|p| index.file(p));
        unapplied.extend(refused);
        unapplied.extend(missing_generator_inputs(k, dir, FileRef::new(i)));
        // Type fields alone are empty to kustomize too.
        let empty = k.as_map().is_some_and(|entries| {
            entries
                .iter()
                .all(|(key, _)| matches!(key.key_text(), Some("apiVersion" | "kind")))
        });
        if empty {
            notes.push(format!(
                "{}: kustomization is empty: kustomize refuses to build it",
                file.display
            ));
        }
        // Where the charts are the kustomization's only objects, no object carries this.
        if k.get("helmCharts").is_some() {
            notes.push(format!(
                "{}: helmCharts are not rendered; lint `kubectl kustomize --enable-helm` output with `-`",
                file.display
            ));
        }
        let transformer = Transformer::of_kustomization(k, i, patches, unapplied).map(|t| {
            transformers.push(t);
            TransformerId::new(transformers.len() - 1)
        });
        for input in patch_and_generator_inputs(k) {
            not_resources.extend(index.file(&dir.join(input)));
        }
        let namespace = k
            .get("namespace")
            .and_then(Node::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        kustomizations.insert(
            i,
            Kustomization {
                namespace,
                resources,
                transformer,
            },
        );
    }
    Kustomize::new(kustomizations, transformers, not_resources)
}

/// The loaded files by path as kustomizations name them: relative to the working folder.
struct FileIndex<'a> {
    files: &'a [LoadedFile],
    by_path: HashMap<PathBuf, usize>,
}

impl<'a> FileIndex<'a> {
    fn new(files: &'a [LoadedFile]) -> Self {
        let by_path = files
            .iter()
            .enumerate()
            .map(|(i, f)| (normalize(&f.path), i))
            .collect();
        FileIndex { files, by_path }
    }

    fn file(&self, path: &Path) -> Option<usize> {
        self.by_path.get(&normalize(path)).copied()
    }

    fn kustomization_in(&self, dir: &Path) -> Option<usize> {
        KUSTOMIZATION_NAMES
            .iter()
            .find_map(|name| self.file(&dir.join(name)))
            .filter(|&i| self.files[i].kustomization.is_some())
    }
}

/// What kustomization `k` in `dir` (file `display`) builds: its `resources`, `components` and
/// `bases` in the linted tree.
fn resources_of(
    k: &Node,
    dir: &Path,
    index: &FileIndex,
    file: usize,
    notes: &mut Vec<String>,
    unapplied: &mut Vec<Unapplied>,
) -> Vec<Resource> {
    let display = &index.files[file].display;
    let mut resources = Vec::new();
    let entries = ["resources", "bases", "components"]
        .iter()
        .flat_map(|&key| {
            k.get(key)
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter_map(move |node| Some((key, node.as_str()?, node.span)))
        });
    let mut not_built = |span: Span, reason: String| {
        unapplied.push(Unapplied::new(span.in_file(FileRef::new(file)), reason));
    };
    for (key, entry, span) in entries {
        if is_remote(entry) {
            notes.push(format!(
                "{display}: remote resource {entry} is not followed"
            ));
            not_built(span, format!("remote resource {entry} is not fetched"));
            continue;
        }
        let path = normalize(&dir.join(entry));
        if let Some(file) = index.file(&path) {
            resources.push(Resource::File(file));
        } else if let Some(kustomization) = index.kustomization_in(&path) {
            resources.push(if key == "components" {
                Resource::Component(kustomization)
            } else {
                Resource::Kustomization(kustomization)
            });
        } else {
            notes.push(format!(
                "{display}: resource {entry} is neither a manifest nor a kustomization in the linted tree"
            ));
            not_built(
                span,
                format!(
                    "resource {entry} is neither a manifest nor a kustomization in the linted tree"
                ),
            );
        }
    }
    resources
}

/// kustomize refuses a build whose ConfigMap or Secret generator reads a file that is not
/// there (`files`, `envs`, `env`); each such entry, in `file`.
fn missing_generator_inputs(k: &Node, dir: &Path, file: FileRef) -> Vec<Unapplied> {
    let mut missing = Vec::new();
    for key in ["configMapGenerator", "secretGenerator"] {
        for generator in k.get(key).and_then(Node::as_seq).unwrap_or_default() {
            let sources = ["files", "envs"]
                .iter()
                .flat_map(|field| {
                    generator
                        .get(field)
                        .and_then(Node::as_seq)
                        .unwrap_or_default()
                })
                .chain(generator.get("env"));
            for source in sources {
                let Some(text) = source.as_str() else {
                    continue;
                };
                let path = text.rsplit_once('=').map_or(text, |(_, p)| p);
                if !dir.join(path).is_file() {
                    missing.push(Unapplied::refusal(PatchError {
                        span: source.span.in_file(file),
                        message: format!("{key} source {path} is not a file"),
                    }));
                }
            }
        }
    }
    missing
}

/// The files kustomization `k` uses as patches and generator inputs, as it names them: these
/// are not objects of their own.
fn patch_and_generator_inputs(k: &Node) -> Vec<&str> {
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
    inputs
}

impl Kustomize {
    fn new(
        kustomizations: HashMap<usize, Kustomization>,
        transformers: Vec<Transformer>,
        not_resources: BTreeSet<usize>,
    ) -> Self {
        let mut included = BTreeSet::new();
        let mut resource_files = BTreeSet::new();
        for k in kustomizations.values() {
            for resource in &k.resources {
                match *resource {
                    Resource::Kustomization(j) | Resource::Component(j) => included.insert(j),
                    Resource::File(f) => resource_files.insert(f),
                };
            }
        }
        Kustomize {
            kustomizations,
            transformers,
            not_resources,
            included,
            resource_files,
        }
    }

    /// Every file a list of resources builds, through kustomizations.
    pub(super) fn files_built(&self, resources: &[Resource]) -> BTreeSet<usize> {
        let mut files = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut stack: Vec<Resource> = resources.to_vec();
        while let Some(resource) = stack.pop() {
            match resource {
                Resource::File(f) => {
                    files.insert(f);
                }
                Resource::Kustomization(k) | Resource::Component(k) => {
                    if seen.insert(k) {
                        stack.extend(
                            self.kustomizations
                                .get(&k)
                                .into_iter()
                                .flat_map(|k| k.resources.iter().copied()),
                        );
                    }
                }
            }
        }
        files
    }
}

#[cfg(test)]
mod tests {
    use crate::topology::Landing;
    use crate::topology::testing::{file, resolve_files};

    #[test]
    fn patches_are_not_resources_and_remote_is_noted() {
        let mut files = vec![
            file(
                "o/kustomization.yaml",
                "resources: [https://github.com/x/y//base?ref=v1, missing.yaml]\npatches:\n- path: patch.yaml\npatchesStrategicMerge: [psm.yaml]\nhelmCharts:\n- name: x\n",
            ),
            file("o/patch.yaml", "kind: NetworkPolicy\n"),
            file("o/psm.yaml", "kind: Deployment\n"),
        ];
        let r = resolve_files(&mut files);
        assert_eq!(r.landings[1], Landing::NotAResource);
        assert_eq!(r.landings[2], Landing::NotAResource);
        assert_eq!(r.notes.len(), 3, "{:?}", r.notes);
        assert!(r.notes.iter().any(|n| n.contains("helmCharts")));
    }
}
