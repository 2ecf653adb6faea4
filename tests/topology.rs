//! GitOps topology through the built binary: Flux, Argo CD and Config Sync fixture fleets decide
//! the (cluster, namespace) every manifest lands in.

mod common;

use common::{copy_dir, root, run, run_in};
use serde_json::Value;

fn json(args: &[&str]) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend(args);
    let r = run(&all);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stderr))
}

/// (cluster, namespace, metadata_reachable) of every namespace.
fn namespaces(report: &Value) -> Vec<(Option<String>, String, bool)> {
    report["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["cluster"].as_str().map(str::to_string),
                n["name"].as_str().unwrap().to_string(),
                n["metadata_reachable"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// (cluster, namespace) of every policy named `name` from a file ending in `file`.
fn policy_places(report: &Value, name: &str, file: &str) -> Vec<(Option<String>, String)> {
    report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == name && p["file"].as_str().unwrap().ends_with(file))
        .map(|p| {
            (
                p["cluster"].as_str().map(str::to_string),
                p["namespace"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `reason` of every not-evaluated entry, with its kind and count.
fn not_evaluated(report: &Value) -> Vec<(String, u64, String)> {
    report["not_evaluated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["count"].as_u64().unwrap(),
                e["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

#[test]
fn flux_clusters_sharing_a_namespace_name_get_one_verdict_each() {
    let report = json(&["fixtures/flux-fleet"]);
    let ns = namespaces(&report);
    // prod/web has the pair of policies; staging/web, built from the same base, has none.
    assert!(
        ns.contains(&(some("clusters/prod"), "web".into(), false)),
        "{ns:?}"
    );
    assert!(
        ns.contains(&(some("clusters/staging"), "web".into(), true)),
        "{ns:?}"
    );
    let web_findings: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["namespace"] == "web")
        .collect();
    assert!(!web_findings.is_empty());
    assert!(
        web_findings
            .iter()
            .all(|f| f["cluster"] == "clusters/staging")
    );
    // The base Deployment runs in both clusters, safe in one only.
    let web: Vec<(&Value, &Value)> = report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["name"] == "web")
        .map(|w| (&w["cluster"], &w["metadata_reachable"]))
        .collect();
    assert_eq!(web.len(), 2, "{web:?}");
    assert!(web.contains(&(&Value::from("clusters/prod"), &Value::from(false))));
    assert!(web.contains(&(&Value::from("clusters/staging"), &Value::from(true))));
}

#[test]
fn flux_path_without_kustomization_builds_every_manifest_and_target_namespace_overrides() {
    let report = json(&["fixtures/flux-fleet"]);
    // apps/payments has no kustomization.yaml; targetNamespace puts every manifest in payments,
    // the one that says `namespace: default` too.
    assert_eq!(
        policy_places(
            &report,
            "deny-egress-all",
            "apps/payments/deny-egress-all.yaml"
        ),
        vec![(some("clusters/prod"), "payments".into())]
    );
    assert_eq!(
        policy_places(
            &report,
            "allow-egress-all-except-metadata",
            "apps/payments/allow-egress-all-except-metadata.yaml"
        ),
        vec![(some("clusters/prod"), "payments".into())]
    );
    let ns = namespaces(&report);
    assert!(ns.contains(&(some("clusters/prod"), "payments".into(), false)));
    assert!(
        !ns.iter().any(|(_, name, _)| name == "default"),
        "nothing lands in default: {ns:?}"
    );
    // With kustomization.yaml at the path, it is used: its namespace: web holds.
    assert_eq!(
        policy_places(
            &report,
            "deny-egress-all",
            "apps/web/prod/deny-egress-all.yaml"
        ),
        vec![(some("clusters/prod"), "web".into())]
    );
}

#[test]
fn flux_kustomization_cycle_is_noted_and_ends() {
    let r = run(&["--format", "json", "fixtures/flux-fleet"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    let notes: Vec<&str> = report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("loops/a/ks.yaml") && n.contains("cycle")),
        "{notes:?}"
    );
}

#[test]
fn flux_objects_that_cannot_be_built_are_listed_not_evaluated() {
    let report = json(&["fixtures/flux-fleet"]);
    let listed = not_evaluated(&report);
    for (kind, reason) in [
        (
            "HelmRelease (helm.toolkit.fluxcd.io/v2)",
            "chart is not rendered",
        ),
        ("OCIRepository (source.toolkit.fluxcd.io/v1)", "not fetched"),
        (
            "Kustomization (kustomize.toolkit.fluxcd.io/v1)",
            "GitRepository/podinfo is not this repository",
        ),
    ] {
        assert!(
            listed
                .iter()
                .any(|(k, n, r)| k == kind && *n == 1 && r.contains(reason)),
            "{kind}: {listed:?}"
        );
    }
    let human = run(&["fixtures/flux-fleet"]).stdout;
    assert!(human.contains(
        "not evaluated: 1 × HelmRelease (helm.toolkit.fluxcd.io/v2) (Flux HelmRelease: the chart is not rendered)"
    ));
}

#[test]
fn cluster_option_restricts_the_run_and_names_the_known_clusters() {
    let report = json(&["--cluster", "clusters/staging", "fixtures/flux-fleet"]);
    let ns = namespaces(&report);
    assert!(!ns.is_empty());
    assert!(
        ns.iter()
            .all(|(c, _, _)| c.as_deref() == Some("clusters/staging"))
    );
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["cluster"] == "clusters/staging")
    );
    let prod = run(&["--cluster", "clusters/prod", "fixtures/flux-fleet"]);
    assert!(!prod.stdout.contains("clusters/staging"), "{}", prod.stdout);

    let unknown = run(&["--cluster", "clusters/dev", "fixtures/flux-fleet"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown
            .stderr
            .contains("known clusters: clusters/prod, clusters/staging"),
        "{}",
        unknown.stderr
    );
    let none = run(&["--cluster", "prod", "fixtures/kustomize"]);
    assert_eq!(none.code, 2);
    assert!(
        none.stderr.contains("no GitOps entry point"),
        "{}",
        none.stderr
    );
}

#[test]
fn human_report_groups_findings_by_cluster() {
    let out = run(&["fixtures/flux-fleet"]).stdout;
    let prod = out
        .find("── namespace flux-system · cluster clusters/prod")
        .expect("a prod heading");
    let staging = out
        .find("── namespace flux-system · cluster clusters/staging")
        .expect("a staging heading");
    assert!(prod < staging);
    // staging/web's findings sit under their own heading, after staging's flux-system.
    let web_heading = out
        .find("── namespace web · cluster clusters/staging")
        .expect("a web heading");
    let web = out
        .find("all pods in namespace web")
        .expect("a web finding");
    assert!(staging < web_heading && web_heading < web, "{out}");
    assert!(
        out.contains("5 namespaces in 2 clusters (3 with metadata reachable)"),
        "{out}"
    );
    assert_eq!(json(&["fixtures/flux-fleet"])["summary"]["clusters"], 2);
    // One cluster: still named, in every heading.
    let prod_only = run(&["--cluster", "clusters/prod", "fixtures/flux-fleet"]).stdout;
    let headings: Vec<&str> = prod_only.lines().filter(|l| l.starts_with("── ")).collect();
    assert!(!headings.is_empty(), "{prod_only}");
    assert!(
        headings
            .iter()
            .all(|h| h.ends_with(" · cluster clusters/prod")),
        "{prod_only}"
    );
}

#[test]
fn repository_root_is_found_above_the_linted_folder() {
    // Linting only clusters/ of a git checkout: Flux paths are relative to the checkout's root.
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("fleet");
    copy_dir(&root().join("fixtures/flux-fleet"), &repo);
    std::fs::create_dir(repo.join(".git")).unwrap();
    let r = run_in(&repo, &["--format", "json", "clusters"], None);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    let clusters: Vec<Option<String>> = namespaces(&report).into_iter().map(|n| n.0).collect();
    assert!(clusters.contains(&some("clusters/prod")), "{clusters:?}");
    assert!(clusters.contains(&some("clusters/staging")), "{clusters:?}");
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("Flux Kustomization path apps/web/prod is not in the linted tree"),
        "{notes}"
    );
}

#[test]
fn without_an_entry_point_clusters_are_null() {
    let report = json(&["fixtures/kustomize"]);
    let ns = namespaces(&report);
    assert!(!ns.is_empty());
    assert!(ns.iter().all(|(c, _, _)| c.is_none()));
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["cluster"].is_null())
    );
}

#[test]
fn argocd_destination_namespace_fills_in_but_never_overrides() {
    let report = json(&["fixtures/argocd"]);
    // The same path in two destinations: two clusters, each with namespace shop.
    for cluster in ["prod", "staging"] {
        assert!(
            policy_places(
                &report,
                "deny-egress-all",
                "manifests/shop/deny-egress-all.yaml"
            )
            .contains(&(some(cluster), "shop".into()))
        );
        // debug.yaml says namespace: debug, and keeps it.
        assert!(
            policy_places(&report, "debug-egress", "manifests/shop/debug.yaml")
                .contains(&(some(cluster), "debug".into()))
        );
    }
    let ns = namespaces(&report);
    assert!(ns.contains(&(some("prod"), "shop".into(), false)), "{ns:?}");
    assert!(ns.contains(&(some("prod"), "debug".into(), true)), "{ns:?}");
    assert!(!ns.iter().any(|(_, n, _)| n == "default"), "{ns:?}");
}

#[test]
fn argocd_helm_foreign_sources_and_application_sets_are_not_evaluated() {
    let listed = not_evaluated(&json(&["fixtures/argocd"]));
    for reason in [
        "Helm source",
        "https://github.com/vendor/manifests.git is not this repository",
        "generators are not expanded",
    ] {
        assert!(
            listed.iter().any(|(_, n, r)| *n == 1 && r.contains(reason)),
            "{reason}: {listed:?}"
        );
    }
}

#[test]
fn config_sync_folders_name_namespaces_and_abstract_policies_are_inherited() {
    let report = json(&["fixtures/config-sync"]);
    let mut deny = policy_places(
        &report,
        "deny-egress-all",
        "namespaces/default-deny-egress.yaml",
    );
    deny.sort();
    assert_eq!(
        deny,
        vec![
            (None, "shop".into()),
            (None, "team-a".into()),
            (None, "team-b".into())
        ]
    );
    let ns = namespaces(&report);
    assert_eq!(
        ns,
        vec![
            (None, "shop".into(), false),
            (None, "team-a".into(), false),
            (None, "team-b".into(), true)
        ]
    );
    // shop sits outside teams/, so it misses the allow half.
    let shop: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["namespace"] == "shop")
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert_eq!(shop, vec!["IMDS003"]);
    // A policy whose namespaces a NamespaceSelector picks is listed, not placed by guess.
    let listed = not_evaluated(&report);
    assert!(
        listed.iter().any(
            |(kind, n, reason)| kind == "NetworkPolicy (networking.k8s.io/v1)"
                && *n == 1
                && reason.contains("NamespaceSelector legacy")
        ),
        "{listed:?}"
    );
    assert!(policy_places(&report, "allow-metadata-for-legacy", ".yaml").is_empty());
}

#[test]
fn explain_and_workload_names_follow_the_cluster() {
    // `web` exists in both clusters: explain wants to know which.
    let both = run(&["explain", "web", "fixtures/flux-fleet"]);
    assert_eq!(both.code, 2);
    assert!(
        both.stderr.contains(
            "namespace \"web\" is in several clusters (clusters/prod, clusters/staging); choose one with --cluster"
        ),
        "{}",
        both.stderr
    );
    let staging = run(&[
        "explain",
        "web",
        "fixtures/flux-fleet",
        "--cluster",
        "clusters/staging",
    ]);
    assert_eq!(staging.code, 1);
    assert!(staging.stdout.starts_with(
        "namespace web in cluster clusters/staging: some pods can reach 169.254.169.254:80/TCP"
    ));
    let prod = run(&[
        "explain",
        "web",
        "fixtures/flux-fleet",
        "--cluster",
        "clusters/prod",
        "--format",
        "json",
    ]);
    assert_eq!(prod.code, 0);
    let prod: Value = serde_json::from_str(&prod.stdout).expect("json");
    assert_eq!(prod["cluster"], "clusters/prod");
    assert_eq!(prod["metadata_reachable"], false);

    // IMDS001 names only the workloads of its own cluster.
    let report = json(&["fixtures/flux-fleet"]);
    let messages: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "IMDS001" && f["namespace"] == "web")
        .map(|f| f["message"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].ends_with("(affects Deployment web/web)"),
        "{}",
        messages[0]
    );
}
