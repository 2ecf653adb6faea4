//! Workloads beyond the built-in kinds: Argo Rollouts, Argo Workflows, OpenKruise, KEDA
//! ScaledJob, Knative Service, and any namespaced kind with a pod template. Their labels,
//! service account and hostNetwork count like a Deployment's.

mod common;

use common::{findings, json_in, root};
use serde_json::Value;

fn selected_by(report: &Value, name: &str) -> Vec<String> {
    common::workload(report, name)["selected_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn each_controller_kind_runs_pods_from_its_template() {
    let dir = root().join("fixtures/workload-kinds");
    let report = json_in(&dir, &["."], None);
    assert_eq!(report["errors"], serde_json::json!([]));
    assert_eq!(
        common::workload_rows(&report, "ops", "workloads.yaml"),
        [
            // The legacy tier's label in the Rollout's template reopens metadata.
            common::workload_row("Rollout", "web", 1, true, false),
            common::workload_row("CloneSet", "cache", 15, false, false),
            // OpenKruise Advanced StatefulSet and DaemonSet, read like the built-in ones.
            common::workload_row("StatefulSet", "db", 29, true, true),
            common::workload_row("DaemonSet", "agent", 44, true, false),
            // spec.jobTargetRef.template, with the reporter service account.
            common::workload_row("ScaledJob", "consumer", 58, true, false),
            common::workload_row("Service", "api", 75, false, false),
            // One workload for each template that runs a pod, at the template; the steps
            // template runs none.
            common::workload_row("Workflow", "ci/build", 101, true, false),
            common::workload_row("Workflow", "ci/test", 105, false, false),
            // spec.workflowSpec.hostNetwork.
            common::workload_row("CronWorkflow", "nightly/run", 119, true, true),
            // The workflow's service account, for a template naming none.
            common::workload_row("WorkflowTemplate", "report/render", 130, true, false),
            // A kind imds-lint has no row for, with spec.template.spec.containers.
            common::workload_row("TaskRunner", "runner", 134, true, false),
        ]
    );
    assert_eq!(
        selected_by(&report, "consumer"),
        [
            "allow-egress-all-except-metadata",
            "deny-egress-all",
            "reporter-metadata"
        ]
    );
    assert_eq!(
        selected_by(&report, "report/render"),
        [
            "allow-egress-all-except-metadata",
            "deny-egress-all",
            "reporter-metadata"
        ]
    );
    // podMetadata labels every pod of the workflow; the template's own labels add to them.
    assert_eq!(
        selected_by(&report, "ci/build"),
        [
            "allow-egress-all-except-metadata",
            "deny-egress-all",
            "legacy-metadata"
        ]
    );
    let ops = common::namespace(&report, "ops");
    assert_eq!(ops["metadata_reachable"], true);
    // hostNetwork is IMDS005 at the key, for the Advanced StatefulSet and the CronWorkflow.
    let host: Vec<u64> = findings(&report, "IMDS005", "ops")
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert_eq!(host, [41, 117]);
}

#[test]
fn a_kustomize_label_leaves_other_controllers_templates_as_written() {
    // kustomize's field specs name StatefulSet in group apps only: the label does not reach
    // the Advanced StatefulSet's pods, so the policy on it does not select them.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "namespace: ops\nlabels:\n- pairs: {tier: legacy}\n  includeTemplates: true\nresources: [w.yaml]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("w.yaml"),
        "apiVersion: apps.kruise.io/v1beta1\nkind: StatefulSet\nmetadata: {name: kruise}\n\
         spec:\n  template:\n    metadata: {labels: {app: k}}\n    spec: {containers: [{name: c}]}\n\
         ---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: builtin}\n\
         spec:\n  template:\n    metadata: {labels: {app: b}}\n    spec: {containers: [{name: c}]}\n\
         ---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-legacy}\n\
         spec: {podSelector: {matchLabels: {tier: legacy}}, policyTypes: [Egress]}\n",
    )
    .unwrap();
    let report = json_in(dir.path(), &["."], None);
    let reachable = |name: &str| common::workload(&report, name)["metadata_reachable"].clone();
    assert_eq!(reachable("kruise"), true);
    assert_eq!(reachable("builtin"), false);
}
