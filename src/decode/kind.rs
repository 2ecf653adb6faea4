//! What an object is, classified once from its `kind` and the API group of its `apiVersion`.
//! `KINDS` is the one table of the kinds the analysis reads: the tree filter, the decoder
//! dispatch, cluster scope and the not-evaluated listing all follow from it.

use super::gitops::{ApplierKind, ControllerKind};
use super::service::ServiceKind;
use super::spec::EngineKind;
use super::workload::WorkloadKind;

/// What an object is to the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Namespace,
    /// The native `networking.k8s.io/v1` NetworkPolicy.
    NetworkPolicy,
    /// A kind an engine decoder reads (Cilium, Calico, AdminNetworkPolicy).
    Engine(EngineKind),
    Workload(WorkloadKind),
    /// A Service or its endpoints, for the rules that name a Service.
    Service(ServiceKind),
    /// A GitOps controller object whose placement of other manifests is followed.
    Applier(ApplierKind),
    /// A GitOps controller object whose manifests are not followed.
    Controller(ControllerKind),
    /// Only the object's identity matters.
    Other {
        /// The object lives outside any namespace.
        cluster_scoped: bool,
        /// A policy kind (or API version of one) that is not evaluated: listed, never
        /// ignored silently.
        policy_like: bool,
    },
}

/// Which parts of an object's tree the analysis reads, beyond its identity (`apiVersion`,
/// `kind`, `metadata`), which every object keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    Identity,
    Whole,
    /// `spec` and everything under it.
    Spec,
    /// A workload's pod template: what [`WorkloadKind::template_reads`] names under its
    /// [`WorkloadKind::template_path`].
    PodTemplate(WorkloadKind),
}

impl Reads {
    /// Whether the node at `path` (keys from the document's root) is needed.
    fn keeps(self, path: &[&str]) -> bool {
        match self {
            Reads::Identity => false,
            Reads::Whole => true,
            Reads::Spec => path.first() == Some(&"spec"),
            Reads::PodTemplate(workload) => {
                let template = workload.template_path();
                if path.len() <= template.len() {
                    return template.starts_with(path);
                }
                let Some(in_template) = path.strip_prefix(template) else {
                    return false;
                };
                workload
                    .template_reads()
                    .iter()
                    .any(|p| p.starts_with(in_template) || in_template.starts_with(p))
            }
        }
    }
}

impl Kind {
    /// What the decoders read of an object of this kind.
    pub fn reads(self) -> Reads {
        match self {
            Kind::Namespace | Kind::NetworkPolicy | Kind::Engine(_) | Kind::Service(_) => {
                Reads::Whole
            }
            Kind::Workload(workload) => Reads::PodTemplate(workload),
            Kind::Applier(_) => Reads::Spec,
            Kind::Controller(_) | Kind::Other { .. } => Reads::Identity,
        }
    }

    /// Whether objects of this kind live outside any namespace: they neither carry nor create
    /// one.
    pub fn is_cluster_scoped(self) -> bool {
        match self {
            Kind::Namespace => true,
            Kind::Engine(engine) => matches!(
                engine,
                EngineKind::CiliumClusterwideNetworkPolicy
                    | EngineKind::CiliumCidrGroup
                    | EngineKind::CalicoGlobalNetworkPolicy
                    | EngineKind::CalicoGlobalNetworkSet
                    | EngineKind::AdminNetworkPolicy
                    | EngineKind::BaselineAdminNetworkPolicy
            ),
            Kind::Other { cluster_scoped, .. } => cluster_scoped,
            Kind::NetworkPolicy
            | Kind::Workload(_)
            | Kind::Service(_)
            | Kind::Applier(_)
            | Kind::Controller(_) => false,
        }
    }

    /// Whether an object of this kind is a workload when it has a pod template
    /// (`spec.template.spec.containers`): any namespaced kind the table does not read.
    pub fn may_be_workload(self) -> bool {
        matches!(
            self,
            Kind::Other {
                cluster_scoped: false,
                policy_like: false
            }
        )
    }

