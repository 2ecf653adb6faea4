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
