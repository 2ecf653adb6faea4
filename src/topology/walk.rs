//! The walk from entry points (Flux entry points, Argo CD Applications, kustomizations that
//! nothing builds) down to the files they build, recording each way a file's objects land.
//!
//! Kustomizations are followed with an explicit stack. A controller met on the way is still
//! followed by a nested call (`land` -> `visit` -> `walk`): the call depth grows with a chain of
//! controllers that apply one another (each once per chain), not with files or kustomizations.

use super::ControllerBuilds;
use super::argocd::{self, ArgoBuild};
use super::controllers::Controllers;
use super::kustomize::{Kustomize, Resource};
use super::render::TransformerId;
use super::render::chain::{Chains, Steps};
use super::render::transformer::Transformer;
use super::{BuildRoot, Landing, ManagedNamespace, Way};
use crate::decode::gitops::{Applier, ArgoApplication, FluxKustomization};
use crate::source::load::LoadedFile;
use std::collections::{BTreeSet, HashMap, HashSet};

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
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct BuildContext {
    cluster: Option<String>,
    fallback_namespace: Option<String>,
    controlled: bool,
    /// The kustomize build under way, if any.
    root: Option<BuildRoot>,
    /// The controller's transformers, applied after everything the build does.
    steps: Steps,
    /// Components the controller adds to the kustomization it builds (Flux `spec.components`).
    components: Vec<usize>,
}

/// A kustomization being built: the namespace it (or one above) forces, and the index of the
/// next of its resources to build.
struct Frame<'a> {
    kustomization: usize,
    forced: Option<Forced<'a>>,
    next: usize,
    /// The transformers applied to what it builds, innermost first: its components', its
    /// own, then those of the kustomizations above.
    steps: Steps,
    /// Those of the kustomizations above only.
    above: Steps,
    /// Components a controller adds after the kustomization's own.
    extra: Vec<usize>,
}

/// The kustomizations being built, outermost first.
#[derive(Default)]
struct Stack<'a> {
    frames: Vec<Frame<'a>>,
    /// The kustomizations in `frames`, to tell a cycle at once.
    members: HashSet<usize>,
}

impl<'a> Stack<'a> {
    fn push(&mut self, frame: Frame<'a>) {
        self.members.insert(frame.kustomization);
        self.frames.push(frame);
    }

    fn pop(&mut self) {
        if let Some(frame) = self.frames.pop() {
            self.members.remove(&frame.kustomization);
        }
    }
}

/// What the walk found.
pub(super) struct Walked {
    /// Where each file's objects land, in the same order as the files.
    pub(super) landings: Vec<Landing>,
    /// Unsorted, possibly repeated.
    pub(super) notes: Vec<String>,
    /// The clusters the controllers followed name.
    pub(super) clusters: BTreeSet<String>,
    /// The labels Argo CD puts on the namespaces it creates, per Application followed.
    pub(super) managed_namespaces: Vec<ManagedNamespace>,
    /// The chains of transformers the ways name.
    pub(super) chains: Chains,
}

/// Follows kustomizations and controllers from the entry points down to the files they build.
pub(super) struct Walker<'a> {
    /// The transformers chains are made of, by [`TransformerId`].
    transformers: &'a [Transformer],
    chains: Chains,
    files: &'a [LoadedFile],
    kustomize: &'a Kustomize,
    controllers: &'a Controllers<'a>,
    builds: &'a ControllerBuilds,
    landings: Vec<Landing>,
    /// Kustomizations built so far.
    reached: BTreeSet<usize>,
    notes: Vec<String>,
    /// Controllers followed, with the cluster they were followed in.
    visited: HashSet<(usize, Option<String>)>,
    /// The controllers above the one being followed, to tell a cycle.
    controller_path: Vec<usize>,
    clusters: BTreeSet<String>,
    managed_namespaces: Vec<ManagedNamespace>,
    /// Kustomization builds done, each once: a kustomization reached again the same way adds
    /// nothing, so a diamond of kustomizations costs its size, not its number of paths.
    built: HashSet<Build>,
}

