//! Stage 3: which (cluster, namespace) each file's objects land in, following kustomize and
//! the GitOps controllers that build this repository.
//!
//! A kustomization's `namespace:` sets the namespace of every namespaced object it builds,
//! through `resources`, `components` and `bases`; the outermost kustomization that sets one
//! wins, as in kustomize. A base reached from two overlays lands in both overlays' namespaces.
//!
//! Flux Kustomizations and Argo CD Applications build a path of this repository (its
//! kustomization, else its manifests) into a cluster: Flux's `targetNamespace` overrides every
//! namespace, Argo CD's `destination.namespace` fills in where an object sets none. A Flux
//! entry point names the cluster of everything it reaches; an Argo CD destination names its
//! own. Config Sync hierarchical repositories name the namespace by folder. Files that nothing
//! builds keep their own `metadata.namespace`.

use crate::decode::Decoded;
use crate::decode::gitops::{Applier, ArgoApplication, FluxKustomization};
use crate::decode::kind::Kind;
use crate::decode::object::Object;
use crate::source::discover::{KUSTOMIZATION_NAMES, normalize};
use crate::source::load::LoadedFile;
use crate::source::yaml::Node;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// One way an object reaches a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Way {
    /// The cluster, when a GitOps entry point or destination names one.
    pub cluster: Option<String>,
    /// Overrides the object's own namespace (kustomize `namespace:`, Flux `targetNamespace`,
    /// a Config Sync namespace folder).
    pub namespace: Option<String>,
    /// The kustomization file whose `namespace:` set `namespace`, when one did.
    pub namespace_from: Option<usize>,
    /// The namespace of objects that set none (Argo CD `destination.namespace`).
    pub fallback_namespace: Option<String>,
}

/// What kustomize and the controllers would do to one file's objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Not built by any kustomization or controller: objects keep their own namespace.
    Standalone,
    /// Built; each entry is one way in.
    Built(BTreeSet<Way>),
    /// Used by a kustomization as a patch or generator input, not as a resource.
    NotAResource,
}

/// A controller object whose manifests imds-lint cannot build, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfollowed {
    pub file: usize,
    /// Index in the file's objects.
    pub object: usize,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Resolution {
    /// One placement per loaded file, in the same order.
    pub placements: Vec<Placement>,
    /// Things kustomize would follow that imds-lint cannot (remote bases, missing paths, cycles).
    pub notes: Vec<String>,
    /// Every cluster a Flux entry point or an Argo CD destination names.
    pub clusters: BTreeSet<String>,
    /// Controller objects whose sources are not built (Helm, other repositories).
    pub unfollowed: Vec<Unfollowed>,
}

/// A reference from a kustomization (or a controller) to something it builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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

/// The linted files by absolute path, for the paths controllers name relative to the
/// repository root.
struct Tree<'a> {
    files: &'a [LoadedFile],
    /// Parallel to `files`.
    objects: &'a [Vec<Object>],
    by_path: BTreeMap<PathBuf, usize>,
}

