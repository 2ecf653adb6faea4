//! Stage 2: what each document is and what the analysis reads of it. An object's [`Kind`] is
//! classified once, here; one folder per policy engine decodes its kinds into the one policy
//! shape of [`spec`], over the shared [`toolkit`] (typed decoding with positions) and
//! [`selector`] (label selectors).

pub mod admin;
pub mod calico;
pub mod cilium;
pub mod gitops;
pub mod kind;
pub mod labels;
pub mod labelsets;
pub mod names;
pub mod native;
pub mod object;
pub mod selector;
pub mod service;
pub mod spec;
pub mod toolkit;
pub mod workload;

use crate::source::yaml::Node;
use kind::Kind;
use labels::Labels;
use native::decode_network_policy;
use object::Object;
use spec::{DecodedPolicy, EngineKind, NetworkSetSpec, TierSpec};
use std::sync::Arc;
use toolkit::string_map;
use workload::{WorkloadKind, WorkloadSpec, decode_workload, decode_workloads, has_pod_template};

/// What the analysis reads of one object, decoded from its tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A policy of any engine (native NetworkPolicy, Cilium, Calico, AdminNetworkPolicy),
    /// in the one shape every engine decodes into.
    ///
    /// The larger variants are boxed: every document has an object, most of them small.
    Policy(Box<DecodedPolicy>),
    Tier(TierSpec),
    NetworkSet(Box<NetworkSetSpec>),
    /// A CiliumCIDRGroup: addresses `toCIDRSet` entries refer to.
    CidrGroup(Box<NetworkSetSpec>),
    /// Shared with the model's workload, which needs it after the object is dropped.
    Workload(Arc<WorkloadSpec>),
    Namespace {
        labels: Labels,
    },
    /// A Service, Endpoints or EndpointSlice.
    Service(Box<service::ServiceObject>),
    /// A Flux Kustomization or Argo CD Application: where it builds manifests from and to.
    Applier(Box<gitops::Applier>),
    /// Only the object's identity matters.
    Other,
}

/// Decodes the objects of one file and drops their trees, so that a whole repository never
/// holds more than a few trees at once. `bodies` is parallel to `objects`. An Argo workflow
/// becomes one object for each of its templates that runs pods, named `workflow/template`
/// and placed at the template.
fn decode_objects(objects: Vec<Object>, bodies: Vec<Option<Node>>) -> Vec<Object> {
    let mut out = Vec::with_capacity(objects.len());
    for (mut object, body) in objects.into_iter().zip(bodies) {
        let (Kind::Workload(kind), Some(body)) = (object.kind, &body) else {
            object.decoded = decode_object(&object, body);
            out.push(object);
            continue;
        };
        let mut pods = decode_workloads(kind, body).into_iter().peekable();
        while let Some((template, spec)) = pods.next() {
            let mut one = if pods.peek().is_some() {
                object.clone()
            } else {
                std::mem::replace(&mut object, placeholder())
            };
            if let Some(template) = template {
                one.name = Some(compact_str::format_compact!(
                    "{}/{}",
                    one.name.as_deref().unwrap_or_default(),
                    template.template
                ));
                one.span = template.at;
                one.template = Some(template.template);
            }
            one.decoded = Decoded::Workload(Arc::new(spec));
            out.push(one);
        }
    }
    out
}

/// An object to move another out of.
fn placeholder() -> Object {
    Object {
        kind: Kind::Namespace,
        written_kind: Default::default(),
        api_version: Default::default(),
        name: None,
        namespace: None,
        namespace_selector: None,
        span: Default::default(),
        decoded: Decoded::Other,
        suppression: None,
        name_at: Default::default(),
        namespace_at: Default::default(),
        refused: Vec::new(),
        template: None,
        controller: None,
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
        Kind::NetworkPolicy => Decoded::Policy(Box::new(decode_network_policy(&body))),
        Kind::Engine(engine) => decode_engine(engine, &body),
        Kind::Workload(workload) => Decoded::Workload(Arc::new(decode_workload(workload, &body))),
        Kind::Service(kind) => Decoded::Service(Box::new(service::decode(
            kind,
            &body,
            object.name.as_deref(),
        ))),
        Kind::Applier(applier) => Decoded::Applier(Box::new(gitops::decode(applier, &body))),
        kind if kind.may_be_workload() && has_pod_template(&body) => {
            Decoded::Workload(Arc::new(decode_workload(WorkloadKind::Template, &body)))
        }
        Kind::Controller(_) | Kind::Other { .. } => Decoded::Other,
    }
}

fn decode_engine(kind: EngineKind, body: &Node) -> Decoded {
    match kind {
        EngineKind::CiliumNetworkPolicy => Decoded::Policy(Box::new(cilium::decode(body, false))),
        EngineKind::CiliumClusterwideNetworkPolicy => {
            Decoded::Policy(Box::new(cilium::decode(body, true)))
        }
        EngineKind::CalicoNetworkPolicy => Decoded::Policy(Box::new(calico::decode(body, false))),
        EngineKind::CalicoGlobalNetworkPolicy => {
            Decoded::Policy(Box::new(calico::decode(body, true)))
        }
        EngineKind::CalicoTier => Decoded::Tier(calico::decode_tier(body)),
        EngineKind::CalicoNetworkSet | EngineKind::CalicoGlobalNetworkSet => {
            Decoded::NetworkSet(Box::new(calico::decode_network_set(body)))
        }
        EngineKind::CiliumCidrGroup => {
            Decoded::CidrGroup(Box::new(cilium::decode_cidr_group(body)))
        }
        EngineKind::AdminNetworkPolicy => Decoded::Policy(Box::new(admin::decode(body, false))),
        EngineKind::BaselineAdminNetworkPolicy => {
            Decoded::Policy(Box::new(admin::decode(body, true)))
        }
    }
}
