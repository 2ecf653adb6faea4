//! Workloads: the pods they run, as far as egress is concerned (labels and hostNetwork).

use super::string_map;
use crate::yaml::{Node, Scalar, Span};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadSpec {
    /// Labels of the pods the workload runs.
    pub pod_labels: BTreeMap<String, String>,
    /// The `hostNetwork: true` key, when the pods share the node's network namespace.
    pub host_network: Option<Span>,
}

/// The pod template of a workload kind: a Pod is its own template.
fn pod_template<'a>(kind: &str, body: &'a Node) -> Option<(Option<&'a Node>, Option<&'a Node>)> {
    let template = match kind {
        "Pod" => return Some((body.get("metadata"), body.get("spec"))),
        "CronJob" => body
            .get("spec")?
            .get("jobTemplate")?
            .get("spec")?
            .get("template")?,
        _ => body.get("spec")?.get("template")?,
    };
    Some((template.get("metadata"), template.get("spec")))
}

pub fn decode_workload(kind: &str, body: &Node) -> WorkloadSpec {
    let (metadata, spec) = pod_template(kind, body).unwrap_or((None, None));
    let host_network = spec
        .and_then(|s| s.entry("hostNetwork"))
        .filter(|(_, v)| v.scalar() == Some(Scalar::Bool(true)))
        .map(|(k, _)| k.span);
    WorkloadSpec {
        pod_labels: string_map(metadata.and_then(|m| m.get("labels"))),
        host_network,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_documents;

    fn decode(kind: &str, yaml: &str) -> WorkloadSpec {
        decode_workload(kind, &parse_documents(yaml, 0).unwrap().remove(0))
    }

    #[test]
    fn pod_labels_come_from_the_template() {
        let d = decode(
            "Deployment",
            "metadata:\n  labels: {owner: x}\nspec:\n  template:\n    metadata:\n      labels: {app: api}\n    spec:\n      hostNetwork: true\n",
        );
        assert_eq!(d.pod_labels.get("app").map(String::as_str), Some("api"));
        assert!(!d.pod_labels.contains_key("owner"));
        assert_eq!(d.host_network.map(|s| s.start.line), Some(8));
    }

    #[test]
    fn cron_job_and_pod() {
        let d = decode(
            "CronJob",
            "spec:\n  jobTemplate:\n    spec:\n      template:\n        metadata: {labels: {job: x}}\n        spec: {hostNetwork: false}\n",
        );
        assert_eq!(d.pod_labels.len(), 1);
        assert!(d.host_network.is_none());
        let d = decode(
            "Pod",
            "metadata: {labels: {a: b}}\nspec: {hostNetwork: true}\n",
        );
        assert!(d.host_network.is_some() && d.pod_labels.len() == 1);
    }
}