/// One way to build a kustomization: which, with what namespace forced from above, for whom,
/// under which controllers.
#[derive(PartialEq, Eq, Hash)]
struct Build {
    kustomization: usize,
    forced: Option<(String, Option<usize>)>,
    above: Steps,
    context: BuildContext,
    controller_path: Vec<usize>,
}

impl<'a> Walker<'a> {
    /// A walk over `files` that adds its notes to `notes`.
    pub(super) fn new(
        files: &'a [LoadedFile],
        kustomize: &'a Kustomize,
        controllers: &'a Controllers<'a>,
        builds: &'a ControllerBuilds,
        transformers: &'a [Transformer],
        notes: Vec<String>,
    ) -> Self {
        Walker {
            files,
            kustomize,
            controllers,
            builds,
            transformers,
            chains: Chains::default(),
            landings: vec![Landing::Standalone; files.len()],
            reached: BTreeSet::new(),
            notes,
            visited: HashSet::new(),
            controller_path: Vec::new(),
            clusters: BTreeSet::new(),
            managed_namespaces: Vec::new(),
            built: HashSet::new(),
        }
    }

    /// Follows every entry point. The order matters: a controller is followed once per
    /// cluster, and a kustomization something else builds is not an entry point of its own.
    /// `flux_clusters` are the Flux entry points with the cluster each builds into, and
    /// `reached_by_flux` the Flux Kustomizations another one builds.
    pub(super) fn walk_all(
        mut self,
        flux_clusters: &[(usize, String)],
        reached_by_flux: &BTreeSet<usize>,
    ) -> Walked {
        self.walk_flux_entry_points(flux_clusters);
        for a in sorted_keys(&self.builds.argo) {
            self.visit(a, None);
        }
        self.walk_unreached_flux(reached_by_flux);
        self.walk_unbuilt_kustomizations();
        Walked {
            landings: self.landings,
            notes: self.notes,
            clusters: self.clusters,
            managed_namespaces: self.managed_namespaces,
            chains: self.chains,
        }
    }

    /// Each Flux entry point builds into its cluster.
    fn walk_flux_entry_points(&mut self, flux_clusters: &[(usize, String)]) {
        for (a, cluster) in flux_clusters {
            self.clusters.insert(cluster.clone());
            self.visit(*a, Some(cluster.clone()));
        }
    }

    /// Flux Kustomizations no entry point reaches (a tree linted without its entry point, or a
    /// cycle): their namespaces still apply, in no named cluster. Those no other Flux
    /// Kustomization builds go first.
    fn walk_unreached_flux(&mut self, reached_by_flux: &BTreeSet<usize>) {
        let flux = sorted_keys(&self.builds.flux);
        for pass in [false, true] {
            for &a in &flux {
                let visited = self.visited.iter().any(|(b, _)| *b == a);
                if !visited && (pass || !reached_by_flux.contains(&a)) {
                    self.visit(a, None);
                }
            }
        }
    }

    /// Kustomizations that nothing above builds are entry points of their own; a cycle that
    /// nothing outside builds has no such root, and is entered at its first member.
    fn walk_unbuilt_kustomizations(&mut self) {
        let kustomize = self.kustomize;
        let all = sorted_keys(&kustomize.kustomizations);
        let roots: Vec<usize> = all
            .iter()
            .copied()
            .filter(|k| !kustomize.included.contains(k) && !self.reached.contains(k))
            .collect();
        let on_its_own = |k: usize| BuildContext {
            root: Some(BuildRoot::Kustomization(k)),
            ..BuildContext::default()
        };
        for root in roots {
            self.walk(root, None, &on_its_own(root));
        }
        for k in all {
            if !self.reached.contains(&k) {
                self.walk(k, None, &on_its_own(k));
            }
        }
    }

