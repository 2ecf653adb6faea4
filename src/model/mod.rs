//! Stage 4: the cluster as the repository describes it: namespaces, policies and workloads,
//! each with the location of the YAML that declares it.

use crate::decode::object::{Object, SuppressAnnotation};
use crate::decode::spec::{
    self as engine, EngineKind, NetworkSetSpec, PolicySpec, TierSpec, engine_kind,
};
use crate::decode::toolkit::Problem;
use crate::decode::workload::WorkloadSpec;
use crate::decode::{CLUSTER_SCOPED_KINDS, Decoded, unevaluated_reason};
use crate::source::load::LoadedFile;
use crate::source::yaml::Span;
use crate::topology::{Placement, Resolution, Way};
use std::collections::{BTreeMap, HashMap};

mod ids;
mod rule;
pub use ids::{PolicyId, RuleRef, SpecId, WorkloadId};
pub use rule::RuleView;

/// A place in a loaded file: the file's index in [`Model::files`] and a span in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub file: usize,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

impl Location {
    pub fn new(file: usize, span: Span) -> Self {
        Self {
            file,
            line: span.start.line,
            column: span.start.column,
            end_line: span.end.line,
            end_column: span.end.column,
        }
    }
}

/// A namespace's identity: the same name in two clusters is two namespaces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NamespaceKey {
    /// `None` when no GitOps entry point reaches the manifests.
    pub cluster: Option<String>,
    pub name: String,
}

