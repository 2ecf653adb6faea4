//! Verdicts on the objects as kustomize applies them, not as written: `fixtures/as-applied`
//! holds one overlay per transformation, each in its own namespace, over a base whose pair of
//! policies closes the metadata endpoint. What `kubectl kustomize` builds for each overlay is
//! described in the fixture's README.

mod common;

use common::{findings, json_report, namespace};
use serde_json::Value;

fn report() -> Value {
    json_report(&["fixtures/as-applied"]).1
}

fn reachable(report: &Value, name: &str) -> bool {
    namespace(report, name)["metadata_reachable"]
        .as_bool()
        .expect("metadata_reachable")
}

fn uncertain(report: &Value, name: &str) -> Vec<String> {
    namespace(report, name)["uncertain"]
        .as_array()
        .expect("uncertain")
        .iter()
        .map(|u| u["reason"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_label_from_the_overlay_meets_a_namespace_selector() {
    let report = report();
    assert!(reachable(&report, "labelled"));
    assert!(uncertain(&report, "labelled").is_empty());
    let opened = findings(&report, "IMDS001", "labelled");
    assert_eq!(opened.len(), 1, "{opened:#?}");
    let message = opened[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("AdminNetworkPolicy exposed-may-reach-metadata in namespace labelled"),
        "{message}"
    );
}

#[test]
fn replacements_make_the_verdict_uncertain_where_they_reach() {
    let report = report();
    let reasons = uncertain(&report, "replaced");
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].contains("replacements"), "{reasons:?}");
    let warned = findings(&report, "IMDS008", "replaced");
    assert_eq!(warned.len(), 1);
    assert_eq!(
        (warned[0]["file"].as_str(), warned[0]["line"].as_u64()),
        (
            Some("fixtures/as-applied/overlays/replacements/kustomization.yaml"),
            Some(7)
        )
    );
    // Only where the kustomization's objects land.
    assert!(uncertain(&report, "labelled").is_empty());
    assert_eq!(report["summary"]["namespaces_uncertain"], 1);
}

/// (rule, file, line) of the findings about `namespace`.
fn places(report: &Value, rule: &str, namespace: &str) -> Vec<(String, u64)> {
    findings(report, rule, namespace)
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap_or_default().to_string(),
                f["line"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn a_json_patch_removing_the_except_opens_metadata_at_the_operation() {
    let report = report();
    assert!(reachable(&report, "json-patched"));
    assert_eq!(
        places(&report, "IMDS001", "json-patched"),
        [(
            "fixtures/as-applied/overlays/json6902/kustomization.yaml".to_string(),
            11
        )]
    );
    let message = findings(&report, "IMDS001", "json-patched")[0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with(
            "NetworkPolicy json-patched/allow-egress-all-except-metadata (as patched by \
             fixtures/as-applied/overlays/json6902/kustomization.yaml:7)"
        ),
        "{message}"
    );
}

#[test]
fn a_strategic_merge_patch_replaces_the_egress_list_and_the_finding_is_in_the_patch() {
    let report = report();
    assert!(reachable(&report, "merge-patched"));
    assert_eq!(
        places(&report, "IMDS001", "merge-patched"),
        [(
            "fixtures/as-applied/overlays/strategic/allow-all.yaml".to_string(),
            9
        )]
    );
}

#[test]
fn a_deleted_deny_policy_is_gone() {
    let report = report();
    assert!(!reachable(&report, "deny-deleted"));
    assert_eq!(places(&report, "IMDS002", "deny-deleted").len(), 1);
    let policies: Vec<&str> = report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["namespace"] == "deny-deleted")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(policies, ["allow-egress-all-except-metadata"]);
}

#[test]
fn flux_substitution_and_common_metadata_are_applied() {
    let report = json_report(&["fixtures/flux-applied"]).1;
    // shop: `${PARTNER_CIDR:=10.0.0.0/8}` becomes 169.254.0.0/16 from `substitute`.
    assert!(reachable(&report, "shop"));
    let shop = findings(&report, "IMDS001", "shop");
    assert_eq!(shop.len(), 1);
    let message = shop[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "NetworkPolicy shop/allow-partner (as substituted by \
             fixtures/flux-applied/clusters/prod/apps.yaml:18)"
        ),
        "{message}"
    );
    // blog: `commonMetadata.labels` reach the Namespace an AdminNetworkPolicy selects.
    assert!(reachable(&report, "blog"));
    assert!(uncertain(&report, "blog").is_empty());
}

#[test]
fn argo_cd_managed_namespace_labels_meet_a_namespace_selector() {
    let report = json_report(&["fixtures/argocd-managed"]).1;
    let media = findings(&report, "IMDS001", "media");
    assert_eq!(media.len(), 1, "{media:#?}");
    assert_eq!(
        media[0]["file"],
        "fixtures/argocd-managed/manifests/cluster/open-for-exposed.yaml"
    );
    assert!(reachable(&report, "media"));
}

#[test]
fn flux_components_add_their_objects_to_the_build() {
    let report = json_report(&["fixtures/flux-applied"]).1;
    assert!(reachable(&report, "news"));
    let news = findings(&report, "IMDS001", "news");
    assert_eq!(news.len(), 1);
    assert_eq!(
        news[0]["file"],
        "fixtures/flux-applied/components/partner-egress/allow-link-local.yaml"
    );
    assert!(uncertain(&report, "news").is_empty());
}

#[test]
fn flux_patches_are_applied_and_found_at_the_operation() {
    let report = json_report(&["fixtures/flux-applied"]).1;
    assert!(reachable(&report, "forum"));
    assert_eq!(
        places(&report, "IMDS001", "forum"),
        [(
            "fixtures/flux-applied/clusters/prod/apps.yaml".to_string(),
            77
        )]
    );
}

#[test]
fn argo_cd_kustomize_common_labels_reach_the_namespace_object() {
    let report = json_report(&["fixtures/argocd-managed"]).1;
    assert!(reachable(&report, "cms"));
    assert_eq!(findings(&report, "IMDS001", "cms").len(), 1);
}
