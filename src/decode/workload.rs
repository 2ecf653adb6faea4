//! Workloads: the pods they run, as far as egress is concerned (labels, service account and
//! hostNetwork).

use super::string_map;
use crate::source::yaml::{Node, Scalar, Span};
use std::collections::BTreeMap;

/// The synthetic pod label that carries a pod's service account name, so that policies
/// selecting pods by service account (Cilium's `io.cilium.k8s.policy.serviceaccount`, Calico's
/// `projectcalico.org/serviceaccount`) become ordinary label requirements for the pod-class
/// partition and `LabelSelector::matches`. `@` is not allowed in a Kubernetes label key, nor in
/// a Calico selector's label names, so no real label and no native selector can name it; the
/// Cilium decoder refuses it as a selector key. (Reusing Cilium's own key would not do: it is a
/// valid label key, and a native NetworkPolicy naming it would suddenly match by service
/// account.)
pub const SERVICE_ACCOUNT_LABEL: &str = "@serviceaccount";
/// The service account of a pod whose spec names none.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadSpec {
    /// Labels of the pods the workload runs, plus [`SERVICE_ACCOUNT_LABEL`] with its service
    /// account's name.
    pub pod_labels: BTreeMap<String, String>,
    /// The `hostNetwork: true` key, when the pods share the node's network namespace.
    pub host_network: Option<Span>,
}

/// The kinds whose pods run workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKind {
    Pod,
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    ReplicationController,
    Job,
    CronJob,
}

impl WorkloadKind {
    /// Where the pod template lives: a Pod is its own template.
    pub fn template_path(self) -> &'static [&'static str] {
        match self {
            WorkloadKind::Pod => &[],
            WorkloadKind::CronJob => &["spec", "jobTemplate", "spec", "template"],
            WorkloadKind::Deployment
            | WorkloadKind::StatefulSet
            | WorkloadKind::DaemonSet
            | WorkloadKind::ReplicaSet
            | WorkloadKind::ReplicationController
            | WorkloadKind::Job => &["spec", "template"],
        }
    }
}

/// What [`decode_workload`] reads of a pod template: the pods' labels, hostNetwork and the
/// service account.
pub const POD_READS: &[&[&str]] = &[
    &["metadata"],
    &["spec", "hostNetwork"],
    &["spec", "serviceAccountName"],
    &["spec", "serviceAccount"],
];

pub fn decode_workload(kind: WorkloadKind, body: &Node) -> WorkloadSpec {
    let template = kind
        .template_path()
        .iter()
        .try_fold(body, |node, key| node.get(key));
    let metadata = template.and_then(|t| t.get("metadata"));
    let spec = template.and_then(|t| t.get("spec"));
    let host_network = spec
        .and_then(|s| s.entry("hostNetwork"))
        .filter(|(_, v)| v.scalar() == Some(Scalar::Bool(true)))
        .map(|(k, _)| k.span);
    let mut pod_labels = string_map(metadata.and_then(|m| m.get("labels")));
    // Inserted last, so a (refused) real label of that key cannot stand in for it.
    pod_labels.insert(
        SERVICE_ACCOUNT_LABEL.to_string(),
        service_account(spec).to_string(),
    );
    WorkloadSpec {
        pod_labels,
        host_network,
    }
}

/// The pod's service account: `serviceAccountName`, else the deprecated `serviceAccount`
/// (the API server copies it over when `serviceAccountName` is empty), else `default`.
fn service_account(spec: Option<&Node>) -> &str {
    ["serviceAccountName", "serviceAccount"]
        .iter()
        .filter_map(|field| spec?.get(field)?.as_str())
        .find(|name| !name.is_empty())
        .unwrap_or(DEFAULT_SERVICE_ACCOUNT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::yaml::parse_documents;

    fn decode(kind: WorkloadKind, yaml: &str) -> WorkloadSpec {
        decode_workload(kind, &parse_documents(yaml, 0).unwrap().remove(0))
    }

    #[test]
    fn pod_labels_come_from_the_template() {
        let d = decode(
            WorkloadKind::Deployment,
            "metadata:\n  labels: {owner: x}\nspec:\n  template:\n    metadata:\n      labels: {app: api}\n    spec:\n      hostNetwork: true\n",
        );
        assert_eq!(d.pod_labels.get("app").map(String::as_str), Some("api"));
        assert!(!d.pod_labels.contains_key("owner"));
        assert_eq!(d.host_network.map(|s| s.start.line), Some(8));
    }

    #[test]
    fn cron_job_and_pod() {
        let d = decode(
            WorkloadKind::CronJob,
            "spec:\n  jobTemplate:\n    spec:\n      template:\n        metadata: {labels: {job: x}}\n        spec: {hostNetwork: false}\n",
        );
        assert_eq!(d.pod_labels.get("job").map(String::as_str), Some("x"));
        assert!(d.host_network.is_none());
        let d = decode(
            WorkloadKind::Pod,
            "metadata: {labels: {a: b}}\nspec: {hostNetwork: true}\n",
        );
        assert!(d.host_network.is_some() && d.pod_labels.contains_key("a"));
    }

    fn service_account_of(kind: WorkloadKind, yaml: &str) -> String {
        decode(kind, yaml).pod_labels[SERVICE_ACCOUNT_LABEL].clone()
    }

    #[test]
    fn service_account_is_a_synthetic_label() {
        let sa = |spec: &str| {
            service_account_of(
                WorkloadKind::Deployment,
                &format!("spec:\n  template:\n    spec: {spec}\n"),
            )
        };
        assert_eq!(sa("{serviceAccountName: batch}"), "batch");
        assert_eq!(sa("{serviceAccount: old}"), "old");
        assert_eq!(sa("{serviceAccountName: new, serviceAccount: old}"), "new");
        assert_eq!(sa("{serviceAccountName: '', serviceAccount: old}"), "old");
        assert_eq!(sa("{}"), DEFAULT_SERVICE_ACCOUNT);
        assert_eq!(sa("{serviceAccountName: [x]}"), DEFAULT_SERVICE_ACCOUNT);
        assert_eq!(
            service_account_of(
                WorkloadKind::CronJob,
                "spec:\n  jobTemplate:\n    spec:\n      template:\n        spec: {serviceAccountName: cron}\n",
            ),
            "cron"
        );
        assert_eq!(
            service_account_of(WorkloadKind::Pod, "spec: {serviceAccountName: solo}\n"),
            "solo"
        );
        // No spec at all: still the default account, never a panic.
        assert_eq!(
            service_account_of(WorkloadKind::Deployment, "spec: 3\n"),
            "default"
        );
        // A real label of the reserved key (the API server refuses it) cannot override.
        let d = decode(
            WorkloadKind::Pod,
            "metadata: {labels: {'@serviceaccount': forged}}\nspec: {serviceAccountName: real}\n",
        );
        assert_eq!(d.pod_labels[SERVICE_ACCOUNT_LABEL], "real");
    }
}
