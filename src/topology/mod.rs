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
mod clusters;
mod config_sync;
mod controllers;
mod flux;
mod kustomize;
pub mod patch;
pub mod render;
pub mod substitute;
#[cfg(test)]
mod testing;
mod tree;
mod walk;

use crate::decode::gitops::{Applier, FluxKustomization, SourceKind};
use crate::decode::object::Object;
use crate::source::load::LoadedFile;
use crate::source::yaml::{FileRef, Node};
use argocd::ArgoBuild;
pub use argocd::{IN_CLUSTER, cluster_name};
pub use clusters::ClusterMap;
use controllers::{Controllers, Found, repository_root};
use kustomize::{Resource, read_kustomizations};
use render::chain::{Chains, Steps};
use render::transformer::Transformer;
use render::{Rendering, TransformerId};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use tree::Tree;
use walk::{Walked, Walker};

/// One way an object reaches a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
    /// The kustomize build that applies the object, when one does: two objects of one build
    /// with the same identity make the build fail.
    pub build: Option<BuildRoot>,
    /// The transformers this way applies, innermost first (see [`Resolution::steps`]).
    pub steps: Steps,
}

/// Where a kustomize build starts: a kustomization built on its own (by `kubectl kustomize`
/// or an Argo CD Application's path), or a Flux Kustomization, which builds its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BuildRoot {
    /// The kustomization file, by index in the loaded files.
    Kustomization(usize),
    /// The Flux Kustomization: its file and its index among the file's objects.
    Flux { file: usize, object: usize },
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

/// A namespace Argo CD creates for an Application (`CreateNamespace=true`), with the labels
/// its `managedNamespaceMetadata` puts on it: namespace selectors see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedNamespace {
    pub cluster: Option<String>,
    pub namespace: String,
    /// Label keys and values.
    pub labels: Vec<(String, String)>,
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
    /// The objects of a (file, way) whose way transforms them, as rendered; the other ways
    /// land the objects as first decoded.
    pub rendered: HashMap<(usize, Way), Rendering>,
    /// The namespaces Argo CD creates with labels of their own.
    pub managed_namespaces: Vec<ManagedNamespace>,
    /// The transformers ways name, by [`TransformerId`].
    transformers: Vec<render::transformer::Transformer>,
    /// The chains of them ways name.
    chains: Chains,
}

impl Resolution {
    /// The objects of `file` as `way` renders them, when it transforms more than namespaces
    /// (only then is the way looked up: most ways are not rendered).
    pub fn rendering(&self, file: usize, way: &Way) -> Option<&Rendering> {
        if !self.chains.renders(way.steps) {
            return None;
        }
        self.rendered.get(&(file, way.clone()))
    }

    /// Each object of `file` as a tree, after the transformers of `way` (for `imds-lint
    /// render`; the namespace a way forces without a transformer is the caller's to set).
    pub fn render_trees(&self, file: &LoadedFile, way: &Way) -> Vec<render::RenderedTree> {
        render::render_trees(file, way, &self.transformers, &self.chains)
    }
}