    /// Why objects of this kind are listed as not evaluated, judged by the kind alone.
    pub fn unevaluated_reason(self) -> Option<&'static str> {
        match self {
            Kind::Other {
                policy_like: true, ..
            } => Some("this policy kind or API version is not evaluated"),
            Kind::Controller(controller) => Some(controller.unevaluated_reason()),
            _ => None,
        }
    }
}

/// Which `apiVersion`s a row of `KINDS` matches.
#[derive(Debug, Clone, Copy)]
enum Api {
    /// Any: core kinds are told by name alone.
    Any,
    /// Exactly this `apiVersion`.
    Exactly(&'static str),
    /// One of these API groups (the part before `/`), any version.
    Group(&'static [&'static str]),
    /// This API group followed by `/` and a version: a bare group names no Flux or Argo CD
    /// controller object.
    GroupWithVersion(&'static str),
}

impl Api {
    fn matches(self, api_version: &str) -> bool {
        match self {
            Api::Any => true,
            Api::Exactly(wanted) => api_version == wanted,
            Api::Group(groups) => {
                groups.contains(&api_version.split('/').next().unwrap_or_default())
            }
            Api::GroupWithVersion(group) => api_version
                .strip_prefix(group)
                .is_some_and(|version| version.starts_with('/')),
        }
    }
}

/// One kind as written, in the API versions it is read in.
struct Row {
    name: &'static str,
    api: Api,
    kind: Kind,
}

const fn row(name: &'static str, api: Api, kind: Kind) -> Row {
    Row { name, api, kind }
}

/// A kind whose objects the analysis only counts as cluster-scoped.
const fn cluster_scoped(name: &'static str) -> Row {
    let kind = Kind::Other {
        cluster_scoped: true,
        policy_like: false,
    };
    row(name, Api::Any, kind)
}

const CILIUM: Api = Api::Group(&["cilium.io"]);
const CALICO: Api = Api::Group(&["projectcalico.org", "crd.projectcalico.org"]);
const ADMIN: Api = Api::Group(&["policy.networking.k8s.io"]);
const ARGO: Api = Api::Group(&["argoproj.io"]);
const KRUISE: Api = Api::Group(&["apps.kruise.io"]);

/// The kinds the analysis reads, and the cluster-scoped ones it only places. A kind whose
/// `apiVersion` matches none of its rows is [`Kind::Other`].
const KINDS: &[Row] = &[
    row("Namespace", Api::Any, Kind::Namespace),
    row(
        "NetworkPolicy",
        Api::Exactly("networking.k8s.io/v1"),
        Kind::NetworkPolicy,
    ),
    row(
        "CiliumNetworkPolicy",
        CILIUM,
        Kind::Engine(EngineKind::CiliumNetworkPolicy),
    ),
    row(
        "CiliumClusterwideNetworkPolicy",
        CILIUM,
        Kind::Engine(EngineKind::CiliumClusterwideNetworkPolicy),
    ),
    row(
        "CiliumCIDRGroup",
        CILIUM,
        Kind::Engine(EngineKind::CiliumCidrGroup),
    ),
    row(
        "NetworkPolicy",
        CALICO,
        Kind::Engine(EngineKind::CalicoNetworkPolicy),
    ),
    row(
        "GlobalNetworkPolicy",
        CALICO,
        Kind::Engine(EngineKind::CalicoGlobalNetworkPolicy),
    ),
    row("Tier", CALICO, Kind::Engine(EngineKind::CalicoTier)),
    row(
        "NetworkSet",
        CALICO,
        Kind::Engine(EngineKind::CalicoNetworkSet),
    ),
    row(
        "GlobalNetworkSet",
        CALICO,
        Kind::Engine(EngineKind::CalicoGlobalNetworkSet),
    ),
    row(
        "AdminNetworkPolicy",
        ADMIN,
        Kind::Engine(EngineKind::AdminNetworkPolicy),
    ),
    row(
        "BaselineAdminNetworkPolicy",
        ADMIN,
        Kind::Engine(EngineKind::BaselineAdminNetworkPolicy),
    ),
    row(
        "Service",
        Api::Exactly("v1"),
        Kind::Service(ServiceKind::Service),
    ),
    row(
        "Endpoints",
        Api::Exactly("v1"),
        Kind::Service(ServiceKind::Endpoints),
    ),
    row(
        "EndpointSlice",
        Api::Group(&["discovery.k8s.io"]),
        Kind::Service(ServiceKind::EndpointSlice),
    ),
    row("Pod", Api::Any, Kind::Workload(WorkloadKind::Pod)),
    row(
        "Deployment",
        Api::Any,
        Kind::Workload(WorkloadKind::Deployment),
    ),
    row(
        "StatefulSet",
        Api::Any,
        Kind::Workload(WorkloadKind::StatefulSet),
    ),
    row(
        "DaemonSet",
        Api::Any,
        Kind::Workload(WorkloadKind::DaemonSet),
    ),
    row(
        "ReplicaSet",
        Api::Any,
        Kind::Workload(WorkloadKind::ReplicaSet),
    ),
    row(
        "ReplicationController",
        Api::Any,
        Kind::Workload(WorkloadKind::ReplicationController),
    ),
    row("Job", Api::Any, Kind::Workload(WorkloadKind::Job)),
    row("CronJob", Api::Any, Kind::Workload(WorkloadKind::CronJob)),
    row("Rollout", ARGO, Kind::Workload(WorkloadKind::Rollout)),
    row("Workflow", ARGO, Kind::Workload(WorkloadKind::Workflow)),
    row(
        "WorkflowTemplate",
        ARGO,
        Kind::Workload(WorkloadKind::Workflow),
    ),
    row(
        "CronWorkflow",
        ARGO,
        Kind::Workload(WorkloadKind::CronWorkflow),
    ),
    row("CloneSet", KRUISE, Kind::Workload(WorkloadKind::CloneSet)),
    row(
        "ScaledJob",
        Api::Group(&["keda.sh"]),
        Kind::Workload(WorkloadKind::ScaledJob),
    ),
    row(
        "Service",
        Api::Group(&["serving.knative.dev"]),
        Kind::Workload(WorkloadKind::KnativeService),
    ),
    row(
        "Kustomization",
        Api::GroupWithVersion("kustomize.toolkit.fluxcd.io"),
        Kind::Applier(ApplierKind::FluxKustomization),
    ),
    row(
        "Application",
        Api::GroupWithVersion("argoproj.io"),
        Kind::Applier(ApplierKind::ArgoApplication),
    ),
    row(
        "HelmRelease",
        Api::Group(&["helm.toolkit.fluxcd.io"]),
        Kind::Controller(ControllerKind::FluxHelmRelease),
    ),
    row(
        "OCIRepository",
        Api::Group(&["source.toolkit.fluxcd.io"]),
        Kind::Controller(ControllerKind::FluxOciRepository),
    ),
    row(
        "ApplicationSet",
        Api::Group(&["argoproj.io"]),
        Kind::Controller(ControllerKind::ArgoApplicationSet),
    ),
    cluster_scoped("Node"),
    cluster_scoped("PersistentVolume"),
    cluster_scoped("StorageClass"),
    cluster_scoped("CustomResourceDefinition"),
    cluster_scoped("ClusterRole"),
    cluster_scoped("ClusterRoleBinding"),
    cluster_scoped("PriorityClass"),
    cluster_scoped("IngressClass"),
    cluster_scoped("RuntimeClass"),
    cluster_scoped("ValidatingWebhookConfiguration"),
    cluster_scoped("MutatingWebhookConfiguration"),
    cluster_scoped("ValidatingAdmissionPolicy"),
    cluster_scoped("ValidatingAdmissionPolicyBinding"),
    cluster_scoped("MutatingAdmissionPolicy"),
    cluster_scoped("MutatingAdmissionPolicyBinding"),
    cluster_scoped("APIService"),
    cluster_scoped("CSIDriver"),
    cluster_scoped("CSINode"),
    cluster_scoped("VolumeAttachment"),
    cluster_scoped("CertificateSigningRequest"),
    cluster_scoped("FlowSchema"),
    cluster_scoped("PriorityLevelConfiguration"),
    cluster_scoped("PodSecurityPolicy"),
    cluster_scoped("ClusterIssuer"),
    cluster_scoped("ClusterSecretStore"),
    cluster_scoped("ClusterExternalSecret"),
    cluster_scoped("ClusterPolicy"),
    cluster_scoped("ClusterClaim"),
    cluster_scoped("IPAddressPool"),
    cluster_scoped("GatewayClass"),
];

fn rows_named(name: &str) -> impl Iterator<Item = &'static Row> + Clone + '_ {
    KINDS.iter().filter(move |row| row.name == name)
}

/// Classifies an object by its `kind` and `apiVersion` as written.
pub fn classify(kind: &str, api_version: &str) -> Kind {
    let named = rows_named(kind);
    if let Some(row) = named.clone().find(|row| row.api.matches(api_version)) {
        return row.kind;
    }
    // A known kind in another API version keeps the scope of its name.
    Kind::Other {
        cluster_scoped: named.into_iter().any(|row| row.kind.is_cluster_scoped()),
        policy_like: kind.contains("NetworkPolicy"),
    }
}

/// Whether a document of this kind is a list whose `items` are objects of their own.
pub fn is_list(kind: &str, has_items: bool) -> bool {
    kind == "List" || kind.ends_with("List") && has_items
}

/// The tree filter by kind alone (the `apiVersion` may come later in the document): whether
/// some object of this kind needs the node at `path`. Identity is kept for every object, and
/// a list's items whole.
pub fn keeps(kind: &str, path: &[&str]) -> bool {
    matches!(path.first(), Some(&"apiVersion" | &"kind" | &"metadata"))
        || kind.ends_with("List")
        || rows_named(kind).any(|row| row.kind.reads().keeps(path))
        || may_be_workload(kind) && Reads::PodTemplate(WorkloadKind::Template).keeps(path)
}

/// Whether some `apiVersion` makes an object of this kind [`Kind::may_be_workload`]: no row
/// of its name matches every version, and none is cluster-scoped.
fn may_be_workload(kind: &str) -> bool {
    rows_named(kind).all(|row| !matches!(row.api, Api::Any) && !row.kind.is_cluster_scoped())
        && !kind.contains("NetworkPolicy")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Decoded;
    use crate::decode::object::{file_objects, keep};
    use crate::source::load::load_stream;

    #[test]
    fn api_group_tells_kinds_of_one_name_apart() {
        assert_eq!(
            classify("NetworkPolicy", "networking.k8s.io/v1"),
            Kind::NetworkPolicy
        );
        for calico in ["crd.projectcalico.org/v1", "projectcalico.org/v3"] {
            assert_eq!(
                classify("NetworkPolicy", calico),
                Kind::Engine(EngineKind::CalicoNetworkPolicy)
            );
        }
        let unevaluated = Kind::Other {
            cluster_scoped: false,
            policy_like: true,
        };
        for other in ["networking.k8s.io/v1beta1", "extensions/v1beta1", ""] {
            assert_eq!(classify("NetworkPolicy", other), unevaluated);
        }
        assert_eq!(
            classify("CiliumNetworkPolicy", "cilium.io/v2"),
            Kind::Engine(EngineKind::CiliumNetworkPolicy)
        );
        assert_eq!(
            classify("CiliumNetworkPolicy", "example.com/v1"),
            unevaluated
        );
        assert_eq!(
            classify("AdminNetworkPolicy", "policy.networking.k8s.io/v1alpha1"),
            Kind::Engine(EngineKind::AdminNetworkPolicy)
        );
        assert_eq!(
            classify("Tier", "crd.projectcalico.org/v1"),
            Kind::Engine(EngineKind::CalicoTier)
        );
    }

    #[test]
    fn a_known_name_in_another_group_keeps_its_scope() {
        assert_eq!(
            classify("GlobalNetworkPolicy", "example.com/v1"),
            Kind::Other {
                cluster_scoped: true,
                policy_like: true
            }
        );
        assert_eq!(
            classify("CiliumCIDRGroup", "example.com/v1"),
            Kind::Other {
                cluster_scoped: true,
                policy_like: false
            }
        );
        assert_eq!(
            classify("Tier", "example.com/v1"),
            Kind::Other {
                cluster_scoped: false,
                policy_like: false
            }
        );
    }

    #[test]
    fn core_kinds_are_told_by_name() {
        assert_eq!(classify("Namespace", "v1"), Kind::Namespace);
        assert_eq!(classify("Namespace", ""), Kind::Namespace);
        assert_eq!(
            classify("CronJob", "batch/v1"),
            Kind::Workload(WorkloadKind::CronJob)
        );
        assert_eq!(
            classify("ClusterRole", "rbac.authorization.k8s.io/v1"),
            Kind::Other {
                cluster_scoped: true,
                policy_like: false
            }
        );
        assert!(classify("Namespace", "v1").is_cluster_scoped());
        assert!(!classify("Deployment", "apps/v1").is_cluster_scoped());
    }

    #[test]
    fn unknown_kinds_are_other() {
        for (kind, api_version) in [("ConfigMap", "v1"), ("Widget", "example.com/v1"), ("", "")] {
            assert_eq!(
                classify(kind, api_version),
                Kind::Other {
                    cluster_scoped: false,
                    policy_like: false
                }
            );
        }
        assert_eq!(
            classify("FancyNetworkPolicy", "example.com/v1").unevaluated_reason(),
            Some("this policy kind or API version is not evaluated")
        );
    }

    #[test]
    fn other_controllers_are_workloads_in_their_group() {
        let workload = |kind, api| match classify(kind, api) {
            Kind::Workload(w) => Some(w),
            _ => None,
        };
        assert_eq!(
            workload("Service", "serving.knative.dev/v1"),
            Some(WorkloadKind::KnativeService)
        );
        assert_eq!(workload("Service", "v1"), None);
        assert_eq!(
            classify("Service", "v1"),
            Kind::Service(ServiceKind::Service)
        );
        assert_eq!(
            workload("Rollout", "argoproj.io/v1alpha1"),
            Some(WorkloadKind::Rollout)
        );
        assert_eq!(
            workload("WorkflowTemplate", "argoproj.io/v1alpha1"),
            Some(WorkloadKind::Workflow)
        );
        assert_eq!(
            workload("StatefulSet", "apps.kruise.io/v1beta1"),
            Some(WorkloadKind::StatefulSet)
        );
        assert_eq!(
            workload("ScaledJob", "keda.sh/v1alpha1"),
            Some(WorkloadKind::ScaledJob)
        );
        // Cluster-scoped and policy kinds are never workloads by shape.
        assert!(!classify("ClusterRole", "rbac.authorization.k8s.io/v1").may_be_workload());
        assert!(!classify("FancyNetworkPolicy", "example.com/v1").may_be_workload());
        assert!(keeps(
            "TaskRunner",
            &["spec", "template", "spec", "containers"]
        ));
        assert!(!keeps(
            "ClusterRole",
            &["spec", "template", "spec", "containers"]
        ));
        assert!(!keeps(
            "Deployment",
            &["spec", "template", "spec", "containers"]
        ));
    }

    #[test]
    fn gitops_controllers_need_their_group() {
        assert_eq!(
            classify("Kustomization", "kustomize.toolkit.fluxcd.io/v1"),
            Kind::Applier(ApplierKind::FluxKustomization)
        );
        // kustomize's own kustomization.yaml is not a controller object.
        assert_eq!(
            classify("Kustomization", "kustomize.config.k8s.io/v1beta1").reads(),
            Reads::Identity
        );
        assert_eq!(
            classify("Kustomization", "kustomize.toolkit.fluxcd.io").reads(),
            Reads::Identity
        );
        assert_eq!(
            classify("Application", "argoproj.io/v1alpha1"),
            Kind::Applier(ApplierKind::ArgoApplication)
        );
        let set = classify("ApplicationSet", "argoproj.io/v1alpha1");
        assert_eq!(set, Kind::Controller(ControllerKind::ArgoApplicationSet));
        assert!(set.unevaluated_reason().is_some());
        assert_eq!(
            classify("HelmRelease", "example.com/v1").unevaluated_reason(),
            None
        );
    }

    #[test]
    fn the_table_is_consistent() {
        for (i, a) in KINDS.iter().enumerate() {
            // A name that no row reads keeps its scope from the table alone.
            if let Kind::Other { policy_like, .. } = a.kind {
                assert!(
                    !policy_like && !a.name.contains("NetworkPolicy"),
                    "{}",
                    a.name
                );
            }
            for b in &KINDS[i + 1..] {
                assert!(
                    a.name != b.name || !matches!((a.api, b.api), (Api::Any, _) | (_, Api::Any)),
                    "{} matches twice",
                    a.name
                );
            }
        }
    }

    /// A document with something under every path any decoder reads, and more.
    fn document(kind: &str, api_version: &str) -> String {
        let template = "{metadata: {labels: {app: a}, annotations: {x: y}}, \
                        spec: {hostNetwork: true, serviceAccountName: sa, serviceAccount: old, \
                        containers: [{name: c, image: i}]}}";
        format!(
            "apiVersion: {api_version}\nkind: {kind}\n\
             metadata: {{name: n, namespace: ns, labels: {{team: a}}}}\n\
             spec:\n  template: {template}\n  jobTemplate: {{spec: {{template: {template}}}}}\n  \
             hostNetwork: true\n  serviceAccountName: pod-sa\n  replicas: 3\n  \
             podSelector: {{}}\n  policyTypes: [Egress]\n  egress: [{{}}]\n  \
             endpointSelector: {{}}\n  selector: all()\n  order: 10\n  nets: [10.0.0.0/8]\n  \
             externalCIDRs: [169.254.169.254/32]\n  priority: 5\n  subject: {{namespaces: {{}}}}\n  \
             path: ./apps\n  targetNamespace: web\n  \
             sourceRef: {{kind: GitRepository, name: flux-system}}\n  \
             source: {{repoURL: 'https://git.example/r', path: apps}}\n  \
             destination: {{server: 'https://kubernetes.default.svc', namespace: web}}\n\
             data: {{big: [1, 2, 3]}}\n"
        )
    }

    /// The object of a document and the tree kept for it, loaded with `filter`.
    fn load(text: &str, filter: &crate::source::yaml::Keep) -> (Decoded, usize) {
        let mut file = load_stream("t.yaml", text.as_bytes(), filter);
        assert!(file.errors.is_empty(), "{:?}", file.errors);
        let nodes = file.trees.iter().map(count).sum();
        let object = file_objects(&mut file).remove(0);
        (object.decoded, nodes)
    }

    fn count(node: &crate::source::yaml::Node) -> usize {
        let mut stack = vec![node];
        let mut nodes = 0;
        while let Some(node) = stack.pop() {
            nodes += 1;
            if let Some(map) = node.as_map() {
                stack.extend(map.iter().flat_map(|(k, v)| [k, v]));
            } else if let Some(seq) = node.as_seq() {
                stack.extend(seq);
            }
        }
        nodes
    }

    #[test]
    fn the_tree_filter_keeps_exactly_what_the_decoders_read() {
        for row in KINDS {
            let api_version = match row.api {
                Api::Any => "v1",
                Api::Exactly(api_version) => api_version,
                Api::Group(groups) => &format!("{}/v1", groups[0]),
                Api::GroupWithVersion(group) => &format!("{group}/v1"),
            };
            let text = document(row.name, api_version);
            let (filtered, kept) = load(&text, &keep);
            let (whole, all) = load(&text, &|_, _| true);
            assert_eq!(filtered, whole, "{}", row.name);
            // The filter knows the kind's name only: a name one API group reads whole
            // (Service in v1) is kept whole in every group.
            assert_eq!(
                kept == all,
                rows_named(row.name).any(|r| r.kind.reads() == Reads::Whole),
                "{} keeps {kept} of {all} nodes",
                row.name
            );
            assert_eq!(
                matches!(filtered, Decoded::Other),
                row.kind.reads() == Reads::Identity,
                "{}",
                row.name
            );
        }
    }
}
