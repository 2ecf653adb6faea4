//! Stage 2: what each document is and what the analysis reads of it. An object's [`Kind`] is
//! classified once, here; one folder per policy engine decodes its kinds into the one policy
//! shape of [`spec`], over the shared [`toolkit`] (typed decoding with positions) and
//! [`selector`] (label selectors).

pub mod admin;
pub mod calico;
pub mod cilium;
pub mod gitops;
pub mod kind;
pub mod labelsets;
pub mod native;
pub mod object;
pub mod selector;
pub mod service;
pub mod spec;
pub mod toolkit;
pub mod workload;

use crate::source::yaml::Node;
use kind::Kind;
use native::decode_network_policy;
use object::Object;
use spec::{DecodedPolicy, EngineKind, NetworkSetSpec, TierSpec};
use std::collections::BTreeMap;
use toolkit::string_map;
use workload::{WorkloadSpec, decode_workload};

/// What the analysis reads of one object, decoded from its tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A policy of any engine (native NetworkPolicy, Cilium, Calico, AdminNetworkPolicy),
    /// in the one shape every engine decodes into.
    Policy(DecodedPolicy),
    Tier(TierSpec),
    NetworkSet(NetworkSetSpec),
    /// A CiliumCIDRGroup: addresses `toCIDRSet` entries refer to.
    CidrGroup(NetworkSetSpec),
    Workload(WorkloadSpec),
    Namespace {
        labels: BTreeMap<String, String>,
    },
    /// A Service, Endpoints or EndpointSlice.
    Service(service::ServiceObject),
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

/// Decodes an object by its kind; `body` is its tree, kept where the kind reads more than
/// its identity.
fn decode_object(object: &Object, body: Option<Node>) -> Decoded {
    let Some(body) = body else {
        return Decoded::Other;
    };
    match object.kind {
        Kind::Namespace => Decoded::Namespace {
            labels: body
                .get("metadata")
                .map(|m| string_map(m.get("labels")))
                .unwrap_or_default(),
        },
        Kind::NetworkPolicy => Decoded::Policy(decode_network_policy(&body)),
        Kind::Engine(engine) => decode_engine(engine, &body),
        Kind::Workload(workload) => Decoded::Workload(decode_workload(workload, &body)),
        Kind::Service(kind) => {
            Decoded::Service(service::decode(kind, &body, object.name.as_deref()))
        }
        Kind::Applier(applier) => Decoded::Applier(gitops::decode(applier, &body)),
        Kind::Controller(_) | Kind::Other { .. } => Decoded::Other,
    }
}

fn decode_engine(kind: EngineKind, body: &Node) -> Decoded {
    match kind {
        EngineKind::CiliumNetworkPolicy => Decoded::Policy(cilium::decode(body, false)),
        EngineKind::CiliumClusterwideNetworkPolicy => Decoded::Policy(cilium::decode(body, true)),
        EngineKind::CalicoNetworkPolicy => Decoded::Policy(calico::decode(body, false)),
        EngineKind::CalicoGlobalNetworkPolicy => Decoded::Policy(calico::decode(body, true)),
        EngineKind::CalicoTier => Decoded::Tier(calico::decode_tier(body)),
        EngineKind::CalicoNetworkSet | EngineKind::CalicoGlobalNetworkSet => {
            Decoded::NetworkSet(calico::decode_network_set(body))
        }
        EngineKind::CiliumCidrGroup => Decoded::CidrGroup(cilium::decode_cidr_group(body)),
        EngineKind::AdminNetworkPolicy => Decoded::Policy(admin::decode(body, false)),
        EngineKind::BaselineAdminNetworkPolicy => Decoded::Policy(admin::decode(body, true)),
    }
}