impl Tree<'_> {
    fn kustomization_in(&self, dir: &Path) -> Option<usize> {
        KUSTOMIZATION_NAMES
            .iter()
            .find_map(|name| self.by_path.get(&dir.join(name)).copied())
            .filter(|&i| self.files[i].kustomization.is_some())
    }

    /// Linted files below `dir`, at any depth, in path order.
    fn under<'t>(&'t self, dir: &'t Path) -> impl Iterator<Item = (&'t PathBuf, usize)> + 't {
        self.by_path
            .range(dir.to_path_buf()..)
            .take_while(move |(p, _)| p.starts_with(dir))
            .map(|(p, &i)| (p, i))
    }

    fn has_files_under(&self, dir: &Path) -> bool {
        self.under(dir).any(|(p, _)| p != dir)
    }

    /// What Flux builds at `dir`: its kustomization, else (as Flux generates one) every
    /// `.yaml`/`.yml` file below it, except that a folder with a kustomization is built whole.
    fn flux_build(&self, dir: &Path) -> Vec<Target> {
        if let Some(k) = self.kustomization_in(dir) {
            return vec![Target::Kustomization(k)];
        }
        let mut targets = BTreeSet::new();
        for (path, file) in self.under(dir) {
            let Ok(below) = path.strip_prefix(dir) else {
                continue;
            };
            let mut folder = dir.to_path_buf();
            let mut built_whole = None;
            let parts: Vec<_> = below.components().collect();
            for part in parts.iter().take(parts.len().saturating_sub(1)) {
                folder.push(part);
                if let Some(k) = self.kustomization_in(&folder) {
                    built_whole = Some(k);
                    break;
                }
            }
            match built_whole {
                Some(k) => targets.insert(Target::Kustomization(k)),
                None if has_extension(path, &["yaml", "yml"]) => targets.insert(Target::File(file)),
                None => false,
            };
        }
        targets.into_iter().collect()
    }

    /// What Argo CD builds at `dir` as a directory source: the manifests in it (below it too
    /// with `recurse`).
    fn argo_directory(&self, dir: &Path, recurse: bool) -> Vec<usize> {
        self.under(dir)
            .filter(|(p, _)| recurse || p.parent() == Some(dir))
            .filter(|(p, _)| has_extension(p, &["yaml", "yml", "json"]))
            .map(|(_, i)| i)
            .collect()
    }
}

fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.contains(&e))
}

/// A controller path (`./clusters/prod`, `clusters/prod/`, `/clusters/prod`) as a relative
/// path; `.` for the root. Like the controllers (securejoin), it never leaves the root.
fn clean_path(path: Option<&str>) -> String {
    let trimmed = normalize(Path::new(path.unwrap_or(".").trim_start_matches('/')));
    let inside: PathBuf = trimmed
        .components()
        .skip_while(|c| matches!(c, std::path::Component::ParentDir))
        .collect();
    normalize(&inside).to_string_lossy().into_owned()
}

/// A repository URL reduced so that its https, ssh and scp-like spellings compare equal.
fn repository_identity(url: &str) -> String {
    let url = url.trim().to_ascii_lowercase();
    let url = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    let url = url.split_once('@').map_or(url, |(_, rest)| rest);
    url.replacen(':', "/", 1)
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .to_string()
}

