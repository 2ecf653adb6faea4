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

mod argocd;
mod config_sync;
mod controllers;
mod flux;
mod kustomize;
#[cfg(test)]
mod testing;
mod tree;
mod walk;

use crate::decode::gitops::Applier;
use crate::decode::object::Object;
use crate::source::discover::normalize;
use crate::source::load::LoadedFile;
use argocd::{ArgoBuild, repository_identities, repository_identity};
use controllers::{Found, clean_path, controllers, repository_root};
use kustomize::{Resource, read_kustomizations};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use tree::Tree;
use walk::{BuildContext, Walker};

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
pub enum Landing {
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
    /// Where each loaded file's objects land, in the same order as the files.
    pub landings: Vec<Landing>,
    /// Things kustomize would follow that imds-lint cannot (remote bases, missing paths, cycles).
    pub notes: Vec<String>,
    /// Every cluster a Flux entry point or an Argo CD destination names.
    pub clusters: BTreeSet<String>,
    /// Controller objects whose sources are not built (Helm, other repositories).
    pub unfollowed: Vec<Unfollowed>,
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
        flux::entry_points(&found, &appliers_in, &plan.flux_builds, &kustomize);

    let mut walker = Walker {
        kustomizations: &kustomize.kustomizations,
        files,
        landings: vec![Landing::Standalone; files.len()],
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
    let plain = BuildContext::default();
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
        mut landings,
        mut notes,
        clusters,
        ..
    } = walker;
    for &i in &kustomize.not_resources {
        if landings[i] == Landing::Standalone {
            landings[i] = Landing::NotAResource;
        }
    }
    config_sync::land_by_folder(&tree, &mut landings);
    notes.sort();
    notes.dedup();
    Resolution {
        landings,
        notes,
        clusters,
        unfollowed: plan.unfollowed,
    }
}

/// What each controller builds, and the controllers that cannot be built.
struct ControllerBuilds {
    flux_builds: HashMap<usize, Vec<Resource>>,
    argo_builds: HashMap<usize, Vec<ArgoBuild>>,
    unfollowed: Vec<Unfollowed>,
}

fn plan_controllers(
    tree: &Tree,
    root: &Path,
    identities: &BTreeSet<String>,
    found: &[Found],
    notes: &mut Vec<String>,
) -> ControllerBuilds {
    let at_root = |path: Option<&str>| normalize(&root.join(clean_path(path)));
    let mut plan = ControllerBuilds {
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
                plan.flux_builds.insert(a, flux::build_at(tree, &dir));
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
                        builds.push(ArgoBuild::Files(argocd::directory_manifests(
                            tree,
                            &dir,
                            source.recurse,
                        )));
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
