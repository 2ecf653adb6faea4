//! Workloads: the pods they run, as far as egress is concerned (labels, service account and
//! hostNetwork).

use super::labels::Labels;
use super::string_map;
use crate::source::yaml::{Node, Scalar, Span};

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
    pub pod_labels: Labels,
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
    /// Argo Rollouts `Rollout` (`spec.template`).
    Rollout,
    /// OpenKruise `CloneSet` (`spec.template`); Advanced StatefulSet and DaemonSet are read as
    /// their built-in namesakes.
    CloneSet,
    /// KEDA `ScaledJob`: the Jobs it creates run `spec.jobTargetRef.template`.
    ScaledJob,
    /// Knative Serving `Service`: its revisions run `spec.template`.
    KnativeService,
    /// Argo Workflows `Workflow` and `WorkflowTemplate`: `spec` is a workflow spec, one pod per
    /// step whose template runs a container.
    Workflow,
    /// Argo Workflows `CronWorkflow`: the workflow spec is `spec.workflowSpec`.
    CronWorkflow,
    /// Any other namespaced kind with `spec.template.spec.containers`.
    Template,
}

impl WorkloadKind {
    /// Where the pod template lives: a Pod is its own template; for Argo Workflows, the
    /// workflow spec.
    pub fn template_path(self) -> &'static [&'static str] {
        match self {
            WorkloadKind::Pod => &[],
            WorkloadKind::CronJob => &["spec", "jobTemplate", "spec", "template"],
            WorkloadKind::ScaledJob => &["spec", "jobTargetRef", "template"],
            WorkloadKind::Workflow => &["spec"],
            WorkloadKind::CronWorkflow => &["spec", "workflowSpec"],
            WorkloadKind::Deployment
            | WorkloadKind::StatefulSet
            | WorkloadKind::DaemonSet
            | WorkloadKind::ReplicaSet
            | WorkloadKind::ReplicationController
            | WorkloadKind::Job
            | WorkloadKind::Rollout
            | WorkloadKind::CloneSet
            | WorkloadKind::KnativeService
            | WorkloadKind::Template => &["spec", "template"],
        }
    }

    /// What the decoder reads under [`Self::template_path`].
    pub fn template_reads(self) -> &'static [&'static [&'static str]] {
        match self {
            WorkloadKind::Workflow | WorkloadKind::CronWorkflow => WORKFLOW_READS,
            WorkloadKind::Template => TEMPLATE_READS,
            _ => POD_READS,
        }
    }

    fn is_workflow(self) -> bool {
        matches!(self, WorkloadKind::Workflow | WorkloadKind::CronWorkflow)
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

/// What is read of a pod template of a kind known only by its shape: [`POD_READS`], and the
/// containers that make it a pod template.
const TEMPLATE_READS: &[&[&str]] = &[
    &["metadata"],
    &["spec", "hostNetwork"],
    &["spec", "serviceAccountName"],
    &["spec", "serviceAccount"],
    &["spec", "containers"],
];

/// The template fields of an Argo workflow whose presence makes a pod: a step running one of
/// these runs a pod of its own (`steps`, `dag` and `suspend` run none).
const WORKFLOW_POD_TEMPLATES: &[&str] =
    &["container", "script", "containerSet", "resource", "data"];

/// What is read of an Argo workflow spec: the labels every pod gets (`podMetadata`), the
/// workflow's service account and hostNetwork, and of each template its name, labels
/// (`metadata`), service account and what it runs.
const WORKFLOW_READS: &[&[&str]] = &[
    &["podMetadata"],
    &["serviceAccountName"],
    &["hostNetwork"],
    &["templates", "name"],
    &["templates", "metadata"],
    &["templates", "serviceAccountName"],
    &["templates", "container"],
    &["templates", "script"],
    &["templates", "containerSet"],
    &["templates", "resource"],
    &["templates", "data"],
];

/// Whether a namespaced object of a kind no row names is a workload: its `spec.template` is a
/// pod template, with containers.
pub fn has_pod_template(body: &Node) -> bool {
    ["spec", "template", "spec", "containers"]
        .iter()
        .try_fold(body, |node, key| node.get(key))
        .and_then(Node::as_seq)
        .is_some_and(|containers| !containers.is_empty())
}

/// The pods of a workload: one for most kinds; for an Argo workflow, one for each template
/// that runs a pod, with its name (or, when none does, one with what the workflow sets for
/// every pod), with the position of the template.
pub fn decode_workloads(kind: WorkloadKind, body: &Node) -> Vec<(Option<Pods>, WorkloadSpec)> {
    if !kind.is_workflow() {
        return vec![(None, decode_workload(kind, body))];
    }
    let spec = kind
        .template_path()
        .iter()
        .try_fold(body, |node, key| node.get(key));
    let get = |key: &str| spec.and_then(|s| s.get(key));
    let host_network = spec
        .and_then(|s| s.entry("hostNetwork"))
        .filter(|(_, v)| v.scalar() == Some(Scalar::Bool(true)))
        .map(|(k, _)| k.span);
    let common = string_map(get("podMetadata").and_then(|m| m.get("labels")));
    let workflow_account = get("serviceAccountName")
        .and_then(Node::as_str)
        .filter(|s| !s.is_empty());
    let pods = |labels: Labels, account: Option<&str>| {
        let mut pod_labels = labels;
        pod_labels.insert(
            SERVICE_ACCOUNT_LABEL.to_string(),
            account
                .or(workflow_account)
                .unwrap_or(DEFAULT_SERVICE_ACCOUNT)
                .to_string(),
        );
        WorkloadSpec {
            pod_labels,
            host_network,
        }
    };
    let mut out: Vec<(Option<Pods>, WorkloadSpec)> = Vec::new();
    let templates = get("templates").and_then(Node::as_seq).unwrap_or_default();
    for template in templates {
        if !WORKFLOW_POD_TEMPLATES
            .iter()
            .any(|field| template.get(field).is_some())
        {
            continue;
        }
        // The template's labels over the workflow's, as the controller sets them.
        let mut labels = common.clone();
        labels.extend(string_map(
            template.get("metadata").and_then(|m| m.get("labels")),
        ));
        let account = template
            .get("serviceAccountName")
            .and_then(Node::as_str)
            .filter(|s| !s.is_empty());
        let name = template
            .get("name")
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_string();
        let at = template
            .as_map()
            .and_then(|m| m.first())
            .map_or(template.span, |(k, _)| k.span);
        out.push((Some(Pods { template: name, at }), pods(labels, account)));
    }
    if out.is_empty() {
        out.push((None, pods(common, None)));
    }
    out
}

/// The template of an Argo workflow whose pods a workload stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pods {
    /// The template's `name`.
    pub template: String,
    /// Where the template starts.
    pub at: Span,
}

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
        decode(kind, yaml)
            .pod_labels
            .get(SERVICE_ACCOUNT_LABEL)
            .unwrap()
            .clone()
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
        assert_eq!(d.pod_labels.get(SERVICE_ACCOUNT_LABEL).unwrap(), "real");
    }

    fn workflow(kind: WorkloadKind, yaml: &str) -> Vec<(Option<String>, WorkloadSpec)> {
        decode_workloads(kind, &parse_documents(yaml, 0).unwrap().remove(0))
            .into_iter()
            .map(|(pods, spec)| (pods.map(|p| p.template), spec))
            .collect()
    }

    #[test]
    fn an_argo_workflow_runs_one_pod_per_template_with_a_container() {
        let pods = workflow(
            WorkloadKind::Workflow,
            "spec:\n  serviceAccountName: wf\n  hostNetwork: yes\n  podMetadata: {labels: {app: ci, tier: a}}\n  templates:\n  - {name: main, steps: [[{name: s, template: build}]]}\n  - {name: build, metadata: {labels: {tier: b}}, serviceAccountName: builder, container: {image: i}}\n  - {name: wait, suspend: {}}\n  - {name: apply, resource: {action: create}}\n  - {name: both, containerSet: {containers: []}}\n",
        );
        let names: Vec<Option<&str>> = pods.iter().map(|(t, _)| t.as_deref()).collect();
        assert_eq!(names, [Some("build"), Some("apply"), Some("both")]);
        let build = &pods[0].1;
        assert_eq!(
            build.pod_labels.get("tier").unwrap(),
            "b",
            "the template's label over podMetadata's"
        );
        assert_eq!(build.pod_labels.get("app").unwrap(), "ci");
        assert_eq!(
            build.pod_labels.get(SERVICE_ACCOUNT_LABEL).unwrap(),
            "builder"
        );
        assert_eq!(build.host_network.map(|s| s.start.line), Some(3));
        let apply = &pods[1].1;
        assert_eq!(apply.pod_labels.get("tier").unwrap(), "a");
        assert_eq!(apply.pod_labels.get(SERVICE_ACCOUNT_LABEL).unwrap(), "wf");
    }

    #[test]
    fn a_workflow_without_pod_templates_stands_for_its_pods_as_one() {
        // A workflow running a WorkflowTemplate by reference: what it sets for every pod.
        let pods = workflow(
            WorkloadKind::CronWorkflow,
            "spec:\n  workflowSpec:\n    workflowTemplateRef: {name: t}\n    podMetadata: {labels: {app: x}}\n",
        );
        assert_eq!(pods.len(), 1);
        assert_eq!(pods[0].0, None);
        assert_eq!(pods[0].1.pod_labels.get("app").unwrap(), "x");
        assert_eq!(
            pods[0].1.pod_labels.get(SERVICE_ACCOUNT_LABEL).unwrap(),
            DEFAULT_SERVICE_ACCOUNT
        );
        // Nothing where a spec should be: still one, never a panic.
        assert_eq!(workflow(WorkloadKind::Workflow, "spec: [1]\n").len(), 1);
        assert_eq!(
            workflow(
                WorkloadKind::Workflow,
                "spec: {templates: [1, {container: {}}]}\n"
            )
            .len(),
            1
        );
    }

    #[test]
    fn other_kinds_read_their_template_path() {
        let d = decode(
            WorkloadKind::ScaledJob,
            "spec:\n  jobTargetRef:\n    template:\n      metadata: {labels: {a: b}}\n      spec: {hostNetwork: true}\n",
        );
        assert!(d.host_network.is_some() && d.pod_labels.contains_key("a"));
        let body = parse_documents("spec: {template: {spec: {containers: [{}]}}}\n", 0).unwrap();
        assert!(has_pod_template(&body[0]));
        for no in [
            "spec: {template: {spec: {containers: []}}}",
            "spec: {template: {}}",
            "spec: 1",
        ] {
            assert!(
                !has_pod_template(&parse_documents(no, 0).unwrap()[0]),
                "{no}"
            );
        }
    }
}