/// The remote URLs in a git checkout's `.git/config`, read as text (no git needed).
fn git_remote_urls(root: &Path) -> Vec<String> {
    std::fs::read_to_string(root.join(".git").join("config"))
        .map(|config| {
            config
                .lines()
                .filter_map(|l| l.trim().strip_prefix("url"))
                .filter_map(|rest| rest.trim_start().strip_prefix('='))
                .map(|url| url.trim().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Folders that may be the repository root controllers resolve paths against: each linted
/// PATH (its folder, for a file), then its parents up to the enclosing git checkout, or up to
/// the file system's root outside a checkout.
fn candidate_roots(inputs: &[PathBuf], cwd: &Path) -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    for input in inputs {
        let mut start = normalize(&cwd.join(input));
        if start.is_file() {
            start.pop();
        }
        for ancestor in start.ancestors() {
            candidates.push(ancestor.to_path_buf());
            if ancestor.join(".git").exists() {
                break;
            }
        }
    }
    if candidates.is_empty() {
        candidates.push(cwd.to_path_buf());
    }
    candidates
}

/// A controller object found in the linted files.
struct Found<'a> {
    file: usize,
    object: usize,
    /// The controller object itself, for its name and namespace.
    identity: &'a Object,
    applier: &'a Applier,
}

/// How one Argo CD source is built.
enum ArgoBuild {
    /// A kustomization, with the namespace `kustomize.namespace` forces.
    Kustomization(usize, Option<String>),
    Files(Vec<usize>),
}

pub fn resolve(files: &[LoadedFile], objects: &[Vec<Object>], inputs: &[PathBuf]) -> Resolution {
    let mut notes = Vec::new();
    let kustomize = read_kustomizations(files, &mut notes);
    let tree = Tree::new(files, objects);
    let found = controllers(objects);
    let mut appliers_in: HashMap<usize, Vec<usize>> = HashMap::new();
    for (a, f) in found.iter().enumerate() {
        appliers_in.entry(f.file).or_default().push(a);
    }
    let root = repository_root(&tree, &found, inputs);
    let identities = repository_identities(&tree, &root, &found, &appliers_in);
    let plan = plan_controllers(&tree, &root, &identities, &found, &mut notes);
    let (entry_points, reached_by_flux) =
        flux_entry_points(&found, &appliers_in, &plan, &kustomize);

    let mut walker = Walker {
        kustomizations: &kustomize.kustomizations,
        files,
        placements: vec![Placement::Standalone; files.len()],
        reached: BTreeSet::new(),
        notes,
        found: &found,
        appliers_in: &appliers_in,
        flux_builds: &plan.flux_builds,
        argo_builds: &plan.argo_builds,
        visited: HashSet::new(),
        controller_path: Vec::new(),
        clusters: BTreeSet::new(),
    };
    for &a in &entry_points {
        let Applier::Flux(k) = found[a].applier else {
            continue;
        };
        let cluster = clean_path(k.path.as_deref());
        walker.clusters.insert(cluster.clone());
        walker.visit(a, Some(cluster));
    }
    let mut argo: Vec<usize> = plan.argo_builds.keys().copied().collect();
    argo.sort_unstable();
    for a in argo {
        walker.visit(a, None);
    }
    // Flux Kustomizations no entry point reaches (a tree linted without its entry point, or a
    // cycle): their namespaces still apply, in no named cluster.
    let mut flux: Vec<usize> = plan.flux_builds.keys().copied().collect();
    flux.sort_unstable();
    for pass in [false, true] {
        for &a in &flux {
            let visited = walker.visited.iter().any(|(b, _)| *b == a);
            if !visited && (pass || !reached_by_flux.contains(&a)) {
                walker.visit(a, None);
            }
        }
    }

    // Kustomizations that nothing above builds are entry points of their own.
    let mut roots: Vec<usize> = kustomize
        .kustomizations
        .keys()
        .copied()
        .filter(|k| !kustomize.included.contains(k) && !walker.reached.contains(k))
        .collect();
    roots.sort_unstable();
    let plain = Context::default();
    for root in roots {
        walker.walk(root, None, &plain, &mut Vec::new());
    }
    // A cycle that nothing outside builds has no root: enter it at its first member.
    let mut all: Vec<usize> = kustomize.kustomizations.keys().copied().collect();
    all.sort_unstable();
    for k in all {
        if !walker.reached.contains(&k) {
            walker.walk(k, None, &plain, &mut Vec::new());
        }
    }
    let Walker {
        mut placements,
        mut notes,
        clusters,
        ..
    } = walker;
    for &i in &kustomize.not_resources {
        if placements[i] == Placement::Standalone {
            placements[i] = Placement::NotAResource;
        }
    }
    config_sync(&tree, &mut placements);
    notes.sort();
    notes.dedup();
    Resolution {
        placements,
        notes,
        clusters,
        unfollowed: plan.unfollowed,
    }
}

/// The kustomizations of the linted tree.
struct Kustomize {
    kustomizations: HashMap<usize, Kustomization>,
    /// Files used as patches or generator inputs.
    not_resources: BTreeSet<usize>,
    /// Kustomizations another kustomization builds.
    included: BTreeSet<usize>,
    /// Files a kustomization lists as resources.
    resource_files: BTreeSet<usize>,
}

fn read_kustomizations(files: &[LoadedFile], notes: &mut Vec<String>) -> Kustomize {
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
    let mut resource_files = BTreeSet::new();
    for k in kustomizations.values() {
        for t in &k.builds {
            match *t {
                Target::Kustomization(j) => included.insert(j),
                Target::File(f) => resource_files.insert(f),
            };
        }
    }
    Kustomize {
        kustomizations,
        not_resources,
        included,
        resource_files,
    }
}

impl<'a> Tree<'a> {
    fn new(files: &'a [LoadedFile], objects: &'a [Vec<Object>]) -> Self {
        let cwd = std::env::current_dir().unwrap_or_default();
        Tree {
            files,
            objects,
            // Standard input has no place in the tree.
            by_path: files
                .iter()
                .enumerate()
                .filter(|(_, f)| f.text.is_none())
                .map(|(i, f)| (normalize(&cwd.join(&f.path)), i))
                .collect(),
        }
    }
}

/// Every Flux Kustomization and Argo CD Application in the linted files.
fn controllers(objects: &[Vec<Object>]) -> Vec<Found<'_>> {
    objects
        .iter()
        .enumerate()
        .flat_map(|(file, objects)| {
            objects
                .iter()
                .enumerate()
                .filter_map(move |(index, object)| match &object.decoded {
                    Decoded::Applier(applier) => Some(Found {
                        file,
                        object: index,
                        identity: object,
                        applier,
                    }),
                    _ => None,
                })
        })
        .collect()
}

/// The repository root: of the candidate folders, the one under which most controller paths
/// exist (the nearest on a tie).
fn repository_root(tree: &Tree, found: &[Found], inputs: &[PathBuf]) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    let relative_paths: Vec<String> = found
        .iter()
        .flat_map(|f| match f.applier {
            Applier::Flux(k) if k.foreign_source.is_none() => vec![clean_path(k.path.as_deref())],
            Applier::Argo(app) => app
                .sources
                .iter()
                .filter(|s| s.path.is_some())
                .map(|s| clean_path(s.path.as_deref()))
                .collect(),
            Applier::Flux(_) => Vec::new(),
        })
        .collect();
    candidate_roots(inputs, &cwd)
        .into_iter()
        .enumerate()
        .max_by_key(|(order, root)| {
            let resolved = relative_paths
                .iter()
                .filter(|p| tree.has_files_under(&normalize(&root.join(p))))
                .count();
            (resolved, std::cmp::Reverse(*order))
        })
        .map_or(cwd, |(_, root)| root)
}

