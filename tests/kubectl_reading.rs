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

/// (line, column, message) of every IMDS004 finding, with its namespace.
fn refusals(report: &Value) -> Vec<(Option<String>, u64, u64, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "IMDS004")
        .map(|f| {
            assert_eq!(f["severity"], "error", "{f}");
            (
                f["namespace"].as_str().map(str::to_string),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn namespace_names(report: &Value) -> Vec<String> {
    report["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn names_the_api_server_refuses_leave_their_objects_out() {
    let r = run_in(&fixture(), &["--format", "json", "names.yaml"], None);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(errors(&report), []);
    let found = refusals(&report);
    let at: Vec<(Option<&str>, u64, u64)> = found
        .iter()
        .map(|(ns, line, column, _)| (ns.as_deref(), *line, *column))
        .collect();
    assert_eq!(
        at,
        [
            (Some("names"), 10, 9),
            (Some("Team_A"), 22, 14),
            (Some("names"), 32, 9),
            (None, 44, 9),
        ]
    );
    assert!(found[0].3.starts_with(
        "NetworkPolicy names/Deny_Egress_All: metadata.name \"Deny_Egress_All\" is not a valid \
         NetworkPolicy name: a lowercase RFC 1123 subdomain"
    ));
    assert!(found[1].3.starts_with(
        "Deployment Team_A/api: metadata.namespace \"Team_A\" is not valid: a lowercase RFC 1123 \
         label"
    ));
    assert!(
        found[2]
            .3
            .ends_with("it must be no more than 52 characters"),
        "{}",
        found[2].3
    );
    assert!(found[3].3.starts_with(
        "Namespace web.frontend: metadata.name \"web.frontend\" is not a valid Namespace name"
    ));
    // The refused policy isolates nothing: the namespace is open.
    assert_eq!(reachable(&report, "names"), Some(true));
    assert_eq!(namespace_names(&report), ["names"]);
    let ns = &report["namespaces"][0];
    assert_eq!(ns["has_deny_egress_all"], false);
    assert_eq!(findings_of(&report, "IMDS002"), [("names".to_string(), 1)]);
    // Only the valid workload runs; the refused hostNetwork ones are not counted.
    assert_eq!(
        entries(&report, "workloads"),
        [entry("web", "Deployment", "names.yaml", 46)]
    );
    assert_eq!(report["summary"]["workloads"], 1);
}

/// (namespace, line) of each finding of `rule`.
fn findings_of(report: &Value, rule: &str) -> Vec<(String, u64)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| {
            (
                f["namespace"].as_str().unwrap_or_default().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn an_invalid_default_namespace_is_a_usage_error() {
    let r = run_in(
        &fixture(),
        &["--default-namespace", "Not Valid!", "names.yaml"],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(
        r.stderr.contains("namespace \"Not Valid!\" is not valid"),
        "{}",
        r.stderr
    );
    let r = run_in(
        &fixture(),
        &["--default-namespace", "team-a", "--format", "json", "-"],
        Some(b"kind: Deployment\napiVersion: apps/v1\nmetadata: {name: x}\n"),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(namespace_names(&report), ["team-a"]);
}

#[test]
fn a_key_written_twice_refuses_the_object_at_both_lines() {
    let r = run_in(
        &fixture(),
        &["--format", "json", "duplicate-keys.yaml"],
        None,
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(errors(&report), []);
    assert_eq!(
        refusals(&report),
        [
            (
                Some("dupes".to_string()),
                28,
                3,
                "NetworkPolicy dupes/allow-egress-all-except-metadata: mapping key \"egress\" \
                 already defined at line 25: kustomize refuses the object, as kubectl's strict \
                 YAML decoding does"
                    .to_string()
            ),
            (
                Some("dupes".to_string()),
                43,
                7,
                "Deployment dupes/agent: mapping key \"hostNetwork\" already defined at line 42: \
                 kustomize refuses the object, as kubectl's strict YAML decoding does"
                    .to_string()
            ),
        ]
    );
    // The refused allow policy opens nothing: deny-egress-all closes the namespace, and the
    // refused hostNetwork Deployment runs no pod.
    assert_eq!(reachable(&report, "dupes"), Some(false));
    assert_eq!(findings_of(&report, "IMDS003"), [("dupes".to_string(), 1)]);
    assert_eq!(findings_of(&report, "IMDS005"), []);
    assert_eq!(
        entries(&report, "workloads"),
        [entry("web", "Deployment", "duplicate-keys.yaml", 45)]
    );
}

#[test]
fn names_are_checked_as_they_land_after_kustomize() {
    // kustomize's `namespace:` replaces the invalid one; its prefix makes the names invalid.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "namespace: shop\nnamePrefix: X-\nresources: [a.yaml]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n\
         metadata: {name: deny, namespace: Bad_NS}\n\
         spec: {podSelector: {}, policyTypes: [Egress]}\n",
    )
    .unwrap();
    let report = json_in(dir.path(), &["."], None);
    let found = refusals(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].0.as_deref(), found[0].1), (Some("shop"), 3));
    assert!(
        found[0]
            .3
            .starts_with("NetworkPolicy shop/X-deny: metadata.name \"X-deny\" is not a valid"),
        "{}",
        found[0].3
    );
    assert_eq!(namespace_names(&report), ["shop"]);
    assert_eq!(reachable(&report, "shop"), Some(true));
}

#[test]
fn a_refused_second_copy_does_not_replace_the_applied_one() {
    // `kubectl apply` fails on the second copy (a key written twice), so the first stays; found
    // by the fuzz test, where the refused copy made the namespace and its deny disappear.
    let stream = "apiVersion: v1\nkind: Namespace\nmetadata: {name: web}\n---\n\
                  apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n\
                  metadata: {name: deny-egress-all, namespace: web}\n\
                  spec: {podSelector: {}, policyTypes: [Egress]}\n---\n\
                  apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n  name: web\n---\n\
                  apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n\
                  metadata: {name: deny-egress-all, namespace: web}\n\
                  spec:\n  podSelector: {}\n  policyTypes: [Egress]\n  policyTypes: [Egress]\n";
    let report = json_in(
        root(),
        &["--stdin-filename", "copies.yaml", "-"],
        Some(stream.as_bytes()),
    );
    assert_eq!(namespace_names(&report), ["web"]);
    assert_eq!(reachable(&report, "web"), Some(false));
    let refused: Vec<u64> = refusals(&report).iter().map(|r| r.1).collect();
    assert_eq!(refused, [14, 22]);
}
