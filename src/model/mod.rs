//! Stage 4: the cluster as the repository describes it: namespaces, policies and workloads,
//! each with the location of the YAML that declares it.

use crate::decode::Decoded;
use crate::decode::kind;
use crate::decode::kind::{Kind, Reads};
use crate::decode::labels::Labels;
use crate::decode::names;
use crate::decode::object::{Object, Owner, SuppressAnnotation};
use crate::decode::service::{ServiceKind, ServiceObject};
use crate::decode::spec::{
    self as engine, DecodedPolicy, EngineKind, NetworkSetSpec, PolicySpec, TierSpec,
};
use crate::decode::toolkit::{Problem, ProblemKind};
use crate::decode::workload::WorkloadSpec;
use crate::source::load::LoadedFile;
use crate::source::yaml::{FileRef, Span};
use crate::topology::render::{Applied, Change, Rendering, Unapplied};
use crate::topology::{BuildRoot, Landing, Resolution, Way};
use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

mod identity;
mod ids;
mod rule;
pub use identity::ObjectId;
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
    /// `span` in `file`, unless the span names a file of its own (a node a patch put there).
    pub fn new(file: usize, span: Span) -> Self {
        Self {
            file: span.file.map_or(file, FileRef::index),
            line: span.start.line as usize,
            column: span.start.column as usize,
            end_line: span.end.line as usize,
            end_column: span.end.column as usize,
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
    pub labels: Labels,
    /// The Namespace object's `imds-lint.io/ignore` annotation.
    pub suppression: Option<Box<Suppression>>,
    /// What could change what lands here and is not applied: the verdict is uncertain.
    pub uncertain: Vec<Uncertainty>,
}

/// Something a kustomization or controller does that imds-lint does not apply.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Uncertainty {
    pub at: Location,
    pub reason: String,
    /// kustomize or the controller refuses the whole build here, rather than imds-lint not
    /// applying something.
    pub refused: bool,
}

/// A change a transformer made to an object, at the entry that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transformed {
    pub at: Location,
    pub change: Change,
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
    pub specs: Arc<[PolicySpec]>,
    pub problems: Vec<Problem>,
    /// The API server (or the engine's webhook) would refuse the policy, so it never reaches
    /// a cluster.
    pub rejected: bool,
    pub suppression: Option<Box<Suppression>>,
    /// The changes kustomize or a controller made to it, in order.
    pub transformed: Vec<Transformed>,
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
    pub spec: Arc<WorkloadSpec>,
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
    /// Services, for the rules that name one.
    pub services: Vec<Service>,
    /// The addresses of Services' Endpoints and EndpointSlices.
    pub service_endpoints: Vec<ServiceEndpoints>,
    /// What is not applied to a cluster-scoped object: every namespace of its cluster is
    /// uncertain.
    cluster_wide_uncertainty: Vec<(Option<String>, Uncertainty)>,
    /// Objects declared more than once, in apply order of the later copy.
    pub duplicates: Vec<Duplicate>,
    /// Objects other than policies that the API server or kubectl refuses (an invalid name or
    /// namespace, a key written twice): left out of the analysis. A refused policy is kept
    /// among [`Model::policies`], marked `rejected`.
    pub refused_objects: Vec<RefusedObject>,
}

/// An object that never reaches a cluster, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RefusedObject {
    /// `Deployment shop/api`, `Namespace Not_Valid`.
    pub object: String,
    pub cluster: Option<String>,
    /// Where it would have landed; `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    pub file: usize,
    pub problems: Vec<Problem>,
}

/// Two copies of one object (same cluster, API group, kind, namespace and name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub id: ObjectId,
    /// The copy applied first: lexical path order, then document order within a file.
    pub first: Location,
    /// The copy applied after it.
    pub second: Location,
    /// `Some` when both are in one kustomize build: kustomize refuses that build, so nothing
    /// of it is applied; the model keeps `first`. `None`: `second` replaces `first`, and only
    /// `second` is in the model.
    pub refused: Option<RefusedBuild>,
    /// The analysis reads objects of this kind (or lists them as not evaluated), so which
    /// copy counts can change a verdict; `false` for ConfigMaps, Services and the like.
    pub read: bool,
    /// Both copies are one manifest that two builds change differently (their patches or
    /// labels): two versions of it are applied.
    pub same_source: bool,
}

impl Duplicate {
    /// Where the copy in the model is.
    pub fn kept(&self) -> Location {
        if self.refused.is_some() {
            self.first
        } else {
            self.second
        }
    }
}

/// A kustomize build that holds one identity twice, which kustomize refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedBuild {
    pub root: BuildRoot,
    /// For messages: the kustomization's path, or `Flux Kustomization NS/NAME (FILE:LINE)`.
    pub name: String,
    /// The copies differ as written and the build's `namespace:` makes them one (kustomize:
    /// "namespace transformation produces ID conflict"); else the id is registered twice ("may
    /// not add resource with an already registered id").
    pub after_namespace: bool,
}

/// A Calico NetworkSet (or GlobalNetworkSet: empty namespace), or a CiliumCIDRGroup, where
/// it lands.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSet {
    pub cluster: Option<String>,
    pub namespace: String,
    pub spec: NetworkSetSpec,
}

/// A Service, where it lands.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub cluster: Option<String>,
    pub namespace: String,
    pub name: String,
    /// It has a selector (or is an ExternalName Service): it sends to pods, or by name.
    pub selects_pods: bool,
    pub labels: Labels,
}

/// An Endpoints or EndpointSlice object, where it lands, with the Service it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceEndpoints {
    pub cluster: Option<String>,
    pub namespace: String,
    pub service: String,
    pub addresses: crate::net::IpSet,
    /// Some addresses are names (an FQDN EndpointSlice): where they resolve is not known.
    pub by_name: bool,
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
        self.services.retain(|s| s.cluster.as_deref() == wanted);
        self.service_endpoints
            .retain(|s| s.cluster.as_deref() == wanted);
        self.duplicates
            .retain(|d| d.id.cluster.as_deref() == wanted);
        for objects in self.not_evaluated.values_mut() {
            objects.retain(|o| o.cluster.as_deref() == wanted);
        }
        self.not_evaluated.retain(|_, objects| !objects.is_empty());
    }
}