/// This repository's URLs, for Argo CD sources: the git remotes, and the repoURL of any
/// source that builds Applications (an app of apps lives in the repository it builds).
fn repository_identities(
    tree: &Tree,
    root: &Path,
    found: &[Found],
    appliers_in: &HashMap<usize, Vec<usize>>,
) -> BTreeSet<String> {
    let mut identities: BTreeSet<String> = git_remote_urls(root)
        .iter()
        .map(|u| repository_identity(u))
        .collect();
    for f in found {
        let Applier::Argo(app) = f.applier else {
            continue;
        };
        for source in app.sources.iter().filter(|s| s.path.is_some() && !s.helm) {
            let dir = normalize(&root.join(clean_path(source.path.as_deref())));
            let builds_applications = tree.argo_directory(&dir, source.recurse).iter().any(|&i| {
                appliers_in
                    .get(&i)
                    .into_iter()
                    .flatten()
                    .any(|&b| matches!(found[b].applier, Applier::Argo(_)))
            });
            if builds_applications {
                identities.insert(repository_identity(&source.repo_url));
            }
        }
    }
    identities
}

/// What each controller builds, and the controllers that cannot be built.
struct Plan {
    flux_builds: HashMap<usize, Vec<Target>>,
    argo_builds: HashMap<usize, Vec<ArgoBuild>>,
    unfollowed: Vec<Unfollowed>,
}

