//! Stage 2: what each document is and what the analysis reads of it. An object's [`Kind`] is
//! classified once, here; one folder per policy engine decodes its kinds into the one policy
//! shape of [`spec`], over the shared [`toolkit`] (typed decoding with positions) and
//! [`selector`] (label selectors).

pub mod admin;
pub mod calico;
pub mod cilium;
pub mod gitops;
pub mod native;
pub mod object;
pub mod selector;
pub mod spec;
pub mod toolkit;
pub mod workload;

use crate::source::yaml::Node;
use native::decode_network_policy;
use object::{Object, WORKLOAD_KINDS};
use spec::{DecodedPolicy, EngineKind, NetworkSetSpec, TierSpec, engine_kind};
use std::collections::BTreeMap;
use toolkit::string_map;
use workload::{WorkloadSpec, decode_workload};

/// What the analysis reads of one object, decoded from its tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A native `networking.k8s.io/v1` NetworkPolicy.
    Policy(DecodedPolicy),
    /// A Cilium, Calico or AdminNetworkPolicy policy.
    Engine(DecodedPolicy),
    Tier(TierSpec),
    NetworkSet(NetworkSetSpec),
    /// A CiliumCIDRGroup: addresses `toCIDRSet` entries refer to.
    CidrGroup(NetworkSetSpec),
    Workload(WorkloadSpec),
    Namespace {
        labels: BTreeMap<String, String>,
    },
    /// A Flux Kustomization or Argo CD Application: where it builds manifests from and to.
    Applier(gitops::Applier),
    /// Only the object's identity matters.
    Other,
}

/// Decodes the objects of one file and drops their trees, so that a whole repository never
/// holds more than a few trees at once. `bodies` is parallel to `objects`.
fn decode_objects(objects: &mut [Object], bodies: Vec<Option<Node>>) {
    for (object, body) in objects.iter_mut().zip(bodies) {
        object.decoded = decode_object(object, body);
    }
}

fn decode_object(object: &Object, body: Option<Node>) -> Decoded {
    match body {
        None => Decoded::Other,
        Some(body) if object.kind == "Namespace" => Decoded::Namespace {
            labels: body
                .get("metadata")
                .map(|m| string_map(m.get("labels")))
                .unwrap_or_default(),
        },
        Some(body)
            if object.kind == "NetworkPolicy" && object.api_version == "networking.k8s.io/v1" =>
        {
            Decoded::Policy(decode_network_policy(&body))
        }
        Some(body) => match engine_kind(&object.kind, &object.api_version) {
            Some(EngineKind::CiliumNetworkPolicy) => Decoded::Engine(cilium::decode(&body, false)),
            Some(EngineKind::CiliumClusterwideNetworkPolicy) => {
                Decoded::Engine(cilium::decode(&body, true))
            }
            Some(EngineKind::CalicoNetworkPolicy) => Decoded::Engine(calico::decode(&body, false)),
            Some(EngineKind::CalicoGlobalNetworkPolicy) => {
                Decoded::Engine(calico::decode(&body, true))
            }
            Some(EngineKind::CalicoTier) => Decoded::Tier(calico::decode_tier(&body)),
            Some(EngineKind::CalicoNetworkSet | EngineKind::CalicoGlobalNetworkSet) => {
                Decoded::NetworkSet(calico::decode_network_set(&body))
            }
            Some(EngineKind::CiliumCidrGroup) => {
                Decoded::CidrGroup(cilium::decode_cidr_group(&body))
            }
            Some(EngineKind::AdminNetworkPolicy) => Decoded::Engine(admin::decode(&body, false)),
            Some(EngineKind::BaselineAdminNetworkPolicy) => {
                Decoded::Engine(admin::decode(&body, true))
            }
            None => decode_other(object, body),
        },
    }
}

fn decode_other(object: &Object, body: Node) -> Decoded {
    if WORKLOAD_KINDS.contains(&object.kind.as_str()) {
        Decoded::Workload(decode_workload(&object.kind, &body))
    } else {
        gitops::decode(object, &body).map_or(Decoded::Other, Decoded::Applier)
    }
}

/// Policy-like kinds imds-lint does not evaluate (another CNI's, an unknown API version of a
/// known kind), listed so they are never ignored silently.
fn is_unevaluated_policy(object: &Object) -> bool {
    let kind = object.kind.as_str();
    kind.contains("NetworkPolicy")
        && !(kind == "NetworkPolicy" && object.api_version == "networking.k8s.io/v1")
        && engine_kind(kind, &object.api_version).is_none()
}

/// Why an object is not evaluated, judged by its kind alone.
pub fn unevaluated_reason(object: &Object) -> Option<&'static str> {
    if is_unevaluated_policy(object) {
        return Some("this policy kind or API version is not evaluated");
    }
    gitops::unevaluated_kind(object)
}

/// Kinds that live outside any namespace: they neither carry nor create one.
pub const CLUSTER_SCOPED_KINDS: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "StorageClass",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "PriorityClass",
    "IngressClass",
    "RuntimeClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "APIService",
    "CSIDriver",
    "CSINode",
    "VolumeAttachment",
    "CertificateSigningRequest",
    "FlowSchema",
    "PriorityLevelConfiguration",
    "PodSecurityPolicy",
    "ClusterIssuer",
    "ClusterSecretStore",
    "ClusterExternalSecret",
    "ClusterPolicy",
    "ClusterClaim",
    "CiliumClusterwideNetworkPolicy",
    "GlobalNetworkPolicy",
    "GlobalNetworkSet",
    "CiliumCIDRGroup",
    "AdminNetworkPolicy",
    "BaselineAdminNetworkPolicy",
    "IPAddressPool",
    "GatewayClass",
];
