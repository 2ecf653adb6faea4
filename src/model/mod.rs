//! Stage 4: the cluster as the repository describes it: namespaces, policies and workloads,
//! each with the location of the YAML that declares it.

pub mod decode;
pub mod policy;
pub mod selector;
pub mod workload;

use crate::load::{LoadedFile, Object, WORKLOAD_KINDS};
use crate::resolve::{Placement, Resolution};
use crate::yaml::{Node, Span};
use policy::{DecodedPolicy, decode_network_policy};
use std::collections::BTreeMap;
use workload::{WorkloadSpec, decode_workload};

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

#[derive(Debug, Clone, PartialEq)]
pub struct Namespace {
    pub name: String,
    /// The Namespace object, when the repository declares one.
    pub object: Option<Location>,
    /// The first manifest (in file, line order) that lands in the namespace.
    pub first_manifest: Location,
    pub labels: BTreeMap<String, String>,
    /// The Namespace object's `imds-lint.io/ignore` annotation.
    pub suppression: Option<Suppression>,
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
    fn new(file: usize, annotation: &crate::load::SuppressAnnotation) -> Self {
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

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub name: String,
    pub namespace: String,
    /// The policy's first key.
    pub location: Location,
    pub decoded: DecodedPolicy,
    pub suppression: Option<Suppression>,
}

impl Policy {
    /// Whether the policy takes part in egress decisions in a cluster: it isolates for egress
    /// and the API server would accept it.
    pub fn governs_egress(&self) -> bool {
        self.decoded.spec.egress_type && !self.decoded.rejected
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub location: Location,
    pub spec: WorkloadSpec,
    pub suppression: Option<Suppression>,
}

/// What the analysis reads of one object, decoded from its tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Policy(DecodedPolicy),
    Workload(WorkloadSpec),
    Namespace {
        labels: BTreeMap<String, String>,
    },
    /// Only the object's identity matters.
    Other,
}

/// Decodes the objects of one file and drops their trees, so that a whole repository never
/// holds more than a few trees at once. The result is parallel to `objects`.
pub fn decode_objects(objects: &mut [Object]) -> Vec<Decoded> {
    objects
        .iter_mut()
        .map(|object| match object.body.take() {
            None => Decoded::Other,
            Some(body) if object.kind == "Namespace" => Decoded::Namespace {
                labels: body
                    .get("metadata")
                    .map(|m| string_map(m.get("labels")))
                    .unwrap_or_default(),
            },
            Some(body) if object.kind == "NetworkPolicy" => {
                Decoded::Policy(decode_network_policy(&body))
            }
            Some(body) if WORKLOAD_KINDS.contains(&object.kind.as_str()) => {
                Decoded::Workload(decode_workload(&object.kind, &body))
            }
            Some(_) => Decoded::Other,
        })
        .collect()
}

/// Policy-like kinds imds-lint does not evaluate yet, counted so they are never ignored silently.
fn is_unevaluated_policy(object: &Object) -> bool {
    let group = object.api_version.split('/').next().unwrap_or_default();
    (object.kind.contains("NetworkPolicy") || object.kind.contains("AdminNetworkPolicy"))
        && !(object.kind == "NetworkPolicy" && object.api_version == "networking.k8s.io/v1")
        || (group.ends_with("projectcalico.org") && object.kind.contains("Policy"))
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
    "AdminNetworkPolicy",
    "BaselineAdminNetworkPolicy",
    "IPAddressPool",
    "GatewayClass",
];

#[derive(Debug, Default)]
pub struct Model {
    /// Display paths; a [`Location::file`] indexes this.
    pub files: Vec<String>,
    pub namespaces: BTreeMap<String, Namespace>,
    pub policies: Vec<Policy>,
    pub workloads: Vec<Workload>,
    /// Policy kinds found but not evaluated, with how many of each.
    pub not_evaluated: BTreeMap<String, usize>,
    pub documents: usize,
    /// `imds-lint.io/ignore` annotations on objects no finding is about (ConfigMaps, Services,
    /// …), which therefore suppress nothing: "Kind name" and its namespace, if any.
    pub stray_suppressions: Vec<(Suppression, String, Option<String>)>,
}

/// Builds the model. `decoded[i]` is [`decode_objects`] of `files[i]`; `default_namespace` is
/// where namespaced objects without one land.
pub fn build(
    files: &[LoadedFile],
    decoded: &[Vec<Decoded>],
    resolution: &Resolution,
    default_namespace: &str,
) -> Model {
    let mut model = Model {
        files: files.iter().map(|f| f.display.clone()).collect(),
        documents: files.iter().map(|f| f.documents).sum(),
        ..Model::default()
    };
    for (file_index, file) in files.iter().enumerate() {
        let ways: Vec<Option<&str>> = match &resolution.placements[file_index] {
            Placement::NotAResource => continue,
            Placement::Standalone => vec![None],
            Placement::Built(ways) => ways.iter().map(|w| w.as_deref()).collect(),
        };
        for (object, decoded) in file.objects.iter().zip(&decoded[file_index]) {
            for forced in &ways {
                add_object(
                    &mut model,
                    file_index,
                    object,
                    decoded,
                    *forced,
                    default_namespace,
                );
            }
        }
    }
    model
}

fn add_object(
    model: &mut Model,
    file: usize,
    object: &Object,
    decoded: &Decoded,
    forced: Option<&str>,
    default_namespace: &str,
) {
    let location = Location::new(file, object.span);
    let suppression = object
        .suppression
        .as_ref()
        .map(|a| Suppression::new(file, a));
    if is_unevaluated_policy(object) {
        *model
            .not_evaluated
            .entry(format!("{} ({})", object.kind, object.api_version))
            .or_default() += 1;
    }
    if object.kind == "Namespace" {
        // kustomize renames a Namespace object to the namespace it sets.
        let Some(name) = forced.map(str::to_string).or_else(|| object.name.clone()) else {
            return;
        };
        let ns = note_namespace(model, &name, location);
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
            model
                .stray_suppressions
                .push((suppression, object, namespace));
        }
    };
    if CLUSTER_SCOPED_KINDS.contains(&object.kind.as_str()) {
        stray(model, None);
        return;
    }
    let explicit = forced
        .map(str::to_string)
        .or_else(|| object.namespace.clone());
    let namespace = explicit
        .clone()
        .unwrap_or_else(|| default_namespace.to_string());
    let name = object.name.clone().unwrap_or_default();
    match decoded {
        Decoded::Policy(policy) => {
            note_namespace(model, &namespace, location);
            model.policies.push(Policy {
                name,
                namespace,
                location,
                decoded: policy.clone(),
                suppression,
            });
        }
        Decoded::Workload(spec) => {
            note_namespace(model, &namespace, location);
            model.workloads.push(Workload {
                kind: object.kind.clone(),
                name,
                namespace,
                location,
                spec: spec.clone(),
                suppression,
            });
        }
        // Any namespaced object with an explicit namespace tells us the namespace exists.
        Decoded::Namespace { .. } | Decoded::Other => {
            stray(model, Some(namespace));
            if let Some(ns) = explicit {
                note_namespace(model, &ns, location);
            }
        }
    }
}

fn note_namespace<'a>(model: &'a mut Model, name: &str, at: Location) -> &'a mut Namespace {
    let ns = model
        .namespaces
        .entry(name.to_string())
        .or_insert_with(|| Namespace {
            name: name.to_string(),
            object: None,
            first_manifest: at,
            labels: BTreeMap::new(),
            suppression: None,
        });
    if at < ns.first_manifest {
        ns.first_manifest = at;
    }
    ns
}

/// A `string: string` mapping such as labels; entries of other types are skipped.
pub fn string_map(node: Option<&Node>) -> BTreeMap<String, String> {
    node.and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .filter_map(|(k, v)| Some((k.key_text()?.to_string(), v.as_str()?.to_string())))
        .collect()
}