/// Where the objects of each of `files` land; `objects[i]` are the objects of `files[i]`,
/// `inputs` the paths being linted (where the repository root is looked for), and
/// `cluster_map` the clusters the configuration names by path.
pub fn resolve(
    files: &[LoadedFile],
    objects: &[Vec<Object>],
    inputs: &[PathBuf],
    cluster_map: &ClusterMap,
) -> Resolution {
    let mut notes = Vec::new();
    let mut kustomize = read_kustomizations(files, &mut notes);
    let tree = Tree::new(files, objects);
    let controllers = Controllers::find(objects);
    let root = repository_root(&tree, &controllers, inputs);
    let identities = argocd::repository_identities(&tree, &root, &controllers);
    let mut transformers = std::mem::take(&mut kustomize.transformers);
    let planning = Planning {
        tree: &tree,
        root: &root,
        identities: &identities,
        objects,
    };
    let builds = planning.plan_controllers(&controllers, &mut transformers, &mut notes);
    let (entry_points, reached_by_flux) =
        flux::entry_points(&controllers, &builds.flux, &kustomize);
    let flux_clusters = flux::clusters(&entry_points, &controllers, &tree, &root);
    let Walked {
        mut landings,
        mut notes,
        mut clusters,
        managed_namespaces,
        chains,
    } = Walker::new(
        files,
        &kustomize,
        &controllers,
        &builds,
        &transformers,
        notes,
    )
    .walk_all(&flux_clusters, &reached_by_flux);
    for &i in &kustomize.not_resources {
        if landings[i] == Landing::Standalone {
            landings[i] = Landing::NotAResource;
        }
    }
    config_sync::land_by_folder(&tree, &mut landings);
    // A root Kustomization lives in the cluster it builds, when it builds something here.
    let builds_here: Vec<(usize, String)> = flux_clusters
        .iter()
        .filter(|(a, _)| builds.flux.get(a).is_some_and(|r| !r.is_empty()))
        .cloned()
        .collect();
    let placement = clusters::Placement {
        tree: &tree,
        controllers: &controllers,
        flux_clusters: &builds_here,
        bases: layout_bases(&root, inputs),
        map: cluster_map,
    };
    placement.place(&mut landings, &mut clusters);
    let rendered = render::render_all(files, objects, &landings, &transformers, &chains);
    notes.sort();
    notes.dedup();
    Resolution {
        landings,
        notes,
        clusters,
        unfollowed: builds.unfollowed,
        rendered,
        managed_namespaces,
        transformers,
        chains,
    }
}

/// Where the conventional `clusters/<name>/` layout is looked for: the repository root and
/// each linted folder (a file's folder), absolute.
fn layout_bases(root: &Path, inputs: &[PathBuf]) -> Vec<PathBuf> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut bases = vec![root.to_path_buf()];
    for input in inputs {
        let mut base = crate::source::discover::normalize(&cwd.join(input));
        if base.is_file() {
            base.pop();
        }
        bases.push(base);
    }
    bases.sort();
    bases.dedup();
    bases
}

/// What each controller builds, and the controllers that cannot be built.
#[derive(Default)]
struct ControllerBuilds {
    /// By index in [`Controllers::found`].
    flux: HashMap<usize, Vec<Resource>>,
    argo: HashMap<usize, Vec<ArgoBuild>>,
    /// The transformers of the controllers that have some, by index in
    /// [`Controllers::found`]: a Flux Kustomization's, applied to all it builds.
    flux_steps: HashMap<usize, TransformerId>,
    /// The kustomizations (of kind Component) a Flux Kustomization's `spec.components` names.
    flux_components: HashMap<usize, Vec<usize>>,
    unfollowed: Vec<Unfollowed>,
}

impl ControllerBuilds {
    fn unfollow(&mut self, found: &Found, reason: String) {
        self.unfollowed.push(Unfollowed {
            file: found.file,
            object: found.object,
            reason,
        });
    }
}

/// What planning the controllers' builds needs: the tree, the repository root and its URLs.
struct Planning<'a> {
    tree: &'a Tree<'a>,
    root: &'a Path,
    identities: &'a BTreeSet<String>,
    objects: &'a [Vec<Object>],
}

