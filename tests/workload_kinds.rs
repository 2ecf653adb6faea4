//! Workloads beyond the built-in kinds: Argo Rollouts, Argo Workflows, OpenKruise, KEDA
//! ScaledJob, Knative Service, and any namespaced kind with a pod template. Their labels,
//! service account and hostNetwork count like a Deployment's.

mod common;

use common::json_in;

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