/// Builds the model. `objects[i]` are the objects of `files[i]`; `default_namespace` is
/// where namespaced objects without one land. One object per identity: see [`identity`].
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
    // kustomize refuses a whole build where one of its kustomizations is refused: every
    // object of that build is uncertain, rendered or not.
    let mut refused: HashMap<BuildRoot, Vec<Unapplied>> = HashMap::new();
    for ((_, way), rendering) in &resolution.rendered {
        if let Some(root) = way.build {
            for u in rendering.unapplied.iter().filter(|u| u.refused) {
                let list = refused.entry(root).or_default();
                if !list.contains(u) {
                    list.push(u.clone());
                }
            }
        }
    }
    let standalone = Way::default();
    let arrivals = Arrivals::new(objects, resolution, &standalone, &refused, &unfollowed);
    let (kept, clashes) = settle(&model.files, &arrivals, default_namespace);
    model.duplicates = clashes
        .into_iter()
        .map(|(clash, id)| duplicate(&model.files, objects, &arrivals, clash, id))
        .collect();
    reserve(&mut model, arrivals.where_kept(&kept, true));
    // Built when first asked: most repositories have no objects a live cluster's controller
    // made.
    let present = OnceCell::new();
    for arrival in arrivals.where_kept(&kept, true) {
        // A live cluster's pod or ReplicaSet names its controller: where the controller is
        // in the input, its template stands for the object's pods; else they are reported as
        // the controller's.
        let reported_as = controlled_by(&arrival);
        if let Some(owner) = reported_as {
            let key = (
                arrival.cluster(),
                arrival.namespace_in(default_namespace),
                owner.kind.as_str(),
                owner.name.as_str(),
            );
            let present =
                present.get_or_init(|| controllers_present(&arrivals, &kept, default_namespace));
            if present.contains(&key) {
                continue;
            }
        }
        add_object(&mut model, &arrival, default_namespace, reported_as);
    }
    // A copy that does not count still says what may not be applied where it lands.
    for arrival in arrivals.where_kept(&kept, false) {
        note_dropped_uncertainty(&mut model, &arrival, default_namespace);
    }
    note_refused_builds(&mut model);
    label_managed_namespaces(&mut model, resolution);
    mark_cluster_wide_uncertainty(&mut model);
    model
}

/// Room for the policies, workloads and Services the arrivals that count can become, at
/// most one each: a list grown by doubling can leave half of its room unused.
fn reserve<'a>(model: &mut Model, counting: impl Iterator<Item = Arrival<'a>>) {
    let (mut policies, mut workloads, mut services) = (0, 0, 0);
    for arrival in counting {
        match &arrival.object.decoded {
            Decoded::Policy(_) => policies += 1,
            Decoded::Workload(_) => workloads += 1,
            Decoded::Service(service) if matches!(**service, ServiceObject::Service { .. }) => {
                services += 1;
            }
            _ => {}
        }
    }
    model.policies.reserve_exact(policies);
    model.workloads.reserve_exact(workloads);
    model.services.reserve_exact(services);
}

/// (cluster, namespace, kind, name) of the workloads that count, by the name they are written
/// with (an Argo workflow's, not its templates').
type WorkloadKey<'a> = (Option<&'a str>, &'a str, &'a str, &'a str);

fn controllers_present<'a>(
    arrivals: &Arrivals<'a>,
    kept: &[bool],
    default_namespace: &'a str,
) -> HashSet<WorkloadKey<'a>> {
    arrivals
        .where_kept(kept, true)
        .filter(|a| matches!(a.object.decoded, Decoded::Workload(_)))
        .map(|a| {
            (
                a.cluster(),
                a.namespace_in(default_namespace),
                a.object.written_kind.as_str(),
                a.object.object_name().unwrap_or_default(),
            )
        })
        .collect()
}

/// The namespaced controller of a workload (a Node is no controller of its mirror pods).
fn controlled_by<'a>(arrival: &Arrival<'a>) -> Option<&'a Owner> {
    let object = arrival.object;
    let owner = object.controller.as_deref()?;
    (matches!(object.decoded, Decoded::Workload(_))
        && !kind::classify(&owner.kind, "").is_cluster_scoped())
    .then_some(owner)
}

/// Argo CD puts its `managedNamespaceMetadata` labels on the destination namespace it
/// manages, over those of a Namespace object.
fn label_managed_namespaces(model: &mut Model, resolution: &Resolution) {
    for managed in &resolution.managed_namespaces {
        let key = NamespaceKey {
            cluster: managed.cluster.clone(),
            name: managed.namespace.clone(),
        };
        if let Some(ns) = model.namespaces.get_mut(&key) {
            ns.labels.extend(managed.labels.iter().cloned());
        }
    }
}

/// A build kustomize refuses applies nothing: where its duplicate lands, the verdict (made
/// from the first copy) is uncertain.
fn note_refused_builds(model: &mut Model) {
    for d in &model.duplicates {
        let Some(refused) = &d.refused else {
            continue;
        };
        let key = NamespaceKey {
            cluster: d.id.cluster.clone(),
            name: d.id.namespace.clone().unwrap_or_default(),
        };
        let uncertainty = Uncertainty {
            at: d.second,
            reason: format!(
                "kustomize refuses the build of {}: {} {} is in it twice, so nothing of it is applied",
                refused.name, d.id.kind, d.id.name
            ),
            refused: true,
        };
        if let Some(ns) = model.namespaces.get_mut(&key)
            && !ns.uncertain.contains(&uncertainty)
        {
            ns.uncertain.push(uncertainty);
        }
    }
}