impl Planning<'_> {
    /// What each controller builds, and the transformers of those that have some, added to
    /// `transformers`.
    fn plan_controllers(
        &self,
        controllers: &Controllers,
        transformers: &mut Vec<Transformer>,
        notes: &mut Vec<String>,
    ) -> ControllerBuilds {
        let (tree, root) = (self.tree, self.root);
        let mut add = |t: Option<Transformer>| {
            t.map(|t| {
                transformers.push(t);
                TransformerId::new(transformers.len() - 1)
            })
        };
        let mut builds = ControllerBuilds::default();
        for (a, found) in controllers.found.iter().enumerate() {
            let display = &tree.files[found.file].display;
            match found.applier {
                Applier::Flux(k) => match flux::plan(tree, root, k, display, notes) {
                    Ok(resources) => {
                        builds.flux.insert(a, resources);
                        let namespace = found.identity.namespace.as_deref().unwrap_or("default");
                        let variables = substitute::variables(
                            &k.transform,
                            FileRef::new(found.file),
                            namespace,
                            |kind, namespace, name| self.variable_source(kind, namespace, name),
                        );
                        let (patches, mut unapplied) =
                            self.controller_patches(k.transform.patches.as_ref(), found.file);
                        let (components, missing) = self.flux_components(k, found.file);
                        unapplied.extend(missing);
                        builds.flux_components.insert(a, components);
                        let transformer = Transformer::of_flux(
                            &k.transform,
                            found.file,
                            patches,
                            variables,
                            unapplied,
                        );
                        if let Some(id) = add(transformer) {
                            builds.flux_steps.insert(a, id);
                        }
                    }
                    Err(reason) => builds.unfollow(found, reason),
                },
                Applier::Argo(app) => {
                    let mut sources = Vec::new();
                    for source in app.sources.iter().filter(|s| !s.values_only) {
                        let plan = argocd::plan_source(
                            tree,
                            root,
                            self.identities,
                            source,
                            display,
                            notes,
                        );
                        match plan {
                            Ok(Some(ArgoBuild::Kustomization(k, namespace, _))) => {
                                let (patches, refused) = self.controller_patches(
                                    source.kustomize.patches.as_ref(),
                                    found.file,
                                );
                                let steps = add(Transformer::of_argo(
                                    &source.kustomize,
                                    found.file,
                                    patches,
                                    refused,
                                ));
                                sources.push(ArgoBuild::Kustomization(k, namespace, steps));
                            }
                            Ok(build) => sources.extend(build),
                            Err(reason) => builds.unfollow(found, reason),
                        }
                    }
                    builds.argo.insert(a, sources);
                }
            }
        }
        builds
    }

    /// The kustomizations a Flux Kustomization (in `file`) names in `spec.components`, relative
    /// to its path; those not in the linted tree are not applied.
    fn flux_components(
        &self,
        k: &FluxKustomization,
        file: usize,
    ) -> (Vec<usize>, Vec<render::Unapplied>) {
        let dir = controllers::at_root(self.root, k.path.as_deref());
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for component in &k.transform.components {
            let path = crate::source::discover::normalize(&dir.join(&component.value));
            match self.tree.kustomization_in(&path) {
                Some(c) => found.push(c),
                None => missing.push(render::Unapplied::new(
                    component.span.in_file(FileRef::new(file)),
                    format!(
                        "Flux spec.components entry {} is not a kustomization in the linted tree",
                        component.value
                    ),
                )),
            }
        }
        (found, missing)
    }

    /// The patches a controller object (in `file`) declares in its `patches` field.
    fn controller_patches(
        &self,
        patches: Option<&Node>,
        file: usize,
    ) -> (Vec<patch::Patch>, Vec<render::Unapplied>) {
        let Some(patches) = patches else {
            return (Vec::new(), Vec::new());
        };
        let key = Node::string("patches", patches.span);
        let holder = Node::mapping(vec![(key, patches.clone())], patches.span);
        let files = self.tree.files;
        let dir = files[file].path.parent().unwrap_or(Path::new("."));
        render::read_patches(&holder, files, file, dir, &|_| None)
    }

    /// The whole tree of the ConfigMap or Secret `namespace/name` of the repository, its
    /// spans naming its file: where a Flux Kustomization's `substituteFrom` reads variables.
    /// One that names no namespace is taken when none names this one.
    fn variable_source(&self, kind: SourceKind, namespace: &str, name: &str) -> Option<Node> {
        let written_kind = match kind {
            SourceKind::ConfigMap => "ConfigMap",
            SourceKind::Secret => "Secret",
        };
        let candidates = self.objects.iter().enumerate().flat_map(|(file, objects)| {
            objects.iter().enumerate().filter_map(move |(index, o)| {
                (o.written_kind == written_kind
                    && o.api_version == "v1"
                    && o.name.as_deref() == Some(name))
                .then_some((file, index, o.namespace.as_deref()))
            })
        });
        let (file, index, _) = candidates
            .min_by_key(|(_, _, ns)| match ns {
                Some(ns) if *ns == namespace => 0,
                None => 1,
                Some(_) => 2,
            })
            .filter(|(_, _, ns)| ns.is_none_or(|ns| ns == namespace))?;
        let mut tree = render::object_tree(&self.tree.files[file], index)?;
        tree.retag(FileRef::new(file));
        Some(tree)
    }
}