fn plan_controllers(
    tree: &Tree,
    root: &Path,
    identities: &BTreeSet<String>,
    found: &[Found],
    notes: &mut Vec<String>,
) -> Plan {
    let at_root = |path: Option<&str>| normalize(&root.join(clean_path(path)));
    let mut plan = Plan {
        flux_builds: HashMap::new(),
        argo_builds: HashMap::new(),
        unfollowed: Vec::new(),
    };
    for (a, f) in found.iter().enumerate() {
        let display = &tree.files[f.file].display;
        let mut unfollow = |reason: String| {
            plan.unfollowed.push(Unfollowed {
                file: f.file,
                object: f.object,
                reason,
            })
        };
        match f.applier {
            Applier::Flux(k) => {
                if let Some(source) = &k.foreign_source {
                    unfollow(format!(
                        "Flux Kustomization: source {source} is not this repository"
                    ));
                    continue;
                }
                let dir = at_root(k.path.as_deref());
                if !tree.has_files_under(&dir) {
                    notes.push(format!(
                        "{display}: Flux Kustomization path {} is not in the linted tree",
                        clean_path(k.path.as_deref())
                    ));
                }
                plan.flux_builds.insert(a, tree.flux_build(&dir));
            }
            Applier::Argo(app) => {
                let mut builds = Vec::new();
                for source in app.sources.iter().filter(|s| !s.values_only) {
                    let dir = at_root(source.path.as_deref());
                    let chart_at_path =
                        source.path.is_some() && tree.by_path.contains_key(&dir.join("Chart.yaml"));
                    let elsewhere = !identities.is_empty()
                        && !identities.contains(&repository_identity(&source.repo_url));
                    if source.helm || chart_at_path {
                        unfollow(
                            "Argo CD Application: Helm source, the chart is not rendered".into(),
                        );
                    } else if elsewhere {
                        unfollow(format!(
                            "Argo CD Application: source {} is not this repository",
                            source.repo_url
                        ));
                    } else if let Some(k) = tree.kustomization_in(&dir) {
                        builds.push(ArgoBuild::Kustomization(
                            k,
                            source.kustomize_namespace.clone(),
                        ));
                    } else if tree.has_files_under(&dir) {
                        builds.push(ArgoBuild::Files(tree.argo_directory(&dir, source.recurse)));
                    } else {
                        notes.push(format!(
                            "{display}: Argo CD source path {} is not in the linted tree",
                            clean_path(source.path.as_deref())
                        ));
                    }
                }
                plan.argo_builds.insert(a, builds);
            }
        }
    }
    plan
}

/// Flux entry points: the bootstrap Kustomization (flux-system/flux-system), and any Flux
/// Kustomization that neither another Flux Kustomization nor a kustomization builds. Also
/// returns the Flux Kustomizations another one builds.
fn flux_entry_points(
    found: &[Found],
    appliers_in: &HashMap<usize, Vec<usize>>,
    plan: &Plan,
    kustomize: &Kustomize,
) -> (Vec<usize>, BTreeSet<usize>) {
    let mut reached_by_flux = BTreeSet::new();
    for (&a, targets) in &plan.flux_builds {
        for file in files_built(targets, &kustomize.kustomizations) {
            for &b in appliers_in.get(&file).into_iter().flatten() {
                if b != a && matches!(found[b].applier, Applier::Flux(_)) {
                    reached_by_flux.insert(b);
                }
            }
        }
    }
    let mut entry_points: Vec<usize> = plan
        .flux_builds
        .keys()
        .copied()
        .filter(|&a| {
            let object = found[a].identity;
            let bootstrap = object.name.as_deref() == Some("flux-system")
                && object.namespace.as_deref() == Some("flux-system");
            let built =
                reached_by_flux.contains(&a) || kustomize.resource_files.contains(&found[a].file);
            bootstrap || !built
        })
        .collect();
    entry_points.sort_unstable();
    (entry_points, reached_by_flux)
}