/// Which arrivals become objects of the model (in apply order: [`identity::path_order`] of
/// their files, then document order), and the clashes between copies of one identity with
/// that identity.
fn settle(
    files: &[String],
    arrivals: &Arrivals,
    default_namespace: &str,
) -> (Vec<bool>, Vec<(identity::Clash, ObjectId)>) {
    let copies = Copies {
        arrivals,
        default_namespace,
    };
    let with_identity = arrivals
        .iter()
        .enumerate()
        .filter_map(|(i, a)| Some((i, a.filter(Arrival::has_identity)?.source)))
        .collect();
    let order = identity::apply_order(files, with_identity);
    let settled = identity::settle(&copies, arrivals.len, &order);
    let clashes = settled
        .clashes
        .into_iter()
        .map(|clash| {
            let id = identity::Copies::id(&copies, clash.second).to_id();
            (clash, id)
        })
        .collect();
    (settled.kept, clashes)
}

/// The arrivals as settling reads them, their identities computed when asked.
struct Copies<'s, 'a> {
    arrivals: &'s Arrivals<'a>,
    default_namespace: &'s str,
}

impl identity::Copies for Copies<'_, '_> {
    fn id(&self, i: usize) -> identity::IdKey<'_> {
        self.arrivals.get(i).id(self.default_namespace)
    }

    fn build(&self, i: usize) -> Option<identity::BuildKey<'_>> {
        self.arrivals.get(i).build_id()
    }

    /// The same source object landing alike by two ways is one object; two ways that make it
    /// differ (their patches or labels) apply two versions of it.
    fn same(&self, a: usize, b: usize) -> bool {
        let (a, b) = (self.arrivals.get(a), self.arrivals.get(b));
        a.source == b.source && (std::ptr::eq(a.object, b.object) || a.object == b.object)
    }
}

/// A clash between two arrivals (by index), for the findings.
fn duplicate(
    files: &[String],
    objects: &[Vec<Object>],
    arrivals: &Arrivals,
    clash: identity::Clash,
    id: ObjectId,
) -> Duplicate {
    let (first, second) = (arrivals.get(clash.first), arrivals.get(clash.second));
    let refused = clash.refused.map(|root| RefusedBuild {
        root,
        name: match root {
            BuildRoot::Kustomization(k) => files[k].clone(),
            BuildRoot::Flux { file, object } => {
                let flux = objects.get(file).and_then(|o| o.get(object));
                let name = flux.and_then(|o| o.name.as_deref()).unwrap_or_default();
                let namespace = flux
                    .and_then(|o| o.namespace.as_deref())
                    .map(|ns| format!("{ns}/"))
                    .unwrap_or_default();
                let line = flux.map_or(1, |o| o.span.start.line);
                format!(
                    "Flux Kustomization {namespace}{name} ({}:{line})",
                    files[file]
                )
            }
        },
        // kustomize tells apart an id registered twice from one the `namespace:` makes twice.
        after_namespace: first.written() != second.written(),
    });
    let kind = second.object.kind;
    Duplicate {
        id,
        first: first.location(),
        second: second.location(),
        refused,
        // Services and their endpoints are read only for the rules that name a Service.
        read: !matches!(kind, Kind::Service(_))
            && (kind.reads() != Reads::Identity
                || kind.unevaluated_reason().is_some()
                || matches!(second.object.decoded, Decoded::Workload(_))),
        same_source: first.source == second.source,
    }
}

/// Every object of each file once per way the file lands, by index: files in order, then
/// their ways, then their objects, an index for each object of the file even where a way's
/// patch deletes it. An arrival is made when asked, from its file's way: a list of them (one
/// per object and way) would be the largest thing the model build holds.
struct Arrivals<'a> {
    objects: &'a [Vec<Object>],
    /// Each file's ways, in order.
    ways: Vec<FileWay<'a>>,
    /// Why controllers could not follow an object, by file and index among its objects.
    unfollowed: &'a HashMap<(usize, usize), Vec<&'a str>>,
    len: usize,
}

/// A file landing one way.
struct FileWay<'a> {
    /// The index of the first of its arrivals.
    first: usize,
    file: usize,
    way: &'a Way,
    /// The file's objects as the way renders them; `None` when the way changes no more than
    /// namespaces.
    rendering: Option<&'a Rendering>,
    /// What makes kustomize refuse the way's build, when it does.
    refused: &'a [Unapplied],
}

impl<'a> Arrivals<'a> {
    /// `refused`: what makes each refused build refused; `standalone`: the way of files that
    /// nothing builds.
    fn new(
        objects: &'a [Vec<Object>],
        resolution: &'a Resolution,
        standalone: &'a Way,
        refused: &'a HashMap<BuildRoot, Vec<Unapplied>>,
        unfollowed: &'a HashMap<(usize, usize), Vec<&'a str>>,
    ) -> Self {
        let mut ways = Vec::new();
        let mut len = 0;
        for (file, (file_objects, landing)) in objects.iter().zip(&resolution.landings).enumerate()
        {
            let file_ways: Vec<&Way> = match landing {
                Landing::NotAResource => continue,
                Landing::Standalone => vec![standalone],
                Landing::Built(ways) => ways.iter().collect(),
            };
            for way in file_ways {
                ways.push(FileWay {
                    first: len,
                    file,
                    way,
                    rendering: resolution.rendering(file, way),
                    refused: way
                        .build
                        .and_then(|root| refused.get(&root))
                        .map_or(&[], Vec::as_slice),
                });
                len += file_objects.len();
            }
        }
        Arrivals {
            objects,
            ways,
            unfollowed,
            len,
        }
    }

    /// Arrival `i`, one that [`Arrivals::iter`] yields.
    fn get(&self, i: usize) -> Arrival<'a> {
        let way = self
            .ways
            .partition_point(|w| w.first <= i)
            .saturating_sub(1);
        self.arrival(&self.ways[way], i - self.ways[way].first)
    }

    /// Object `index` of `way`'s file, as the way renders it (unless a patch deletes it).
    fn arrival(&self, way: &FileWay<'a>, index: usize) -> Arrival<'a> {
        let rendered = way.rendering.and_then(|r| r.objects.get(index)?.as_ref());
        Arrival {
            object: rendered.map_or(&self.objects[way.file][index], |r| &r.object),
            source: (way.file, index),
            way: way.way,
            reasons: self
                .unfollowed
                .get(&(way.file, index))
                .map_or(&[], Vec::as_slice),
            rendering: way.rendering,
            refused: way.refused,
        }
    }

    /// Every arrival in index order; `None` for an object a patch deletes (or that is no
    /// longer an object).
    fn iter(&self) -> impl Iterator<Item = Option<Arrival<'a>>> + '_ {
        self.ways.iter().flat_map(move |way| {
            (0..self.objects[way.file].len()).map(move |index| {
                let deleted = way
                    .rendering
                    .is_some_and(|r| !matches!(r.objects.get(index), Some(Some(_))));
                (!deleted).then(|| self.arrival(way, index))
            })
        })
    }

    /// The arrivals that count (`counting`), or those that do not.
    fn where_kept<'s>(
        &'s self,
        kept: &'s [bool],
        counting: bool,
    ) -> impl Iterator<Item = Arrival<'a>> + 's {
        self.iter()
            .zip(kept)
            .filter_map(move |(arrival, &kept)| arrival.filter(|_| kept == counting))
    }
}

