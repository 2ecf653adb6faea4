//! Argo CD `directory.include` / `exclude` through the built binary: a file an Application
//! excludes is not applied by it, so its deny policy does not count there.

mod common;

use common::run;
use serde_json::Value;

fn report(path: &str) -> Value {
    let r = run(&["--format", "json", path]);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stderr))
}

/// `metadata_reachable` of namespace `name` in cluster `cluster`.
fn reachable(report: &Value, cluster: &str, name: &str) -> bool {
    report["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["cluster"] == cluster && n["name"] == name)
        .unwrap_or_else(|| panic!("namespace {cluster}/{name}: {report}"))["metadata_reachable"]
        .as_bool()
        .unwrap()
}

#[test]
fn an_excluded_deny_policy_does_not_count() {
    let report = report("fixtures/argocd-exclude");
    // shop applies every file below manifests/app: its deny policy isolates the pods.
    assert!(!reachable(&report, "prod", "shop"));
    // web excludes '{policies/deny-*,*.json}': the same deny policy is not applied there.
    assert!(reachable(&report, "prod", "web"));
    let policies: Vec<(&str, &str)> = report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "deny-egress-all")
        .map(|p| {
            (
                p["cluster"].as_str().unwrap(),
                p["namespace"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(policies, [("prod", "shop")]);
    let findings = report["findings"].as_array().unwrap();
    let web = findings
        .iter()
        .find(|f| f["rule"] == "IMDS001" && f["namespace"] == "web")
        .expect("web reaches the metadata service");
    assert!(
        web["file"]
            .as_str()
            .unwrap()
            .ends_with("manifests/app/deployment.yaml"),
        "{web}"
    );
    // The workload of web is reachable, the same workload in shop is not.
    let workloads: Vec<(&str, bool)> = report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["namespace"].as_str().unwrap(),
                w["metadata_reachable"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(workloads.contains(&("web", true)) && workloads.contains(&("shop", false)));
}
