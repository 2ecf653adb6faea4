//! Manifests read the way kubectl reads them: typed lists whose items carry no kind, merge
//! keys, and JSON files holding several objects. Each case was checked against
//! `kubectl label --local -f FILE x=y -o yaml` (kubectl's own reading, no cluster needed).

mod common;

use common::{json_in, root, run_in};
use serde_json::Value;
use std::path::PathBuf;

fn fixture() -> PathBuf {
    root().join("fixtures/kubectl-reading")
}

/// (name, kind, file, line) of every entry of a report's list.
fn entries(report: &Value, list: &str) -> Vec<(String, String, String, u64)> {
    report[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list}: {report}"))
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["kind"].as_str().unwrap().to_string(),
                p["file"].as_str().unwrap().to_string(),
                p["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn entry(name: &str, kind: &str, file: &str, line: u64) -> (String, String, String, u64) {
    (name.into(), kind.into(), file.into(), line)
}

/// (file, line, column, message) of every input error.
fn errors(report: &Value) -> Vec<(String, u64, u64, String)> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["file"].as_str().unwrap().to_string(),
                e["line"].as_u64().unwrap(),
                e["column"].as_u64().unwrap(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn reachable(report: &Value, namespace: &str) -> Option<bool> {
    report["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == namespace)
        .and_then(|n| n["metadata_reachable"].as_bool())
}

#[test]
fn typed_list_items_are_objects_of_the_list_kind() {
    let report = json_in(&fixture(), &["namespaces.yaml", "typed-lists.yaml"], None);
    assert_eq!(errors(&report), []);
    assert_eq!(
        entries(&report, "policies"),
        [
            entry("deny-egress-all", "NetworkPolicy", "typed-lists.yaml", 6),
            entry(
                "allow-egress-all-except-metadata",
                "NetworkPolicy",
                "typed-lists.yaml",
                13
            ),
        ]
    );
    assert_eq!(
        entries(&report, "workloads"),
        [entry("frontend", "Deployment", "typed-lists.yaml", 36)]
    );
    assert_eq!(reachable(&report, "shop"), Some(false));
    assert_eq!(reachable(&report, "web"), Some(true));
    assert_eq!(report["summary"]["policies"], 2);
    assert_eq!(report["summary"]["unreadable"], 0);
}

#[test]
fn a_plain_list_item_without_kind_is_an_error_at_the_item() {
    let list = "apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: shop}
- metadata: {name: deny, namespace: shop}
  spec: {podSelector: {}, policyTypes: [Egress]}
";
    let r = run_in(
        &fixture(),
        &["--format", "json", "--stdin-filename", "list.yaml", "-"],
        Some(list.as_bytes()),
    );
    assert_eq!(r.code, 2, "an input error: {}", r.stdout);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    let errors = errors(&report);
    assert_eq!(errors.len(), 1, "{errors:?}");
    let (file, line, column, message) = &errors[0];
    assert_eq!((file.as_str(), *line, *column), ("list.yaml", 7, 3));
    assert!(message.contains("has no kind"), "{message}");
    assert!(message.contains("\"kind not set\""), "{message}");
    // The item with a kind is still read.
    assert_eq!(reachable(&report, "shop"), Some(true));
    assert_eq!(report["summary"]["policies"], 0);
}

#[test]
fn merge_keys_are_applied_and_each_object_keeps_its_own_line() {
    let report = json_in(&fixture(), &["namespaces.yaml", "merge-keys.yaml"], None);
    assert_eq!(errors(&report), []);
    assert_eq!(
        entries(&report, "policies"),
        [
            entry("deny-egress-all", "NetworkPolicy", "merge-keys.yaml", 7),
            entry(
                "allow-egress-all-except-metadata",
                "NetworkPolicy",
                "merge-keys.yaml",
                16
            ),
        ]
    );
    let anchors = report["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "anchors")
        .expect("namespace anchors");
    assert_eq!(anchors["metadata_reachable"], false);
    assert_eq!(anchors["has_deny_egress_all"], true);
    assert_eq!(anchors["has_allow_except_metadata"], true);
}

#[test]
fn a_merge_key_kubectl_cannot_merge_is_an_error_at_its_value() {
    let text = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-egress-all
  namespace: shop
  <<: [{labels: {a: b}}, 1]
spec: {podSelector: {}, policyTypes: [Egress]}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
";
    let r = run_in(
        &fixture(),
        &["--format", "json", "--stdin-filename", "m.yaml", "-"],
        Some(text.as_bytes()),
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        errors(&report),
        [(
            "m.yaml".to_string(),
            6,
            26,
            "map merge requires map or sequence of maps as the value".to_string()
        )]
    );
    // The refused policy is left out; the next document is read.
    assert_eq!(report["summary"]["policies"], 0);
    assert_eq!(reachable(&report, "shop"), Some(true));
}

#[test]
fn a_json_file_of_several_objects_is_read_object_by_object() {
    let report = json_in(&fixture(), &["stream.json"], None);
    assert_eq!(errors(&report), []);
    assert_eq!(report["summary"]["documents"], 4);
    assert_eq!(
        entries(&report, "policies"),
        [
            entry("deny-egress-all", "NetworkPolicy", "stream.json", 2),
            entry(
                "allow-egress-all-except-metadata",
                "NetworkPolicy",
                "stream.json",
                4
            ),
        ]
    );
    assert_eq!(
        entries(&report, "workloads"),
        [entry("worker", "Deployment", "stream.json", 15)]
    );
    // The pair closes the pod network; the hostNetwork worker still reaches metadata.
    assert_eq!(reachable(&report, "stream"), Some(true));
    // The hostNetwork finding of the object that starts mid-line points at its own column.
    let sarif: Value = serde_json::from_str(
        &run_in(&fixture(), &["--format", "sarif", "stream.json"], None).stdout,
    )
    .unwrap();
    // Both findings about it (IMDS001 for the verdict, IMDS005 for the field) point there.
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let rules: Vec<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["IMDS001", "IMDS005"]);
    for result in results {
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert_eq!(
            (region["startLine"].as_u64(), region["startColumn"].as_u64()),
            (Some(15), Some(207))
        );
    }
}

#[test]
fn a_broken_object_in_a_json_stream_spoils_only_itself() {
    let text = concat!(
        r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}"#,
        r#"{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"x","namespace":"a"} "spec":{}}"#,
        "\n",
        r#"{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"deny-egress-all","namespace":"a"},"spec":{"podSelector":{},"policyTypes":["Egress"]}}"#,
        "\n"
    );
    let r = run_in(
        &fixture(),
        &["--format", "json", "--stdin-filename", "s.json", "-"],
        Some(text.as_bytes()),
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    let errors = errors(&report);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0].0.as_str(), errors[0].1), ("s.json", 1));
    assert!(errors[0].2 > 64, "placed in the second object: {errors:?}");
    assert_eq!(
        entries(&report, "policies"),
        [entry("deny-egress-all", "NetworkPolicy", "s.json", 2)]
    );
    assert_eq!(reachable(&report, "a"), Some(false));
}

#[test]
fn many_small_json_objects_on_one_line_are_read_in_linear_time() {
    let mut text = String::from(
        r#"{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"open","namespace":"a"},"spec":{"podSelector":{},"policyTypes":["Egress"],"egress":[{"to":[{"ipBlock":{"cidr":"169.254.0.0/16"}}]}]}}"#,
    );
    text.push_str(&"{\"k\":\"\\u0000\"}{}".repeat(100_000));
    let started = std::time::Instant::now();
    let report = json_in(
        &fixture(),
        &["--stdin-filename", "big.json", "-"],
        Some(text.as_bytes()),
    );
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    assert_eq!(errors(&report), []);
    assert_eq!(reachable(&report, "a"), Some(true));
}