/// Every file a list of targets builds, through kustomizations.
fn files_built(
    targets: &[Target],
    kustomizations: &HashMap<usize, Kustomization>,
) -> BTreeSet<usize> {
    let mut files = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut stack: Vec<Target> = targets.to_vec();
    while let Some(target) = stack.pop() {
        match target {
            Target::File(f) => {
                files.insert(f);
            }
            Target::Kustomization(k) => {
                if seen.insert(k) {
                    stack.extend(
                        kustomizations
                            .get(&k)
                            .into_iter()
                            .flat_map(|k| k.builds.iter().copied()),
                    );
                }
            }
        }
    }
    files
}

/// Config Sync hierarchical repositories (a folder with `system/` and `namespaces/`): a
/// folder under `namespaces/` that holds a Namespace object, or no folders, is a namespace of
/// that name; an object in a folder above (an abstract namespace) is in every namespace below.
/// Only files nothing else builds are placed this way.
fn config_sync(tree: &Tree, placements: &mut [Placement]) {
    let mut namespace_roots = BTreeSet::new();
    for path in tree.by_path.keys() {
        for ancestor in path.ancestors().skip(1) {
            if ancestor.file_name().is_some_and(|n| n == "namespaces")
                && let Some(repo) = ancestor.parent()
                && tree.has_files_under(&repo.join("system"))
            {
                namespace_roots.insert(ancestor.to_path_buf());
            }
        }
    }
    for root in namespace_roots {
        let folders: BTreeSet<&Path> = tree
            .under(&root)
            .filter_map(|(p, _)| p.parent())
            .filter(|d| *d != root)
            .collect();
        let namespaces: Vec<&Path> = folders
            .iter()
            .copied()
            .filter(|d| {
                let leaf = !folders.iter().any(|o| o != d && o.starts_with(d));
                let declares = tree.under(d).any(|(p, i)| {
                    p.parent() == Some(d)
                        && tree.objects[i].iter().any(|o| o.kind == Kind::Namespace)
                });
                leaf || declares
            })
            .collect();
        for (path, file) in tree.under(&root) {
            let (Some(dir), Placement::Standalone) = (path.parent(), &placements[file]) else {
                continue;
            };
            let ways: BTreeSet<Way> = namespaces
                .iter()
                .filter(|n| {
                    if namespaces.contains(&dir) {
                        **n == dir
                    } else {
                        n.starts_with(dir)
                    }
                })
                .filter_map(|n| n.file_name())
                .map(|name| Way {
                    namespace: Some(name.to_string_lossy().into_owned()),
                    ..Way::default()
                })
                .collect();
            if !ways.is_empty() {
                placements[file] = Placement::Built(ways);
            }
        }
    }
}

/// A namespace that overrides the objects' own, and the kustomization file that sets it (none
/// for a controller's `targetNamespace`).
#[derive(Debug, Clone, Copy)]
struct Forced<'a> {
    namespace: &'a str,
    by: Option<usize>,
}

impl<'a> Forced<'a> {
    fn by_controller(namespace: &'a Option<String>) -> Option<Self> {
        namespace.as_deref().map(|namespace| Forced {
            namespace,
            by: None,
        })
    }
}

/// Who is building: the cluster, the namespace for objects that set none, and whether a
/// controller builds (so that controller objects met on the way are followed too).
#[derive(Debug, Clone, Default)]
struct Context {
    cluster: Option<String>,
    fallback_namespace: Option<String>,
    controlled: bool,
}

/// Follows kustomizations and controllers from an entry point down to the files they build.
struct Walker<'a> {
    kustomizations: &'a HashMap<usize, Kustomization>,
    files: &'a [LoadedFile],
    placements: Vec<Placement>,
    reached: BTreeSet<usize>,
    notes: Vec<String>,
    found: &'a [Found<'a>],
    appliers_in: &'a HashMap<usize, Vec<usize>>,
    flux_builds: &'a HashMap<usize, Vec<Target>>,
    argo_builds: &'a HashMap<usize, Vec<ArgoBuild>>,
    /// Controllers followed, with the cluster they were followed in.
    visited: HashSet<(usize, Option<String>)>,
    /// The controllers above the one being followed, to tell a cycle.
    controller_path: Vec<usize>,
    clusters: BTreeSet<String>,
}

