//! A live cluster's objects, as `kubectl get … -A -o yaml` and the API's typed lists print
//! them (status, managedFields, ownerReferences): pods are reported by their controller, once.
//! The fixture is read by kubectl as the same objects (`kubectl label --local -f FILE x=y`).

mod common;

use common::{findings, json_in, root, run_in};
use serde_json::Value;

fn check(report: &Value, file: &str) {
    assert_eq!(report["errors"], serde_json::json!([]));
    assert_eq!(report["not_evaluated"], serde_json::json!([]));
    assert_eq!(
        common::workload_rows(report, "shop", file),
        [
            // The Deployment's template stands for its ReplicaSet and their pod.
            common::workload_row("Deployment", "web", 60, false, false),
            // A ReplicaSet whose Deployment is not in the dump is reported as the
            // Deployment, at the ReplicaSet; its pod is not counted again.
            common::workload_row("Deployment", "legacy", 164, true, false),
            // Two pods of one DaemonSet: one workload, at the first.
            common::workload_row("DaemonSet", "node-agent", 224, true, true),
            // A pod no controller owns is its own workload.
            common::workload_row("Pod", "debug", 278, false, false),
        ]
    );
    assert_eq!(report["summary"]["workloads"], 4);
    let shop = common::namespace(report, "shop");
    assert_eq!(shop["metadata_reachable"], true);
    assert_eq!(shop["has_deny_egress_all"], true);
    assert_eq!(shop["has_allow_except_metadata"], true);
    // One hostNetwork finding for the DaemonSet, at its first pod's key.
    let host: Vec<(u64, u64)> = findings(report, "IMDS005", "shop")
        .iter()
        .map(|f| (f["line"].as_u64().unwrap(), f["column"].as_u64().unwrap()))
        .collect();
    assert_eq!(host, [(246, 5)]);
    let reachable = findings(report, "IMDS001", "shop");
    assert_eq!(reachable.len(), 2, "{reachable:?}");
    let message = reachable[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("NetworkPolicy shop/legacy-metadata egress rule 1"),
        "{message}"
    );
    assert!(message.contains("Deployment shop/legacy"), "{message}");
}

#[test]
fn a_cluster_dump_reports_pods_by_their_controller() {
    let dir = root().join("fixtures/live-cluster");
    let report = json_in(&dir, &["cluster.yaml", "policies.json"], None);
    check(&report, "cluster.yaml");
    let policies: Vec<(&str, &str, u64)> = report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["file"].as_str().unwrap(),
                p["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        policies,
        [
            ("legacy-metadata", "cluster.yaml", 28),
            ("deny-egress-all", "policies.json", 7),
            ("allow-egress-all-except-metadata", "policies.json", 19),
        ]
    );
}

#[test]
fn the_dump_on_standard_input() {
    let dir = root().join("fixtures/live-cluster");
    let mut dump = std::fs::read(dir.join("cluster.yaml")).unwrap();
    // `kubectl get … -o yaml` of two resource lists prints them one after the other.
    dump.extend_from_slice(b"---\n");
    let pair = "apiVersion: v1\nkind: List\nitems:\n\
                - {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: deny-egress-all, namespace: shop}, spec: {podSelector: {}, policyTypes: [Egress]}}\n\
                - {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: allow-egress-all-except-metadata, namespace: shop}, spec: {podSelector: {}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}}]}]}}\n";
    dump.extend_from_slice(pair.as_bytes());
    let r = run_in(&dir, &["--format", "json", "-"], Some(&dump));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    check(&report, "<stdin>");
}

#[test]
fn a_pod_whose_controller_template_is_in_the_input_counts_once() {
    // A Job's pod, the Job (owned by a CronJob) and the CronJob: only the CronJob counts.
    let text = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: report, namespace: shop}\n\
                spec: {jobTemplate: {spec: {template: {metadata: {labels: {app: report}}}}}}\n---\n\
                apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: report-29071\n  namespace: shop\n  \
                ownerReferences: [{kind: CronJob, name: report, controller: true}]\n\
                spec: {template: {metadata: {labels: {app: report}}}}\n---\n\
                apiVersion: v1\nkind: Pod\nmetadata:\n  name: report-29071-abcde\n  namespace: shop\n  \
                labels: {app: report}\n  \
                ownerReferences: [{kind: Job, name: report-29071, controller: true}]\n---\n\
                apiVersion: v1\nkind: Pod\nmetadata:\n  name: not-the-controller\n  namespace: shop\n  \
                ownerReferences: [{kind: Job, name: report-29071, controller: false}]\n";
    let report = json_in(
        root(),
        &["--stdin-filename", "jobs.yaml", "-"],
        Some(text.as_bytes()),
    );
    let names: Vec<(&str, &str)> = report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["kind"].as_str().unwrap(), w["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [("CronJob", "report"), ("Pod", "not-the-controller")]
    );
}