/// One object arriving in the model one way: what each part of the model it becomes needs,
/// the rest computed when asked.
struct Arrival<'a> {
    object: &'a Object,
    /// The object's file and index among the file's objects.
    source: (usize, usize),
    way: &'a Way,
    /// Why controllers could not follow the object.
    reasons: &'a [&'a str],
    /// The objects of its file as the way renders them, with what the way does that is not
    /// applied; `None` when the way changes no more than namespaces.
    rendering: Option<&'a Rendering>,
    /// What makes kustomize refuse the way's build, when it does.
    refused: &'a [Unapplied],
}

impl<'a> Arrival<'a> {
    fn file(&self) -> usize {
        self.source.0
    }

    fn location(&self) -> Location {
        Location::new(self.file(), self.object.span)
    }

    fn cluster(&self) -> Option<&'a str> {
        self.way.cluster.as_deref()
    }

    fn owned_cluster(&self) -> Option<String> {
        self.cluster().map(str::to_string)
    }

    /// The namespace the way sets for everything it builds (kustomize `namespace:`).
    fn forced(&self) -> Option<&'a str> {
        self.way.namespace.as_deref()
    }

    /// The kustomization file that sets it.
    fn set_by(&self) -> Option<usize> {
        self.way.namespace_from
    }

    /// The namespace set, named by the object, or given by the way; `None`: the default.
    fn explicit(&self) -> Option<&'a str> {
        self.forced()
            .or(self.object.namespace.as_deref())
            .or(self.way.fallback_namespace.as_deref())
    }

    fn suppression(&self) -> Option<Suppression> {
        let annotation = self.object.suppression.as_ref()?;
        Some(Suppression::new(self.file(), annotation))
    }

    /// The changes the way made to it.
    fn applied(&self) -> &'a [Applied] {
        let rendered = self
            .rendering
            .and_then(|r| r.objects.get(self.source.1)?.as_ref());
        rendered.map_or(&[], |r| &r.applied)
    }

    /// What the way does that is not applied.
    fn unapplied(&self) -> &'a [Unapplied] {
        self.rendering.map_or(&[], |r| &r.unapplied)
    }

    fn transformed(&self) -> Vec<Transformed> {
        self.applied()
            .iter()
            .map(|a| Transformed {
                at: Location::new(self.file(), a.at),
                change: a.change,
            })
            .collect()
    }

    /// What the way does that is not applied, and what makes kustomize refuse its build.
    fn uncertain(&self) -> impl Iterator<Item = Uncertainty> + '_ {
        let unapplied = self.unapplied();
        let refused = self.refused.iter().filter(|u| !unapplied.contains(u));
        unapplied.iter().chain(refused).map(|u| Uncertainty {
            at: Location::new(self.file(), u.at),
            reason: u.reason.clone(),
            refused: u.refused,
        })
    }

    fn is_certain(&self) -> bool {
        self.unapplied().is_empty() && self.refused.is_empty()
    }

    /// The namespace a namespaced object lands in.
    fn namespace_in<'d>(&self, default_namespace: &'d str) -> &'d str
    where
        'a: 'd,
    {
        self.explicit().unwrap_or(default_namespace)
    }

    fn namespace(&self, default_namespace: &str) -> String {
        self.namespace_in(default_namespace).to_string()
    }

    /// The namespace it lands in, empty for cluster-scoped kinds.
    fn namespace_unless_cluster_scoped(&self, default_namespace: &str) -> String {
        if self.object.kind.is_cluster_scoped() {
            String::new()
        } else {
            self.namespace(default_namespace)
        }
    }

    fn name(&self) -> String {
        self.object.name.as_deref().unwrap_or_default().to_string()
    }

    /// The name it has in the cluster: kustomize renames a Namespace object to the namespace
    /// it sets.
    fn final_name(&self) -> Option<&'a str> {
        match self.object.kind {
            Kind::Namespace => self.forced().or(self.object.name.as_deref()),
            _ => self.object.name.as_deref(),
        }
    }

    /// The namespace and name as written, no namespace read as `default` (as kustomize reads
    /// it).
    fn written(&self) -> (Option<&str>, Option<&str>) {
        let namespace = (!self.object.kind.is_cluster_scoped())
            .then(|| self.object.namespace.as_deref().unwrap_or("default"));
        (namespace, self.object.name.as_deref())
    }

    /// Whether it has an identity to clash on: not without a name, nor with namespaces picked
    /// by labels.
    fn has_identity(&self) -> bool {
        self.final_name().is_some()
            && !self.picked_by_labels()
            && !self.refused_kind()
            && refusals(self).is_empty()
    }

    /// Its identity (asked only of an arrival that [has one](Self::has_identity)).
    fn id<'d>(&self, default_namespace: &'d str) -> identity::IdKey<'d>
    where
        'a: 'd,
    {
        let object = self.object;
        let group = object
            .api_version
            .split_once('/')
            .map_or("", |(group, _)| group);
        identity::IdKey {
            cluster: self.cluster(),
            group,
            kind: &object.written_kind,
            namespace: (!object.kind.is_cluster_scoped())
                .then(|| self.namespace_in(default_namespace)),
            name: self.final_name().unwrap_or_default(),
        }
    }

    /// Its identity in the kustomize build that applies it, when one does.
    fn build_id(&self) -> Option<identity::BuildKey<'a>> {
        let object = self.object;
        self.way.build.map(|root| identity::BuildKey {
            cluster: self.cluster(),
            root,
            api_version: &object.api_version,
            kind: &object.written_kind,
            // The build's `namespace:`, else the object's; none is `default` to kustomize.
            namespace: (!object.kind.is_cluster_scoped()).then(|| {
                self.forced()
                    .or(object.namespace.as_deref())
                    .unwrap_or("default")
            }),
            name: self.final_name().unwrap_or_default(),
        })
    }

    /// A copy the API server refuses (`refusals`: a key written twice, an invalid name) takes
    /// no part in identity either: `kubectl apply` fails on it and the applied copy stays.
    ///
    /// A policy kind imds-lint lists as not evaluated: an API version no cluster serves
    /// (`networking.k8s.io/v1beta1`, a mangled version), which `kubectl apply` refuses, so it
    /// must not replace the copy that is applied; or another group's policy kind, whose copies
    /// change no verdict. It takes no part in identity.
    fn refused_kind(&self) -> bool {
        matches!(
            self.object.kind,
            Kind::Other {
                policy_like: true,
                ..
            }
        )
    }

    /// A Config Sync object whose namespaces a NamespaceSelector picks, when it is one the
    /// analysis would read: a rendered copy names its namespace.
    fn picked_by_labels(&self) -> bool {
        self.namespace_selector().is_some()
    }

    fn namespace_selector(&self) -> Option<&'a str> {
        let object = self.object;
        object
            .namespace_selector
            .as_deref()
            .filter(|_| object.namespace.is_none())
            .filter(|_| {
                object.kind == Kind::NetworkPolicy || matches!(object.decoded, Decoded::Workload(_))
            })
    }
}

