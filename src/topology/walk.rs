//! The walk from entry points (Flux entry points, Argo CD Applications, kustomizations that
//! nothing builds) down to the files they build, recording each way a file's objects land.

use super::argocd::ArgoBuild;
use super::controllers::Found;
use super::kustomize::{Kustomization, Resource};
use super::{Landing, Way};
use crate::decode::gitops::{Applier, ArgoApplication, FluxKustomization};
use crate::source::load::LoadedFile;
use std::collections::{BTreeSet, HashMap, HashSet};

/// A namespace that overrides the objects' own, and the kustomization file that sets it (none
/// for a controller's `targetNamespace`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Forced<'a> {
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
pub(super) struct BuildContext {
    cluster: Option<String>,
    fallback_namespace: Option<String>,
    controlled: bool,
}

/// Follows kustomizations and controllers from an entry point down to the files they build.
pub(super) struct Walker<'a> {
    pub(super) kustomizations: &'a HashMap<usize, Kustomization>,
    pub(super) files: &'a [LoadedFile],
    pub(super) landings: Vec<Landing>,
    pub(super) reached: BTreeSet<usize>,
    pub(super) notes: Vec<String>,
    pub(super) found: &'a [Found<'a>],
    pub(super) appliers_in: &'a HashMap<usize, Vec<usize>>,
    pub(super) flux_builds: &'a HashMap<usize, Vec<Resource>>,
    pub(super) argo_builds: &'a HashMap<usize, Vec<ArgoBuild>>,
    /// Controllers followed, with the cluster they were followed in.
    pub(super) visited: HashSet<(usize, Option<String>)>,
    /// The controllers above the one being followed, to tell a cycle.
    pub(super) controller_path: Vec<usize>,
    pub(super) clusters: BTreeSet<String>,
}

impl Walker<'_> {
    /// `forced`: the namespace an outer kustomization sets; `path`: the kustomizations above.
    pub(super) fn walk(
        &mut self,
        k: usize,
        forced: Option<Forced>,
        context: &BuildContext,
        path: &mut Vec<usize>,
    ) {
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
        for resource in &kustomization.resources {
            match *resource {
                Resource::File(f) => self.land(f, forced, context),
                Resource::Kustomization(j) => self.walk(j, forced, context, path),
            }
        }
        path.pop();
    }

    fn land(&mut self, file: usize, forced: Option<Forced>, context: &BuildContext) {
        let way = Way {
            cluster: context.cluster.clone(),
            namespace: forced.map(|f| f.namespace.to_string()),
            namespace_from: forced.and_then(|f| f.by),
            fallback_namespace: context.fallback_namespace.clone(),
        };
        match &mut self.landings[file] {
            Landing::Built(ways) => {
                ways.insert(way);
            }
            other => *other = Landing::Built(BTreeSet::from([way])),
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
    pub(super) fn visit(&mut self, a: usize, cluster: Option<String>) {
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
                object.kind,
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
        let context = BuildContext {
            cluster,
            fallback_namespace,
            controlled: true,
        };
        self.controller_path.push(a);
        if let Some(resources) = self.flux_builds.get(&a) {
            for &resource in resources {
                match resource {
                    Resource::File(f) => self.land(f, Forced::by_controller(&forced), &context),
                    Resource::Kustomization(k) => {
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
                        self.land(f, None, &context);
                    }
                }
            }
        }
        self.controller_path.pop();
    }
}

#[cfg(test)]
mod tests {
    use crate::topology::Landing;
    use crate::topology::testing::{file, resolve_files};

    fn ways(p: &Landing) -> Vec<Option<&str>> {
        match p {
            Landing::Built(w) => w.iter().map(|o| o.namespace.as_deref()).collect(),
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
        assert_eq!(ways(&r.landings[1]), vec![Some("alpha"), Some("beta")]);
        assert_eq!(r.landings[4], Landing::Standalone);
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
        assert_eq!(ways(&r.landings[1]), vec![Some("outer")]);
        assert_eq!(ways(&r.landings[5]), vec![None]);
        assert_eq!(ways(&r.landings[7]), vec![None]);
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
        assert_eq!(ways(&r.landings[2]), vec![Some("x")]);
    }
}