    /// Builds kustomization `top`, and every kustomization it builds, depth first; `forced` is
    /// the namespace a controller above forces.
    fn walk(&mut self, top: usize, forced: Option<Forced<'a>>, context: &BuildContext) {
        let mut stack = Stack::default();
        let (above, extra) = (context.steps, context.components.clone());
        self.enter(top, forced, above, extra, context, &mut stack);
        while let Some(frame) = stack.frames.last_mut() {
            let own = self
                .kustomize
                .kustomizations
                .get(&frame.kustomization)
                .map_or(&[][..], |k| k.resources.as_slice());
            let resource = match own.get(frame.next) {
                Some(&resource) => resource,
                None => match frame.extra.get(frame.next - own.len()) {
                    Some(&c) => Resource::Component(c),
                    None => {
                        stack.pop();
                        continue;
                    }
                },
            };
            frame.next += 1;
            let forced = frame.forced;
            match resource {
                Resource::File(f) => {
                    let steps = frame.steps;
                    self.land(f, forced, steps, context);
                }
                Resource::Kustomization(k) => {
                    let above = frame.steps;
                    self.enter(k, forced, above, Vec::new(), context, &mut stack);
                }
                Resource::Component(c) => {
                    let above = self.above_component(frame, c);
                    self.enter(c, forced, above, Vec::new(), context, &mut stack);
                }
            }
        }
    }

    /// The transformers applied after those of component `c` of the frame's kustomization:
    /// the components after it, the kustomization's own, then those above.
    fn above_component(&mut self, frame: &Frame, c: usize) -> Steps {
        let kustomize = self.kustomize;
        let Some(k) = kustomize.kustomizations.get(&frame.kustomization) else {
            return frame.above;
        };
        let all = k.components().chain(frame.extra.iter().copied());
        let later: Vec<TransformerId> = all
            .skip_while(|&other| other != c)
            .skip(1)
            .filter_map(|other| kustomize.kustomizations.get(&other)?.transformer)
            .chain(k.transformer)
            .collect();
        self.chains.prepend(&later, frame.above, self.transformers)
    }

    /// Starts building kustomization `k` on top of `stack`, unless that goes round a cycle or
    /// this build was done before; `above` are the transformers of the kustomizations above,
    /// `extra` the components a controller adds to it.
    fn enter(
        &mut self,
        k: usize,
        forced: Option<Forced<'a>>,
        above: Steps,
        extra: Vec<usize>,
        context: &BuildContext,
        stack: &mut Stack<'a>,
    ) {
        let kustomize = self.kustomize;
        let Some(kustomization) = kustomize.kustomizations.get(&k) else {
            return;
        };
        if stack.members.contains(&k) {
            self.notes.push(format!(
                "{}: kustomization cycle, not followed again",
                self.files[k].display
            ));
            return;
        }
        let build = Build {
            kustomization: k,
            forced: forced.map(|f| (f.namespace.to_string(), f.by)),
            above,
            context: context.clone(),
            controller_path: self.controller_path.clone(),
        };
        if !self.built.insert(build) {
            return;
        }
        self.reached.insert(k);
        // The outermost kustomization that sets a namespace wins.
        let forced = forced.or(kustomization.namespace.as_deref().map(|namespace| Forced {
            namespace,
            by: Some(k),
        }));
        let own: Vec<TransformerId> = kustomization
            .components()
            .chain(extra.iter().copied())
            .filter_map(|c| kustomize.kustomizations.get(&c)?.transformer)
            .chain(kustomization.transformer)
            .collect();
        let steps = self.chains.prepend(&own, above, self.transformers);
        stack.push(Frame {
            kustomization: k,
            forced,
            next: 0,
            steps,
            above,
            extra,
        });
    }