/// Adds what `arrival` becomes; `reported_as`: the controller a workload's pods are reported
/// as (a live cluster's ReplicaSet for its pods, when it is not in the input).
fn add_object(
    model: &mut Model,
    arrival: &Arrival,
    default_namespace: &str,
    reported_as: Option<&Owner>,
) {
    let object = arrival.object;
    let refusals = refusals(arrival);
    if !refusals.is_empty() {
        if let Decoded::Policy(policy) = &object.decoded {
            let mut policy = policy.clone();
            policy.problems.extend(refusals);
            policy.rejected = true;
            add_policy(model, arrival, &policy, default_namespace);
        } else {
            add_refused_object(model, arrival, refusals, default_namespace);
        }
        return;
    }
    note_cluster_wide_uncertainty(model, arrival);
    // A rendered copy names its namespace; a source object's namespaces are picked by labels.
    let selector = arrival.namespace_selector();
    list_unevaluated(model, arrival, selector, default_namespace);
    // Counting it in one namespace would be a guess: in the wrong one, a deny policy would
    // make a namespace look safe.
    if selector.is_some() {
        return;
    }
    match &object.decoded {
        Decoded::Namespace { labels } => add_namespace_object(model, arrival, labels),
        Decoded::Tier(tier) => {
            let key = (arrival.owned_cluster(), arrival.name());
            model.tiers.insert(key, tier.clone());
        }
        Decoded::CidrGroup(group) => model.cidr_groups.push(NetworkSet {
            cluster: arrival.owned_cluster(),
            namespace: String::new(),
            spec: NetworkSetSpec::clone(group),
        }),
        Decoded::NetworkSet(set) => model.network_sets.push(NetworkSet {
            namespace: arrival.namespace_unless_cluster_scoped(default_namespace),
            cluster: arrival.owned_cluster(),
            spec: NetworkSetSpec::clone(set),
        }),
        Decoded::Policy(policy) => add_policy(model, arrival, policy, default_namespace),
        Decoded::Workload(spec) => {
            add_workload(model, arrival, spec, default_namespace, reported_as);
        }
        Decoded::Service(service) => {
            add_service(model, arrival, service, default_namespace);
            add_unread_object(model, arrival, default_namespace);
        }
        Decoded::Applier(_) | Decoded::Other => {
            add_unread_object(model, arrival, default_namespace);
        }
    }
}

/// Records a Service or the endpoints of one, for the rules that name a Service.
fn add_service(
    model: &mut Model,
    arrival: &Arrival,
    service: &ServiceObject,
    default_namespace: &str,
) {
    let (cluster, namespace) = (
        arrival.owned_cluster(),
        arrival.namespace(default_namespace),
    );
    match service {
        ServiceObject::Service {
            selects_pods,
            labels,
        } => model.services.push(Service {
            cluster,
            namespace,
            name: arrival.name(),
            selects_pods: *selects_pods,
            labels: labels.clone(),
        }),
        ServiceObject::Endpoints {
            service: Some(service),
            addresses,
            by_name,
        } => model.service_endpoints.push(ServiceEndpoints {
            cluster,
            namespace,
            // An Endpoints object serves the Service of its name, as it lands (a kustomize
            // prefix renames both).
            service: match arrival.object.kind {
                Kind::Service(ServiceKind::Endpoints) => arrival.name(),
                _ => service.clone(),
            },
            addresses: addresses.clone(),
            by_name: *by_name,
        }),
        ServiceObject::Endpoints { service: None, .. } => {}
    }
}

/// Why the API server or kubectl refuses the object as it lands: keys written twice, and
/// the name and namespace it has after kustomize and the controllers (the default namespace
/// is checked where it is given).
fn refusals(arrival: &Arrival) -> Vec<Problem> {
    let object = arrival.object;
    let mut problems = object.refused.clone();
    let invalid = |at: Option<Span>, message: String| Problem {
        kind: ProblemKind::Invalid,
        span: at.unwrap_or(object.span),
        message,
    };
    // kustomize renames a Namespace object to the namespace it sets; an Argo workflow's
    // workloads are checked by the workflow's name.
    let name = match object.kind {
        Kind::Namespace => arrival.final_name(),
        _ => object.object_name(),
    };
    if let Some(name) = name
        && let Some(message) = names::name_problem(object.kind, &object.written_kind, name)
    {
        // A name kustomize gave is not where the object writes one.
        let at = object
            .name_at
            .0
            .filter(|_| object.object_name() == Some(name));
        problems.push(invalid(at, format!("metadata.{message}")));
    }
    if !object.kind.is_cluster_scoped()
        && let Some(namespace) = arrival.explicit()
        && let Some(message) = names::namespace_problem(namespace)
    {
        let at = object
            .namespace_at
            .0
            .filter(|_| object.namespace.as_deref() == Some(namespace));
        problems.push(invalid(at, format!("metadata.{message}")));
    }
    problems
}