impl NamespaceKey {
    pub fn as_pair(&self) -> (Option<&str>, &str) {
        (self.cluster.as_deref(), &self.name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Namespace {
    pub name: String,
    /// The Namespace object, when the repository declares one.
    pub object: Option<Location>,
    /// The first manifest (in file, line order) that lands in the namespace.
    pub first_manifest: Location,
    /// A kustomization file whose `namespace:` puts objects here, the outermost one.
    pub set_by: Option<usize>,
    pub labels: BTreeMap<String, String>,
    /// The Namespace object's `imds-lint.io/ignore` annotation.
    pub suppression: Option<Box<Suppression>>,
}

/// An `imds-lint.io/ignore` annotation on a Namespace, NetworkPolicy or workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// Rule ids or names as written, or `all`.
    pub rules: Vec<String>,
    /// The `imds-lint.io/reason` annotation; without a non-empty one nothing is suppressed.
    pub reason: Option<String>,
    /// The `imds-lint.io/ignore` key.
    pub at: Location,
    /// Its value.
    pub value_at: Location,
}

impl Suppression {
    fn new(file: usize, annotation: &SuppressAnnotation) -> Self {
        Self {
            rules: annotation.rules.clone(),
            reason: annotation.reason.clone(),
            at: Location::new(file, annotation.key),
            value_at: Location::new(file, annotation.value),
        }
    }

    /// The reason, when there is one that is not blank.
    pub fn reason(&self) -> Option<&str> {
        self.reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
    }
}

/// A suppression annotation on an object no finding can be about (a ConfigMap, say).
#[derive(Debug, Clone, PartialEq)]
pub struct StraySuppression {
    pub suppression: Suppression,
    /// The object, for messages: `ConfigMap web/settings`.
    pub object: String,
    pub cluster: Option<String>,
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The object's kind: `NetworkPolicy`, `CiliumClusterwideNetworkPolicy`, …
    pub kind: String,
    pub name: String,
    pub cluster: Option<String>,
    /// Empty for cluster-scoped kinds (GlobalNetworkPolicy, AdminNetworkPolicy, …).
    pub namespace: String,
    /// The policy's first key.
    pub location: Location,
    /// The other engine's kind; `None` for a native `networking.k8s.io/v1` NetworkPolicy.
    pub engine_kind: Option<EngineKind>,
    /// The policy decoded into rules with actions, placed in the chain: a Cilium policy's
    /// `specs` give one each, every other policy one; empty when it cannot be evaluated.
    pub specs: Vec<PolicySpec>,
    pub problems: Vec<Problem>,
    /// The API server (or the engine's webhook) would refuse the policy, so it never reaches
    /// a cluster.
    pub rejected: bool,
    pub suppression: Option<Box<Suppression>>,
}

impl Policy {
    /// (cluster, namespace): where the policy applies.
    pub fn key(&self) -> (Option<&str>, &str) {
        (self.cluster.as_deref(), &self.namespace)
    }

    /// A `networking.k8s.io/v1` NetworkPolicy.
    pub fn is_native(&self) -> bool {
        self.engine_kind.is_none()
    }

    /// The specs that take part in egress decisions in a cluster (they govern egress and the
    /// policy would be accepted), each with its index in [`Policy::specs`].
    pub fn egress_specs(&self) -> impl Iterator<Item = (usize, &PolicySpec)> {
        self.specs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.governs_egress && !self.rejected)
    }

    /// Whether the policy takes part in egress decisions.
    pub fn governs_egress(&self) -> bool {
        self.egress_specs().next().is_some()
    }

    /// A policy imds-lint cannot evaluate (another engine's; it is listed as not evaluated).
    pub fn is_unevaluated(&self) -> bool {
        self.specs.is_empty()
    }

    /// The kind for people: Calico's NetworkPolicy is told apart from the native one.
    pub fn kind_name(&self) -> &str {
        match self.engine_kind {
            Some(EngineKind::CalicoNetworkPolicy) => "Calico NetworkPolicy",
            _ => &self.kind,
        }
    }

    /// `NetworkPolicy payments/web`, `GlobalNetworkPolicy deny-metadata`, and `Calico
    /// NetworkPolicy a/b` apart from the native kind of the same name.
    pub fn describe(&self) -> String {
        let kind = self.kind_name();
        if self.namespace.is_empty() {
            format!("{kind} {}", self.name)
        } else {
            format!("{kind} {}/{}", self.namespace, self.name)
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub kind: String,
    pub name: String,
    pub cluster: Option<String>,
    pub namespace: String,
    pub location: Location,
    pub spec: WorkloadSpec,
    pub suppression: Option<Box<Suppression>>,
}

impl Workload {
    /// (cluster, namespace): where the workload runs.
    pub fn key(&self) -> (Option<&str>, &str) {
        (self.cluster.as_deref(), &self.namespace)
    }
}

/// One object that is not evaluated, where it lands.
#[derive(Debug, Clone, PartialEq)]
pub struct UnevaluatedObject {
    pub name: String,
    pub cluster: Option<String>,
    /// `None` for cluster-scoped kinds, and where a Config Sync NamespaceSelector picks the
    /// namespaces.
    pub namespace: Option<String>,
    pub at: Location,
}

#[derive(Debug, Default)]
pub struct Model {
    /// Display paths; a [`Location::file`] indexes this.
    pub files: Vec<String>,
    pub namespaces: BTreeMap<NamespaceKey, Namespace>,
    pub policies: Vec<Policy>,
    pub workloads: Vec<Workload>,
    /// Objects found but not evaluated (other policy kinds, Helm releases, other sources), by
    /// (kind, reason), one entry per way each lands.
    pub not_evaluated: BTreeMap<(String, String), Vec<UnevaluatedObject>>,
    pub documents: usize,
    /// `imds-lint.io/ignore` annotations on objects no finding is about (ConfigMaps, Services,
    /// …), which therefore suppress nothing.
    pub stray_suppressions: Vec<StraySuppression>,
    /// Calico tiers by (cluster, name).
    pub tiers: BTreeMap<(Option<String>, String), TierSpec>,
    pub network_sets: Vec<NetworkSet>,
    /// CiliumCIDRGroups (cluster-scoped: no namespace).
    pub cidr_groups: Vec<NetworkSet>,
}

/// A Calico NetworkSet (or GlobalNetworkSet: empty namespace), or a CiliumCIDRGroup, where
/// it lands.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSet {
    pub cluster: Option<String>,
    pub namespace: String,
    pub spec: NetworkSetSpec,
}

impl Model {
    pub fn policy(&self, id: PolicyId) -> &Policy {
        &self.policies[id.index()]
    }

    /// Every policy with its id, in model order.
    pub fn policies_with_ids(&self) -> impl Iterator<Item = (PolicyId, &Policy)> {
        self.policies
            .iter()
            .enumerate()
            .map(|(i, p)| (PolicyId::new(i), p))
    }

    pub fn spec(&self, id: SpecId) -> &PolicySpec {
        &self.policy(id.policy()).specs[id.index()]
    }

    pub fn workload(&self, id: WorkloadId) -> &Workload {
        &self.workloads[id.index()]
    }

    /// Every workload with its id, in model order.
    pub fn workloads_with_ids(&self) -> impl Iterator<Item = (WorkloadId, &Workload)> {
        self.workloads
            .iter()
            .enumerate()
            .map(|(i, w)| (WorkloadId::new(i), w))
    }

    /// Calico policies in a tier the repository has no Tier object for. Calico refuses such a
    /// policy until the tier exists; the chain puts the tier after every other one.
    pub fn undefined_tier_notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = self
            .policies
            .iter()
            .flat_map(|p| p.specs.iter().map(move |spec| (p, spec)))
            .filter(|(p, spec)| {
                spec.placement.layer == engine::Layer::NetworkPolicy
                    && spec.placement.tier != engine::DEFAULT_TIER
                    && !self
                        .tiers
                        .contains_key(&(p.cluster.clone(), spec.placement.tier.clone()))
            })
            .map(|(p, spec)| {
                format!(
                    "{} ({}:{}): Calico tier {} has no Tier object in the repository; it is \
                     evaluated after every other tier",
                    p.describe(),
                    self.files[p.location.file],
                    p.location.line,
                    spec.placement.tier
                )
            })
            .collect();
        notes.dedup();
        notes
    }

    /// Keeps only what lands in `cluster`.
    pub fn retain_cluster(&mut self, cluster: &str) {
        let wanted = Some(cluster);
        self.namespaces
            .retain(|k, _| k.cluster.as_deref() == wanted);
        self.policies.retain(|p| p.cluster.as_deref() == wanted);
        self.workloads.retain(|w| w.cluster.as_deref() == wanted);
        self.tiers.retain(|(c, _), _| c.as_deref() == wanted);
        self.network_sets.retain(|s| s.cluster.as_deref() == wanted);
        for objects in self.not_evaluated.values_mut() {
            objects.retain(|o| o.cluster.as_deref() == wanted);
        }
        self.not_evaluated.retain(|_, objects| !objects.is_empty());
    }
}

/// Builds the model. `objects[i]` are the objects of `files[i]`; `default_namespace` is
/// where namespaced objects without one land.
pub fn build(
    files: &[LoadedFile],
    objects: &[Vec<Object>],
    resolution: &Resolution,
    default_namespace: &str,
) -> Model {
    let mut model = Model {
        files: files.iter().map(|f| f.display.clone()).collect(),
        documents: files.iter().map(|f| f.documents).sum(),
        ..Model::default()
    };
    let mut unfollowed: HashMap<(usize, usize), Vec<&str>> = HashMap::new();
    for u in &resolution.unfollowed {
        unfollowed
            .entry((u.file, u.object))
            .or_default()
            .push(&u.reason);
    }
    let standalone = Way::default();
    for (file_index, (file_objects, placement)) in
        objects.iter().zip(&resolution.placements).enumerate()
    {
        let ways: Vec<&Way> = match placement {
            Placement::NotAResource => continue,
            Placement::Standalone => vec![&standalone],
            Placement::Built(ways) => ways.iter().collect(),
        };
        for (object_index, object) in file_objects.iter().enumerate() {
            let reasons = unfollowed.get(&(file_index, object_index));
            for &way in &ways {
                let object = Placed {
                    file: file_index,
                    object,
                    way,
                    reasons: reasons.map_or(&[][..], Vec::as_slice),
                };
                add_object(&mut model, &object, default_namespace);
            }
        }
    }
    model
}

/// One object as it lands one way, with the reasons a controller could not follow it.
struct Placed<'a> {
    file: usize,
    object: &'a Object,
    way: &'a Way,
    reasons: &'a [&'a str],
}