    /// Records one way `file`'s objects land, and follows the controllers it holds when a
    /// controller builds it.
    fn land(&mut self, file: usize, forced: Option<Forced>, steps: Steps, context: &BuildContext) {
        let way = Way {
            steps,
            cluster: context.cluster.clone(),
            namespace: forced.map(|f| f.namespace.to_string()),
            namespace_from: forced.and_then(|f| f.by),
            fallback_namespace: context.fallback_namespace.clone(),
            build: context.root,
        };
        match &mut self.landings[file] {
            Landing::Built(ways) => {
                ways.insert(way);
            }
            other => *other = Landing::Built(BTreeSet::from([way])),
        }
        if context.controlled {
            let controllers = self.controllers;
            for &a in controllers.in_file(file) {
                self.visit(a, context.cluster.clone());
            }
        }
    }

    /// Follows controller `a` in `cluster` (a Flux Kustomization's entry point); an Argo CD
    /// Application goes to its own destination.
    fn visit(&mut self, a: usize, cluster: Option<String>) {
        let controllers = self.controllers;
        let (cluster, fallback_namespace, forced) = match controllers.found[a].applier {
            Applier::Flux(FluxKustomization {
                target_namespace, ..
            }) => (cluster, None, Forced::by_controller(target_namespace)),
            Applier::Argo(ArgoApplication {
                cluster, namespace, ..
            }) => (
                cluster.as_deref().map(argocd::cluster_name),
                namespace.clone(),
                None,
            ),
        };
        if !self.follows(a, &cluster) {
            return;
        }
        if let Some(cluster) = &cluster {
            self.clusters.insert(cluster.clone());
        }
        let found = &controllers.found[a];
        if let Applier::Argo(app) = found.applier
            && let Some(namespace) = &app.namespace
            && !app.managed_namespace_labels.is_empty()
        {
            self.managed_namespaces.push(ManagedNamespace {
                cluster: cluster.clone(),
                namespace: namespace.clone(),
                labels: app
                    .managed_namespace_labels
                    .iter()
                    .map(|e| (e.key.clone(), e.value.clone()))
                    .collect(),
            });
        }
        let context = BuildContext {
            cluster,
            fallback_namespace,
            controlled: true,
            root: matches!(found.applier, Applier::Flux(_)).then_some(BuildRoot::Flux {
                file: found.file,
                object: found.object,
            }),
            steps: match self.builds.flux_steps.get(&a) {
                Some(&step) => self.chains.push(step, Steps::NONE, self.transformers),
                None => Steps::NONE,
            },
            components: self
                .builds
                .flux_components
                .get(&a)
                .cloned()
                .unwrap_or_default(),
        };
        self.controller_path.push(a);
        self.build_flux(a, forced, &context);
        self.build_argo(a, &context);
        self.controller_path.pop();
    }

    /// Whether to follow controller `a` in `cluster`: once per cluster, and not round a cycle
    /// of controllers.
    fn follows(&mut self, a: usize, cluster: &Option<String>) -> bool {
        if self.controller_path.last() == Some(&a) {
            // Flux applies its own entry point's folder, which holds the entry point itself.
            return false;
        }
        if self.controller_path.contains(&a) {
            let found = &self.controllers.found[a];
            let object = found.identity;
            self.notes.push(format!(
                "{}: {} {} is in a cycle of controllers, not followed again",
                self.files[found.file].display,
                object.written_kind,
                object.name.as_deref().unwrap_or_default()
            ));
            return false;
        }
        self.visited.insert((a, cluster.clone()))
    }