/// An object the API server refuses: it takes no part, not even by creating its namespace.
fn add_refused_object(
    model: &mut Model,
    arrival: &Arrival,
    problems: Vec<Problem>,
    default_namespace: &str,
) {
    let object = arrival.object;
    let namespace =
        (!object.kind.is_cluster_scoped()).then(|| arrival.namespace(default_namespace));
    let name = arrival.final_name().unwrap_or_default();
    let refused = RefusedObject {
        object: match &namespace {
            Some(ns) => format!("{} {ns}/{name}", object.written_kind),
            None => format!("{} {name}", object.written_kind),
        },
        cluster: arrival.owned_cluster(),
        namespace,
        file: arrival.location().file,
        problems,
    };
    // An object reached by two ways that land alike is one refusal.
    if model.refused_objects.last() != Some(&refused) {
        model.refused_objects.push(refused);
    }
}

/// Lists the object as not evaluated once for each reason: its kind, its engine's decoder,
/// the controllers that could not follow it, and a Config Sync NamespaceSelector.
fn list_unevaluated(
    model: &mut Model,
    arrival: &Arrival,
    namespace_selector: Option<&str>,
    default_namespace: &str,
) {
    let object = arrival.object;
    let selector_reason = namespace_selector.map(|selector| {
        format!(
            "Config Sync NamespaceSelector {selector}: the namespaces it selects are not followed"
        )
    });
    let engine_reason = match &object.decoded {
        Decoded::Policy(policy) => policy.not_evaluated.as_deref(),
        _ => None,
    };
    let reasons = object
        .kind
        .unevaluated_reason()
        .into_iter()
        .chain(engine_reason)
        .chain(arrival.reasons.iter().copied())
        .chain(selector_reason.as_deref());
    let placed_in_namespace = !object.kind.is_cluster_scoped() && namespace_selector.is_none();
    for reason in reasons {
        let unevaluated = UnevaluatedObject {
            name: arrival.name(),
            cluster: arrival.owned_cluster(),
            namespace: placed_in_namespace.then(|| arrival.namespace(default_namespace)),
            at: arrival.location(),
        };
        let listed = model
            .not_evaluated
            .entry((
                format!("{} ({})", object.written_kind, object.api_version),
                reason.to_string(),
            ))
            .or_default();
        // An object's ways come one after another; two that land alike are one place.
        if listed.last() != Some(&unevaluated) {
            listed.push(unevaluated);
        }
    }
}

fn add_namespace_object(model: &mut Model, arrival: &Arrival, labels: &Labels) {
    // kustomize renames a Namespace object to the namespace it sets.
    let Some(name) = arrival.forced().or(arrival.object.name.as_deref()) else {
        return;
    };
    let ns = note_namespace(model, arrival, name);
    ns.object.get_or_insert(arrival.location());
    if ns.suppression.is_none() {
        ns.suppression = arrival.suppression().map(Box::new);
    }
    ns.labels = labels.clone();
}

/// A policy of any engine: one shape, whatever its kind.
fn add_policy(
    model: &mut Model,
    arrival: &Arrival,
    policy: &DecodedPolicy,
    default_namespace: &str,
) {
    let namespace = if arrival.object.kind.is_cluster_scoped() {
        String::new()
    } else {
        let namespace = arrival.namespace(default_namespace);
        // A namespace the API server refuses is no namespace: the policy is refused with it.
        if names::namespace_problem(&namespace).is_none() {
            note_namespace(model, arrival, &namespace);
        }
        namespace
    };
    let engine_kind = match arrival.object.kind {
        Kind::Engine(kind) => Some(kind),
        _ => None,
    };
    model.policies.push(Policy {
        kind: arrival.object.written_kind.to_string(),
        name: arrival.name(),
        cluster: arrival.owned_cluster(),
        namespace,
        location: arrival.location(),
        engine_kind,
        specs: policy.specs.clone(),
        problems: policy.problems.clone(),
        rejected: policy.rejected,
        suppression: arrival.suppression().map(Box::new),
        transformed: arrival.transformed(),
    });
}

fn add_workload(
    model: &mut Model,
    arrival: &Arrival,
    spec: &Arc<WorkloadSpec>,
    default_namespace: &str,
    reported_as: Option<&Owner>,
) {
    let namespace = arrival.namespace(default_namespace);
    note_namespace(model, arrival, &namespace);
    let (kind, name) = match reported_as {
        Some(owner) => (owner.kind.clone(), owner.name.clone()),
        None => (arrival.object.written_kind.to_string(), arrival.name()),
    };
    // The pods of one controller are one workload, unless they differ (mid-rollout).
    if reported_as.is_some()
        && model.workloads.iter().any(|w| {
            w.kind == kind
                && w.name == name
                && w.namespace == namespace
                && w.cluster.as_deref() == arrival.cluster()
                && w.spec.pod_labels == spec.pod_labels
                && w.spec.host_network.is_some() == spec.host_network.is_some()
        })
    {
        return;
    }
    model.workloads.push(Workload {
        kind,
        name,
        cluster: arrival.owned_cluster(),
        namespace,
        location: arrival.location(),
        spec: Arc::clone(spec),
        suppression: arrival.suppression().map(Box::new),
    });
}

/// An object the analysis reads nothing of beyond where it lands: its suppression annotation
/// is stray, and a namespaced one with an explicit namespace tells us the namespace exists.
fn add_unread_object(model: &mut Model, arrival: &Arrival, default_namespace: &str) {
    if arrival.object.kind.is_cluster_scoped() {
        add_stray_suppression(model, arrival, None);
        return;
    }
    add_stray_suppression(model, arrival, Some(arrival.namespace(default_namespace)));
    if let Some(namespace) = arrival.explicit() {
        note_namespace(model, arrival, namespace);
    }
}