fn add_object(model: &mut Model, placed: &Placed, default_namespace: &str) {
    let Placed {
        file, object, way, ..
    } = *placed;
    let decoded = &object.decoded;
    let location = Location::new(file, object.span);
    let suppression = object
        .suppression
        .as_ref()
        .map(|a| Box::new(Suppression::new(file, a)));
    let cluster = way.cluster.clone();
    let forced = way.namespace.as_deref();
    let set_by = way.namespace_from;
    let cluster_scoped =
        object.kind == "Namespace" || CLUSTER_SCOPED_KINDS.contains(&object.kind.as_str());
    let explicit = forced
        .map(str::to_string)
        .or_else(|| object.namespace.clone())
        .or_else(|| way.fallback_namespace.clone());
    // A rendered copy names its namespace; a source object's namespaces are picked by labels.
    let selector = object
        .namespace_selector
        .as_ref()
        .filter(|_| object.namespace.is_none())
        .filter(|_| matches!(decoded, Decoded::Policy(_) | Decoded::Workload(_)));
    let selector_reason = selector.map(|selector| {
        format!(
            "Config Sync NamespaceSelector {selector}: the namespaces it selects are not followed"
        )
    });
    let engine_reason = match decoded {
        Decoded::Engine(engine) => engine.not_evaluated.as_deref(),
        _ => None,
    };
    let reasons = unevaluated_reason(object)
        .into_iter()
        .chain(engine_reason)
        .chain(placed.reasons.iter().copied())
        .chain(selector_reason.as_deref());
    let selected = selector.is_some();
    for reason in reasons {
        let unevaluated = UnevaluatedObject {
            name: object.name.clone().unwrap_or_default(),
            cluster: cluster.clone(),
            namespace: (!cluster_scoped && !selected).then(|| {
                explicit
                    .clone()
                    .unwrap_or_else(|| default_namespace.to_string())
            }),
            at: location,
        };
        let listed = model
            .not_evaluated
            .entry((
                format!("{} ({})", object.kind, object.api_version),
                reason.to_string(),
            ))
            .or_default();
        // An object's ways come one after another; two that land alike are one place.
        if listed.last() != Some(&unevaluated) {
            listed.push(unevaluated);
        }
    }
    // Counting it in one namespace would be a guess: in the wrong one, a deny policy would
    // make a namespace look safe.
    if selected {
        return;
    }
    if object.kind == "Namespace" {
        // kustomize renames a Namespace object to the namespace it sets.
        let Some(name) = forced.map(str::to_string).or_else(|| object.name.clone()) else {
            return;
        };
        let ns = note_namespace(model, &cluster, &name, location, set_by);
        ns.object.get_or_insert(location);
        if ns.suppression.is_none() {
            ns.suppression = suppression;
        }
        if let Decoded::Namespace { labels } = decoded {
            ns.labels = labels.clone();
        }
        return;
    }
    let stray = |model: &mut Model, namespace: Option<String>| {
        if let Some(suppression) = suppression.clone() {
            let name = object.name.as_deref().unwrap_or_default();
            let object = match &namespace {
                Some(ns) => format!("{} {ns}/{name}", object.kind),
                None => format!("{} {name}", object.kind),
            };
            model.stray_suppressions.push(StraySuppression {
                suppression: *suppression,
                object,
                cluster: cluster.clone(),
                namespace,
            });
        }
    };
    let name = object.name.clone().unwrap_or_default();
    if let Decoded::Tier(tier) = decoded {
        model.tiers.insert((cluster.clone(), name), tier.clone());
        return;
    }
    if let Decoded::CidrGroup(group) = decoded {
        model.cidr_groups.push(NetworkSet {
            cluster,
            namespace: String::new(),
            spec: group.clone(),
        });
        return;
    }
    if let Decoded::NetworkSet(set) = decoded {
        model.network_sets.push(NetworkSet {
            cluster,
            namespace: if cluster_scoped {
                String::new()
            } else {
                explicit.unwrap_or_else(|| default_namespace.to_string())
            },
            spec: set.clone(),
        });
        return;
    }
    if let Decoded::Engine(engine) = decoded {
        let namespace = if cluster_scoped {
            String::new()
        } else {
            let namespace = explicit.unwrap_or_else(|| default_namespace.to_string());
            note_namespace(model, &cluster, &namespace, location, set_by);
            namespace
        };
        model.policies.push(Policy {
            kind: object.kind.clone(),
            name,
            cluster,
            namespace,
            location,
            engine_kind: engine_kind(&object.kind, &object.api_version),
            specs: engine.specs.clone(),
            problems: engine.problems.clone(),
            rejected: engine.rejected,
            suppression,
        });
        return;
    }
    if cluster_scoped {
        stray(model, None);
        return;
    }
    let namespace = explicit
        .clone()
        .unwrap_or_else(|| default_namespace.to_string());
    match decoded {
        Decoded::Policy(policy) => {
            note_namespace(model, &cluster, &namespace, location, set_by);
            model.policies.push(Policy {
                kind: object.kind.clone(),
                name,
                cluster,
                namespace,
                location,
                engine_kind: None,
                specs: policy.specs.clone(),
                problems: policy.problems.clone(),
                rejected: policy.rejected,
                suppression,
            });
        }
        Decoded::Workload(spec) => {
            note_namespace(model, &cluster, &namespace, location, set_by);
            model.workloads.push(Workload {
                kind: object.kind.clone(),
                name,
                cluster,
                namespace,
                location,
                spec: spec.clone(),
                suppression,
            });
        }
        // Any namespaced object with an explicit namespace tells us the namespace exists.
        Decoded::Namespace { .. }
        | Decoded::Applier(_)
        | Decoded::Engine(_)
        | Decoded::Tier(_)
        | Decoded::NetworkSet(_)
        | Decoded::CidrGroup(_)
        | Decoded::Other => {
            stray(model, Some(namespace));
            if let Some(ns) = explicit {
                note_namespace(model, &cluster, &ns, location, set_by);
            }
        }
    }
}

fn note_namespace<'a>(
    model: &'a mut Model,
    cluster: &Option<String>,
    name: &str,
    at: Location,
    set_by: Option<usize>,
) -> &'a mut Namespace {
    let key = NamespaceKey {
        cluster: cluster.clone(),
        name: name.to_string(),
    };
    let ns = model.namespaces.entry(key).or_insert_with(|| Namespace {
        name: name.to_string(),
        object: None,
        first_manifest: at,
        set_by: None,
        labels: BTreeMap::new(),
        suppression: None,
    });
    if ns.set_by.is_none() {
        ns.set_by = set_by;
    }
    if at < ns.first_manifest {
        ns.first_manifest = at;
    }
    ns
}
