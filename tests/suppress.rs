//! `imds-lint.io/ignore` annotations and IMDS006, through the binary on `fixtures/suppress`.

mod common;

use common::run;
use serde_json::Value;
use std::path::Path;

fn json(args: &[&str]) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    serde_json::from_str(&run(&all).stdout).expect("JSON output")
}

/// (rule, namespace, line) of each finding.
fn findings(report: &Value) -> Vec<(String, String, u64)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["namespace"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn annotations_suppress_with_their_reason_and_are_counted() {
    let report = json(&["fixtures/suppress"]);
    let suppressed: Vec<(&str, &str, &str, u64)> = report["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["finding"]["rule"].as_str().unwrap(),
                s["finding"]["namespace"].as_str().unwrap(),
                s["reason"].as_str().unwrap(),
                s["suppressed_by"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let batch = "batch nodes run without an instance role";
    assert_eq!(
        suppressed,
        vec![
            ("IMDS001", "batch", batch, 6),
            ("IMDS002", "batch", batch, 6),
            ("IMDS003", "batch", batch, 6),
            (
                "IMDS001",
                "web",
                "the agent needs the instance identity document (ticket SEC-42)",
                30
            ),
            // The hostNetwork agent's IMDS001: accepting IMDS005 for it accepts this too.
            (
                "IMDS001",
                "web",
                "CNI agent; IMDS is blocked for its UID on the node",
                48
            ),
            (
                "IMDS005",
                "web",
                "CNI agent; IMDS is blocked for its UID on the node",
                48
            ),
        ]
    );
    assert_eq!(report["summary"]["suppressed"], 6);
    let found = findings(&report);
    assert!(
        !found.iter().any(|(_, ns, _)| ns == "batch" || ns == "web"),
        "{found:?}"
    );
    // The suppressed finding keeps its own place.
    assert_eq!(
        report["suppressed"][3]["finding"]["file"],
        "fixtures/suppress/web.yaml"
    );
    assert_eq!(report["suppressed"][3]["finding"]["line"], 39);
}

#[test]
fn broken_suppressions_are_findings_and_suppress_nothing() {
    let report = json(&["fixtures/suppress"]);
    let found = findings(&report);
    // No reason: the namespace's findings stand, and the annotation is reported.
    for rule in ["IMDS001", "IMDS002", "IMDS003"] {
        assert!(
            found.contains(&(rule.into(), "noreason".into(), 1)),
            "{found:?}"
        );
    }
    let imds006: Vec<(&str, u64, u64, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "IMDS006")
        .map(|f| {
            (
                f["file"].as_str().unwrap(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        imds006,
        vec![
            (
                "fixtures/suppress/noreason.yaml",
                6,
                5,
                "imds-lint.io/ignore on Namespace noreason: no imds-lint.io/reason, so it suppresses nothing"
            ),
            (
                "fixtures/suppress/tidy.yaml",
                6,
                26,
                "imds-lint.io/ignore on Namespace tidy: IMDS002 suppresses nothing: no IMDS002 finding in namespace tidy"
            ),
            (
                "fixtures/suppress/tidy.yaml",
                15,
                26,
                "imds-lint.io/ignore on NetworkPolicy tidy/deny-egress-all: names unknown rule \"IMDS042\""
            ),
            (
                "fixtures/suppress/tidy.yaml",
                41,
                5,
                "imds-lint.io/ignore on ConfigMap tidy/settings has no effect: only Namespaces, NetworkPolicies and workloads can suppress findings"
            ),
        ]
    );
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["rule"] != "IMDS006" || f["severity"] == "warning")
    );
}

#[test]
fn suppressed_findings_do_not_fail_the_run_but_are_listed() {
    // Only the fully suppressed namespaces: nothing fails.
    let r = run(&["fixtures/suppress/batch.yaml", "fixtures/suppress/web.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    assert!(
        r.stdout.contains("6 findings suppressed by imds-lint.io/ignore annotations (--show-suppressed lists them)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("0 errors, 0 warnings, 6 suppressed in "),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("suppressed:"));

    let shown = run(&[
        "--show-suppressed",
        "fixtures/suppress/batch.yaml",
        "fixtures/suppress/web.yaml",
    ]);
    assert_eq!(shown.code, 0);
    assert!(
        shown
            .stdout
            .contains("suppressed: namespace batch has no deny-egress-all policy"),
        "{}",
        shown.stdout
    );
    assert!(shown.stdout.contains(
        "suppressed by fixtures/suppress/web.yaml:48: CNI agent; IMDS is blocked for its UID on the node"
    ), "{}", shown.stdout);

    // The same manifests without their reasons fail.
    assert_eq!(run(&["fixtures/suppress/noreason.yaml"]).code, 1);
}

#[test]
fn settings_apply_to_imds006() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("imds-lint.yaml");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/suppress");
    // IMDS002 off: a suppression naming it is not "unused".
    std::fs::write(&config, "rules:\n  IMDS002: off\n").unwrap();
    let report = json(&[
        "--config",
        config.to_str().unwrap(),
        fixture.to_str().unwrap(),
    ]);
    let messages: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["message"].as_str())
        .collect();
    assert!(
        !messages
            .iter()
            .any(|m| m.contains("IMDS002 suppresses nothing")),
        "{messages:?}"
    );
    let found = findings(&report);
    assert!(
        found.contains(&("IMDS006".into(), "tidy".into(), 15)),
        "{found:?}"
    );
    // IMDS006 off: no such findings at all.
    std::fs::write(&config, "rules:\n  invalid-suppression: off\n").unwrap();
    let report = json(&[
        "--config",
        config.to_str().unwrap(),
        fixture.to_str().unwrap(),
    ]);
    assert!(
        !findings(&report)
            .iter()
            .any(|(rule, _, _)| rule == "IMDS006")
    );
}

#[test]
fn an_imds001_suppression_on_a_workload_points_at_the_object_to_annotate() {
    let manifest = b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: open\n  annotations:\n    imds-lint.io/ignore: IMDS001\n    imds-lint.io/reason: uses the SDK\nspec:\n  template:\n    metadata: {labels: {app: web}}\n";
    let r = common::run_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["--format", "json", "-"],
        Some(manifest),
    );
    let report: Value = serde_json::from_str(&r.stdout).expect("JSON output");
    let imds006: Vec<&Value> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "IMDS006")
        .collect();
    assert_eq!(imds006.len(), 1);
    assert!(
        imds006[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("IMDS001 suppresses nothing"),
        "{}",
        imds006[0]
    );
    let human = common::run_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["--color", "never", "-"],
        Some(manifest),
    );
    assert!(
        human.stdout.contains("annotate that object instead"),
        "{}",
        human.stdout
    );
    // The namespace's IMDS001 still stands: a workload cannot accept it for its namespace.
    assert!(
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["rule"] == "IMDS001")
    );
}