/// A suppression annotation on an object no finding can be about.
fn add_stray_suppression(model: &mut Model, arrival: &Arrival, namespace: Option<String>) {
    let Some(suppression) = arrival.suppression() else {
        return;
    };
    let (kind, name) = (&arrival.object.written_kind, arrival.name());
    let object = match &namespace {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    };
    model.stray_suppressions.push(StraySuppression {
        suppression,
        object,
        cluster: arrival.owned_cluster(),
        namespace,
    });
}

/// A cluster-scoped object whose way is not fully applied makes every namespace of its
/// cluster uncertain.
fn mark_cluster_wide_uncertainty(model: &mut Model) {
    for (cluster, u) in std::mem::take(&mut model.cluster_wide_uncertainty) {
        for (key, ns) in model.namespaces.iter_mut() {
            if key.cluster == cluster && !ns.uncertain.contains(&u) {
                ns.uncertain.push(u.clone());
            }
        }
    }
}

/// What is not applied to a cluster-scoped object makes every namespace of its cluster
/// uncertain.
fn note_cluster_wide_uncertainty(model: &mut Model, arrival: &Arrival) {
    // A cluster-wide policy may select any namespace of its cluster; a Namespace object
    // makes its own namespace uncertain, as any namespaced object does.
    let object = arrival.object;
    let cluster_wide = object.kind.is_cluster_scoped()
        && matches!(
            object.decoded,
            Decoded::Policy(_) | Decoded::NetworkSet(_) | Decoded::CidrGroup(_) | Decoded::Tier(_)
        );
    if cluster_wide {
        for u in arrival.uncertain() {
            model
                .cluster_wide_uncertainty
                .push((arrival.owned_cluster(), u));
        }
    }
}

/// The uncertainty of a copy that is not counted (the same object by another way, a copy
/// replaced or refused), on the namespace it would land in.
fn note_dropped_uncertainty(model: &mut Model, arrival: &Arrival, default_namespace: &str) {
    if arrival.is_certain() {
        return;
    }
    note_cluster_wide_uncertainty(model, arrival);
    if arrival.object.kind.is_cluster_scoped() {
        return;
    }
    let key = NamespaceKey {
        cluster: arrival.owned_cluster(),
        name: arrival.namespace(default_namespace),
    };
    if let Some(ns) = model.namespaces.get_mut(&key) {
        for u in arrival.uncertain() {
            if !ns.uncertain.contains(&u) {
                ns.uncertain.push(u);
            }
        }
    }
}

