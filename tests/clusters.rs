//! Which cluster manifests land in, through the built binary: Argo CD's names for the cluster
//! it runs in, the objects that live there, Flux root Kustomizations declared together, the
//! `clusters/<name>/` layout and the configuration's `clusters` map.

mod common;

use common::{run, run_in};
use serde_json::Value;

fn report(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--format", "json"];
    all.extend(args);
    let r = run(&all);
    let json = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stderr));
    (r.code, json)
}

/// (cluster, namespace, metadata_reachable) of every namespace, in report order.
fn namespaces(report: &Value) -> Vec<(Option<&str>, &str, bool)> {
    report["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["cluster"].as_str(),
                n["name"].as_str().unwrap(),
                n["metadata_reachable"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// (rule, cluster, namespace, file) of every error finding, in report order (a namespace no
/// pod reaches metadata from gets IMDS002/IMDS003 as warnings naming what closes it).
fn findings(report: &Value) -> Vec<(&str, Option<&str>, Option<&str>, &str)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["cluster"].as_str(),
                f["namespace"].as_str(),
                f["file"].as_str().unwrap(),
            )
        })
        .collect()
}

/// (cluster, namespace) of every policy named `name`.
fn policy_places<'a>(report: &'a Value, name: &str) -> Vec<(Option<&'a str>, &'a str)> {
    report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == name)
        .map(|p| (p["cluster"].as_str(), p["namespace"].as_str().unwrap()))
        .collect()
}

#[test]
fn argo_cd_names_the_cluster_it_runs_in_one_way_and_its_applications_live_there() {
    let (code, r) = report(&["fixtures/clusters/argocd-in-cluster"]);
    // `destination.name: in-cluster` and `destination.server: https://kubernetes.default.svc`
    // are one cluster; the app of apps applied by hand is in it, in namespace argocd, which
    // manifests/argocd closes. Nothing is left in cluster null.
    assert_eq!(
        namespaces(&r),
        [
            (Some("in-cluster"), "argocd", false),
            (Some("in-cluster"), "shop", false)
        ]
    );
    assert_eq!(findings(&r), []);
    assert_eq!(code, 0);
    assert_eq!(
        policy_places(&r, "deny-egress-all"),
        [(Some("in-cluster"), "argocd"), (Some("in-cluster"), "shop")]
    );
    assert_eq!(r["summary"]["clusters"], 1, "{}", r["summary"]);
    // Either spelling selects the cluster.
    for name in ["in-cluster", "https://kubernetes.default.svc"] {
        let (code, one) = report(&["fixtures/clusters/argocd-in-cluster", "--cluster", name]);
        assert_eq!(code, 0, "--cluster {name}");
        assert_eq!(namespaces(&one).len(), 2, "--cluster {name}");
    }
}

#[test]
fn a_stream_with_argo_cd_applications_is_the_cluster_argo_cd_runs_in() {
    let app = std::fs::read_to_string(
        common::root().join("fixtures/clusters/argocd-in-cluster/argocd/app-of-apps.yaml"),
    )
    .unwrap();
    let stream = format!("{app}---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: web}}\n");
    let r = run_in(
        common::root(),
        &["--format", "json", "-"],
        Some(stream.as_bytes()),
    );
    let report: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        namespaces(&report),
        [
            (Some("in-cluster"), "argocd", true),
            (Some("in-cluster"), "web", true)
        ]
    );
}

#[test]
fn flux_roots_declared_together_or_linked_by_depends_on_are_one_cluster() {
    let (code, r) = report(&["fixtures/clusters/flux-roots"]);
    // clusters/prod/{infra,apps}.yaml share a folder; clusters/dev/apps/ks.yaml depends on
    // clusters/dev/infra/ks.yaml (the nearer of the two Kustomizations named infra). Each
    // cluster's cluster-wide policy closes its own web, and the root Kustomizations' own
    // namespace, flux-system, is in the cluster they build.
    assert_eq!(
        namespaces(&r),
        [
            (Some("clusters/dev"), "flux-system", false),
            (Some("clusters/dev"), "web", false),
            (Some("clusters/prod"), "flux-system", false),
            (Some("clusters/prod"), "web", false),
        ]
    );
    assert_eq!(findings(&r), []);
    assert_eq!(code, 0);
    let block: Vec<(Option<&str>, &str)> = r["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["cluster"].as_str(), p["file"].as_str().unwrap()))
        .collect();
    assert_eq!(
        block,
        [
            (
                Some("clusters/dev"),
                "fixtures/clusters/flux-roots/infra/dev/block-imds.yaml"
            ),
            (
                Some("clusters/prod"),
                "fixtures/clusters/flux-roots/infra/prod/block-imds.yaml"
            ),
        ]
    );
    assert_eq!(r["summary"]["clusters"], 2);
}

#[test]
fn the_clusters_layout_keeps_a_dev_policy_from_closing_prod() {
    let (code, r) = report(&["fixtures/clusters/layout"]);
    // No GitOps entry point: clusters/<name>/ separates the clusters. Before, the dev
    // cluster's block-imds closed payments too, silently, with exit status 0.
    assert_eq!(
        namespaces(&r),
        [
            (Some("clusters/dev"), "sandbox", false),
            (Some("clusters/prod"), "payments", true)
        ]
    );
    let payments = "fixtures/clusters/layout/clusters/prod/payments.yaml";
    assert_eq!(
        findings(&r),
        [
            ("IMDS001", Some("clusters/prod"), Some("payments"), payments),
            ("IMDS002", Some("clusters/prod"), Some("payments"), payments),
            ("IMDS003", Some("clusters/prod"), Some("payments"), payments),
        ]
    );
    assert_eq!(code, 1);
    let (code, dev) = report(&["fixtures/clusters/layout", "--cluster", "clusters/dev"]);
    assert_eq!(code, 0);
    assert_eq!(namespaces(&dev), [(Some("clusters/dev"), "sandbox", false)]);
}

#[test]
fn the_configuration_maps_clusters_to_paths() {
    let dir = common::root().join("fixtures/clusters/layout-config");
    let r = run_in(&dir, &["--format", "json", "."], None);
    let report: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}"));
    // apps/prod is outside clusters/, and the map puts it in prod with clusters/prod.
    assert_eq!(
        namespaces(&report),
        [
            (Some("dev"), "sandbox", false),
            (Some("prod"), "payments", true)
        ]
    );
    let workloads: Vec<(Option<&str>, &str, &str, bool)> = report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["cluster"].as_str(),
                w["namespace"].as_str().unwrap(),
                w["name"].as_str().unwrap(),
                w["metadata_reachable"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(workloads, [(Some("prod"), "payments", "api", true)]);
    assert_eq!(
        findings(&report)
            .iter()
            .map(|f| (f.0, f.1, f.2))
            .collect::<Vec<_>>(),
        [
            ("IMDS001", Some("prod"), Some("payments")),
            ("IMDS002", Some("prod"), Some("payments")),
            ("IMDS003", Some("prod"), Some("payments")),
        ]
    );
    assert_eq!(r.code, 1);
}

#[test]
fn a_bad_clusters_entry_is_reported_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".imds-lint.yaml"),
        "clusters:\n  prod: [\"clusters/prod/[\"]\n  dev: clusters/dev\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("ns.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
    )
    .unwrap();
    let r = run_in(dir.path(), &["."], None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(".imds-lint.yaml:2:10: bad glob"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains(".imds-lint.yaml:3:8: clusters.dev: expected a list of strings"),
        "{}",
        r.stderr
    );
}