    /// Builds what Flux Kustomization `a` builds, `forced` its `targetNamespace`.
    fn build_flux(&mut self, a: usize, forced: Option<Forced<'a>>, context: &BuildContext) {
        let builds = self.builds;
        let resources = builds.flux.get(&a).map_or(&[][..], Vec::as_slice);
        if let [Resource::Kustomization(k)] = resources {
            // Flux adds its components to the kustomization at its path.
            return self.walk(*k, forced, context);
        }
        // Else Flux generates a kustomization of the files (and folders built whole) at its
        // path, with its components: their transformers apply to all of it.
        let kustomize = self.kustomize;
        let in_front = |walker: &mut Self, components: &[usize]| -> Steps {
            let steps: Vec<TransformerId> = components
                .iter()
                .filter_map(|c| kustomize.kustomizations.get(c)?.transformer)
                .collect();
            walker
                .chains
                .prepend(&steps, context.steps, walker.transformers)
        };
        let generated = BuildContext {
            steps: in_front(self, &context.components),
            components: Vec::new(),
            ..context.clone()
        };
        for &resource in resources {
            match resource {
                Resource::File(f) => self.land(f, forced, generated.steps, &generated),
                Resource::Kustomization(k) | Resource::Component(k) => {
                    self.walk(k, forced, &generated)
                }
            }
        }
        for (i, &c) in context.components.iter().enumerate() {
            let component = BuildContext {
                steps: in_front(self, &context.components[i + 1..]),
                components: Vec::new(),
                ..context.clone()
            };
            self.walk(c, forced, &component);
        }
    }

    /// Builds what the sources of Argo CD Application `a` build.
    fn build_argo(&mut self, a: usize, context: &BuildContext) {
        let builds = self.builds;
        for build in builds.argo.get(&a).into_iter().flatten() {
            match build {
                ArgoBuild::Kustomization(k, forced, steps) => {
                    let context = BuildContext {
                        root: Some(BuildRoot::Kustomization(*k)),
                        steps: match steps {
                            Some(step) => self.chains.push(*step, Steps::NONE, self.transformers),
                            None => Steps::NONE,
                        },
                        ..context.clone()
                    };
                    self.walk(*k, Forced::by_controller(forced), &context);
                }
                ArgoBuild::Files(files) => {
                    for &f in files {
                        self.land(f, None, context.steps, context);
                    }
                }
            }
        }
    }
}

/// The keys of `map`, in order.
fn sorted_keys<V>(map: &HashMap<usize, V>) -> Vec<usize> {
    let mut keys: Vec<usize> = map.keys().copied().collect();
    keys.sort_unstable();
    keys
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

    #[test]
    fn a_long_chain_of_kustomizations_is_walked_without_deep_calls() {
        const DEPTH: usize = 20_000;
        let mut files: Vec<_> = (0..DEPTH)
            .map(|i| {
                let namespace = if i == 0 { "namespace: top\n" } else { "" };
                let text = format!("{namespace}resources: [../k{}]\n", i + 1);
                file(&format!("k{i}/kustomization.yaml"), &text)
            })
            .collect();
        files.push(file(
            &format!("k{DEPTH}/kustomization.yaml"),
            "resources: [np.yaml]\n",
        ));
        files.push(file(&format!("k{DEPTH}/np.yaml"), "kind: NetworkPolicy\n"));
        let r = resolve_files(&mut files);
        assert_eq!(ways(&r.landings[DEPTH + 1]), vec![Some("top")]);
    }

    #[test]
    fn a_diamond_of_kustomizations_is_built_once_per_way() {
        // Each level's two kustomizations both include the two of the level below: 2^40 paths
        // to the bottom, which a walk that builds each (kustomization, way) once never takes.
        const DEPTH: usize = 40;
        let mut files = vec![file(
            "root/kustomization.yaml",
            "namespace: top\nresources: [../l0a, ../l0b]\n",
        )];
        for level in 0..DEPTH {
            for side in ["a", "b"] {
                let below = format!("resources: [../l{0}a, ../l{0}b]\n", level + 1);
                files.push(file(&format!("l{level}{side}/kustomization.yaml"), &below));
            }
        }
        for side in ["a", "b"] {
            files.push(file(
                &format!("l{DEPTH}{side}/kustomization.yaml"),
                "resources: [np.yaml]\n",
            ));
            files.push(file(
                &format!("l{DEPTH}{side}/np.yaml"),
                "kind: NetworkPolicy\n",
            ));
        }
        let r = resolve_files(&mut files);
        let policies = files.len() - 1;
        assert_eq!(ways(&r.landings[policies]), vec![Some("top")]);
        assert_eq!(ways(&r.landings[policies - 2]), vec![Some("top")]);
    }
}