/// Notes that something lands in namespace `name`, and returns it.
fn note_namespace<'a>(model: &'a mut Model, arrival: &Arrival, name: &str) -> &'a mut Namespace {
    let key = NamespaceKey {
        cluster: arrival.owned_cluster(),
        name: name.to_string(),
    };
    let at = arrival.location();
    let ns = model.namespaces.entry(key).or_insert_with(|| Namespace {
        name: name.to_string(),
        object: None,
        first_manifest: at,
        set_by: None,
        labels: Labels::default(),
        suppression: None,
        uncertain: Vec::new(),
    });
    if ns.set_by.is_none() {
        ns.set_by = arrival.set_by();
    }
    for u in arrival.uncertain() {
        if !ns.uncertain.contains(&u) {
            ns.uncertain.push(u);
        }
    }
    if at < ns.first_manifest {
        ns.first_manifest = at;
    }
    ns
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint_text;
    use crate::source::load::{LoadedFile, is_kustomization, load_stream};
    use std::path::{Path, PathBuf};

    fn file(path: &str, text: &str) -> LoadedFile {
        let mut f = load_stream(path, text.as_bytes(), &crate::decode::object::keep);
        f.path = PathBuf::from(path);
        if is_kustomization(Path::new(path)) {
            f.kustomization = crate::source::yaml::parse_documents(text, 0)
                .unwrap()
                .into_iter()
                .next();
        }
        f
    }

    #[test]
    fn an_arrival_is_made_alike_by_index_and_in_order() {
        // The base lands by two overlays, one deleting one of its objects: that index is a
        // hole.
        let objects = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n\
                       apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n";
        let mut files = vec![
            file("base/kustomization.yaml", "resources: [objects.yaml]\n"),
            file("base/objects.yaml", objects),
            file(
                "overlay/drop.yaml",
                "$patch: delete\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
            ),
            file(
                "overlay/kustomization.yaml",
                "namespace: o\nresources: [../base]\npatchesStrategicMerge: [drop.yaml]\n",
            ),
            file(
                "overlay2/kustomization.yaml",
                "namespace: p\nresources: [../base]\n",
            ),
            file("plain.yaml", objects),
        ];
        let objects: Vec<Vec<Object>> = files
            .iter_mut()
            .map(crate::decode::object::file_objects)
            .collect();
        let resolution = crate::topology::resolve(
            &files,
            &objects,
            &[],
            &crate::topology::ClusterMap::default(),
        );
        let (standalone, refused, unfollowed) = (Way::default(), HashMap::new(), HashMap::new());
        let arrivals = Arrivals::new(&objects, &resolution, &standalone, &refused, &unfollowed);
        let made: Vec<Option<Arrival>> = arrivals.iter().collect();
        assert_eq!(made.len(), arrivals.len);
        let described: Vec<_> = made
            .iter()
            .map(|a| {
                a.as_ref()
                    .map(|a| (a.source.0, a.source.1, a.object.name.as_deref(), a.forced()))
            })
            .collect();
        assert_eq!(
            described,
            [
                Some((1, 0, Some("a"), Some("o"))),
                None,
                Some((1, 0, Some("a"), Some("p"))),
                Some((1, 1, Some("b"), Some("p"))),
                Some((5, 0, Some("a"), None)),
                Some((5, 1, Some("b"), None)),
            ]
        );
        for (i, arrival) in made.iter().enumerate() {
            if let Some(arrival) = arrival {
                let got = arrivals.get(i);
                assert!(std::ptr::eq(got.object, arrival.object) && got.source == arrival.source);
                assert!(std::ptr::eq(got.way, arrival.way));
            }
        }
        let kept = [true, true, false, true, false, true];
        let names = |counting| {
            arrivals
                .where_kept(&kept, counting)
                .map(|a| a.source)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(true), [(1, 0), (1, 1), (5, 1)]);
        assert_eq!(names(false), [(1, 0), (5, 0)]);
    }

    const IGNORE: &str =
        "annotations: {imds-lint.io/ignore: IMDS001, imds-lint.io/reason: 'reviewed'}";

    #[test]
    fn engine_policies_land_by_scope() {
        let model = lint_text(
            "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\nspec: {selector: all(), types: [Egress]}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: p, namespace: team}\nspec: {selector: all(), types: [Egress]}\n",
        )
        .model;
        let landed: Vec<(&str, &str)> = model
            .policies
            .iter()
            .map(|p| (p.kind_name(), p.namespace.as_str()))
            .collect();
        assert_eq!(
            landed,
            [
                ("GlobalNetworkPolicy", ""),
                ("Calico NetworkPolicy", "team")
            ]
        );
        let namespaces: Vec<&str> = model.namespaces.values().map(|n| n.name.as_str()).collect();
        assert_eq!(namespaces, ["team"], "a cluster-scoped policy creates none");
    }

    #[test]
    fn suppressions_on_unread_objects_are_stray() {
        let model = lint_text(&format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: web, {IGNORE}}}\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: r, {IGNORE}}}\n---\n\
             apiVersion: v1\nkind: Namespace\nmetadata: {{name: web, labels: {{team: a}}, {IGNORE}}}\n"
        ))
        .model;
        let stray: Vec<(&str, Option<&str>)> = model
            .stray_suppressions
            .iter()
            .map(|s| (s.object.as_str(), s.namespace.as_deref()))
            .collect();
        assert_eq!(
            stray,
            [("ConfigMap web/c", Some("web")), ("ClusterRole r", None)]
        );
        let web = model.namespaces.values().next().unwrap();
        assert!(web.object.is_some() && web.suppression.is_some());
        assert_eq!(web.labels.get("team").map(String::as_str), Some("a"));
    }

    #[test]
    fn the_last_copy_of_an_object_is_the_one_in_the_model() {
        let model = lint_text(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: web, labels: {team: a}}\n---\n\
             apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: web}\nspec: {podSelector: {}, policyTypes: [Egress]}\n---\n\
             apiVersion: v1\nkind: Namespace\nmetadata: {name: web, labels: {team: b}}\n---\n\
             apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: web}\nspec: {podSelector: {}, policyTypes: [Egress]}\n",
        )
        .model;
        let web = model.namespaces.values().next().unwrap();
        assert_eq!(web.labels.get("team").map(String::as_str), Some("b"));
        assert_eq!(web.object.map(|o| o.line), Some(10));
        let policies: Vec<usize> = model.policies.iter().map(|p| p.location.line).collect();
        assert_eq!(policies, [14]);
        let found: Vec<(String, usize, usize, bool, bool)> = model
            .duplicates
            .iter()
            .map(|d| {
                (
                    d.id.describe(),
                    d.first.line,
                    d.second.line,
                    d.refused.is_some(),
                    d.read,
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("Namespace web".into(), 1, 10, false, true),
                ("NetworkPolicy web/p".into(), 5, 14, false, true),
            ]
        );
    }

    #[test]
    fn identity_is_group_kind_namespace_and_name() {
        let model = lint_text(
            // Another API version of one group and kind is the same object; another group, or
            // no namespace against the default one, are told apart or not as a cluster does.
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\n\
             apiVersion: example.com/v2\nkind: Widget\nmetadata: {name: w, namespace: default}\n---\n\
             apiVersion: other.io/v1\nkind: Widget\nmetadata: {name: w}\n---\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata: {name: w}\n---\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: w-}\n---\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: w-}\n",
        )
        .model;
        let found: Vec<(String, String, bool)> = model
            .duplicates
            .iter()
            .map(|d| (d.id.group.clone(), d.id.describe(), d.read))
            .collect();
        assert_eq!(
            found,
            [("example.com".into(), "Widget default/w".into(), false)],
            "objects without a name have no identity to clash on"
        );
    }

    #[test]
    fn lists_have_the_room_their_objects_take() {
        let objects: Vec<String> = ["a", "b", "c"]
            .iter()
            .flat_map(|name| {
                [
                    format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: web}}\nspec: {{template: {{metadata: {{labels: {{app: {name}}}}}}}}}\n"),
                    format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: web}}\nspec: {{podSelector: {{}}, policyTypes: [Egress]}}\n"),
                    format!("apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: web}}\nspec: {{selector: {{app: {name}}}}}\n"),
                ]
            })
            .collect();
        let model = lint_text(&objects.join("---\n")).model;
        assert_eq!(model.workloads.len(), 3);
        assert_eq!(model.workloads.capacity(), 3);
        assert_eq!(model.policies.len(), 3);
        assert_eq!(model.policies.capacity(), 3);
        assert_eq!(model.services.len(), 3);
        assert_eq!(model.services.capacity(), 3);
    }

    #[test]
    fn unevaluated_kinds_are_listed_where_they_land() {
        let model = lint_text(
            "apiVersion: networking.k8s.io/v1beta1\nkind: NetworkPolicy\nmetadata: {name: old}\n---\n\
             apiVersion: example.com/v1\nkind: GlobalNetworkPolicy\nmetadata: {name: other}\n---\n\
             apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: h, namespace: apps}\n",
        )
        .model;
        let listed: Vec<(&str, Option<&str>)> = model
            .not_evaluated
            .iter()
            .flat_map(|((kind, _), objects)| {
                objects
                    .iter()
                    .map(move |o| (kind.as_str(), o.namespace.as_deref()))
            })
            .collect();
        assert_eq!(
            listed,
            [
                ("GlobalNetworkPolicy (example.com/v1)", None),
                ("HelmRelease (helm.toolkit.fluxcd.io/v2)", Some("apps")),
                ("NetworkPolicy (networking.k8s.io/v1beta1)", Some("default")),
            ]
        );
        assert!(model.policies.is_empty());
    }
}