impl Walker<'_> {
    /// `forced`: the namespace an outer kustomization sets; `path`: the kustomizations above.
    fn walk(&mut self, k: usize, forced: Option<Forced>, context: &Context, path: &mut Vec<usize>) {
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
        let forced = forced.or(kustomization.namespace.as_deref().map(|namespace| Forced {
            namespace,
            by: Some(k),
        }));
        path.push(k);
        for target in &kustomization.builds {
            match *target {
                Target::File(f) => self.place(f, forced, context),
                Target::Kustomization(j) => self.walk(j, forced, context, path),
            }
        }
        path.pop();
    }

    fn place(&mut self, file: usize, forced: Option<Forced>, context: &Context) {
        let way = Way {
            cluster: context.cluster.clone(),
            namespace: forced.map(|f| f.namespace.to_string()),
            namespace_from: forced.and_then(|f| f.by),
            fallback_namespace: context.fallback_namespace.clone(),
        };
        match &mut self.placements[file] {
            Placement::Built(ways) => {
                ways.insert(way);
            }
            other => *other = Placement::Built(BTreeSet::from([way])),
        }
        if context.controlled {
            let appliers = self.appliers_in.get(&file).cloned().unwrap_or_default();
            for a in appliers {
                self.visit(a, context.cluster.clone());
            }
        }
    }

    /// Follows controller `a` in `cluster` (a Flux Kustomization's entry point); an Argo CD
    /// Application goes to its own destination.
    fn visit(&mut self, a: usize, cluster: Option<String>) {
        let found = &self.found[a];
        let (cluster, fallback_namespace, forced) = match found.applier {
            Applier::Flux(FluxKustomization {
                target_namespace, ..
            }) => (cluster, None, target_namespace.clone()),
            Applier::Argo(ArgoApplication {
                cluster, namespace, ..
            }) => (cluster.clone(), namespace.clone(), None),
        };
        if self.controller_path.last() == Some(&a) {
            // Flux applies its own entry point's folder, which holds the entry point itself.
            return;
        }
        if self.controller_path.contains(&a) {
            let object = found.identity;
            self.notes.push(format!(
                "{}: {} {} is in a cycle of controllers, not followed again",
                self.files[found.file].display,
                object.written_kind,
                object.name.as_deref().unwrap_or_default()
            ));
            return;
        }
        if !self.visited.insert((a, cluster.clone())) {
            return;
        }
        if let Some(cluster) = &cluster {
            self.clusters.insert(cluster.clone());
        }
        let context = Context {
            cluster,
            fallback_namespace,
            controlled: true,
        };
        self.controller_path.push(a);
        if let Some(targets) = self.flux_builds.get(&a) {
            for &target in targets {
                match target {
                    Target::File(f) => self.place(f, Forced::by_controller(&forced), &context),
                    Target::Kustomization(k) => {
                        self.walk(k, Forced::by_controller(&forced), &context, &mut Vec::new())
                    }
                }
            }
        }
        let argo_builds = self.argo_builds;
        for build in argo_builds.get(&a).into_iter().flatten() {
            match build {
                ArgoBuild::Kustomization(k, forced) => {
                    self.walk(*k, Forced::by_controller(forced), &context, &mut Vec::new());
                }
                ArgoBuild::Files(files) => {
                    for &f in files {
                        self.place(f, None, &context);
                    }
                }
            }
        }
        self.controller_path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::load::load_stream;

    fn file(path: &str, text: &str) -> LoadedFile {
        let mut f = load_stream(path, text.as_bytes(), &crate::decode::object::keep);
        f.path = PathBuf::from(path);
        if crate::source::load::is_kustomization(Path::new(path)) {
            f.kustomization = crate::source::yaml::parse_documents(text, 0)
                .unwrap()
                .into_iter()
                .next();
        }
        f
    }

    fn resolve_files(files: &mut [LoadedFile]) -> Resolution {
        let objects: Vec<Vec<Object>> = files
            .iter_mut()
            .map(|f| crate::decode::object::objects_of(std::mem::take(&mut f.trees)))
            .collect();
        resolve(files, &objects, &[])
    }

    fn ways(p: &Placement) -> Vec<Option<&str>> {
        match p {
            Placement::Built(w) => w.iter().map(|o| o.namespace.as_deref()).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn base_used_by_two_overlays_lands_in_both() {
        let mut files = vec![
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
        let r = resolve_files(&mut files);
        assert_eq!(ways(&r.placements[1]), vec![Some("alpha"), Some("beta")]);
        assert_eq!(r.placements[4], Placement::Standalone);
    }

    #[test]
    fn outermost_namespace_wins_and_unset_keeps_own() {
        let mut files = vec![
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
        let r = resolve_files(&mut files);
        assert_eq!(ways(&r.placements[1]), vec![Some("outer")]);
        assert_eq!(ways(&r.placements[5]), vec![None]);
        assert_eq!(ways(&r.placements[7]), vec![None]);
    }

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
        assert_eq!(r.placements[1], Placement::NotAResource);
        assert_eq!(r.placements[2], Placement::NotAResource);
        assert_eq!(r.notes.len(), 3, "{:?}", r.notes);
        assert!(r.notes.iter().any(|n| n.contains("helmCharts")));
    }

    #[test]
    fn cycles_terminate() {
        let mut files = vec![
            file(
                "a/kustomization.yaml",
                "namespace: x\nresources: [../b, a.yaml]\n",
            ),
            file("b/kustomization.yaml", "resources: [../a]\n"),
            file("a/a.yaml", "kind: Pod\n"),
        ];
        let r = resolve_files(&mut files);
        assert!(r.notes.iter().any(|n| n.contains("cycle")));
        assert_eq!(ways(&r.placements[2]), vec![Some("x")]);
    }

    #[test]
    fn repository_urls_compare_across_spellings() {
        let https = repository_identity("https://github.com/Example/Fleet.git");
        assert_eq!(
            repository_identity("git@github.com:example/fleet.git"),
            https
        );
        assert_eq!(
            repository_identity("ssh://git@github.com/example/fleet/"),
            https
        );
        assert_ne!(
            repository_identity("https://github.com/example/other"),
            https
        );
    }

    #[test]
    fn controller_paths_are_relative_to_the_root() {
        assert_eq!(clean_path(Some("./clusters/prod/")), "clusters/prod");
        assert_eq!(clean_path(Some("/clusters/prod")), "clusters/prod");
        assert_eq!(clean_path(None), ".");
        assert_eq!(clean_path(Some("./")), ".");
        assert_eq!(clean_path(Some("../../apps")), "apps");
    }

    #[test]
    fn flux_builds_folders_with_a_kustomization_whole_and_other_manifests_one_by_one() {
        let mut files = vec![
            file("app/np.yaml", "kind: NetworkPolicy\n"),
            file("app/sub/deploy.yml", "kind: Deployment\n"),
            file("app/kust/kustomization.yaml", "resources: [a.yaml]\n"),
            file("app/kust/a.yaml", "kind: Pod\n"),
            file("app/kust/unlisted.yaml", "kind: Pod\n"),
            file("app/data.json", "{\"kind\": \"Pod\"}"),
        ];
        for f in &mut files {
            f.text = None;
        }
        let tree = Tree::new(&files, &[]);
        let dir = normalize(&std::env::current_dir().unwrap().join("app"));
        assert_eq!(
            tree.flux_build(&dir),
            vec![Target::File(0), Target::File(1), Target::Kustomization(2)]
        );
        assert_eq!(tree.argo_directory(&dir, false), vec![5, 0]);
    }
}
