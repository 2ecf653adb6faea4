//! `.imds-lint.yaml`, `--config`, `--no-config`, `--fail-on` and `imds-lint init`, through the
//! binary on temporary copies of `fixtures/demo`.

mod common;

use common::{copy_dir, run_piped};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let r = run_piped(dir, &all, b"");
    let value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", r.stdout, r.stderr));
    (r.code, value)
}

/// A temporary copy of the demo repository, with `config` as its `.imds-lint.yaml` if given.
fn demo(config: Option<&str>) -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path().join("repo");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo"),
        &repo,
    );
    if let Some(text) = config {
        std::fs::write(repo.join(".imds-lint.yaml"), text).unwrap();
    }
    (temp, repo)
}

fn rules_of(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn config_is_found_from_the_linted_path_upwards() {
    let (_temp, repo) = demo(Some("rules:\n  IMDS005: off\n"));
    // Linting a folder below the configuration, from inside it and from outside.
    let (_, report) = json(&repo.join("clusters"), &["prod"]);
    assert!(!rules_of(&report).iter().any(|(r, _)| r == "IMDS005"));
    let (_, report) = json(repo.parent().unwrap(), &["repo/clusters/prod/monitoring"]);
    assert!(!rules_of(&report).iter().any(|(r, _)| r == "IMDS005"));
    // A file's folder is where the search starts.
    let (_, report) = json(
        &repo,
        &["clusters/prod/monitoring/daemonset-node-exporter.yaml"],
    );
    assert!(!rules_of(&report).iter().any(|(r, _)| r == "IMDS005"));
    // --no-config ignores it.
    let (_, report) = json(&repo, &["--no-config", "."]);
    assert!(rules_of(&report).iter().any(|(r, _)| r == "IMDS005"));
    // The .yml spelling is found too.
    std::fs::rename(repo.join(".imds-lint.yaml"), repo.join(".imds-lint.yml")).unwrap();
    let (_, report) = json(&repo, &["."]);
    assert!(!rules_of(&report).iter().any(|(r, _)| r == "IMDS005"));
}

#[test]
fn explicit_config_file_wins_over_the_found_one() {
    let (temp, repo) = demo(Some("rules:\n  IMDS005: off\n"));
    let other = temp.path().join("strict.yaml");
    std::fs::write(&other, "rules:\n  host-network-pod: error\n").unwrap();
    let (code, report) = json(&repo, &["--config", other.to_str().unwrap(), "."]);
    assert_eq!(code, 1);
    assert!(rules_of(&report).contains(&("IMDS005".into(), "error".into())));
    let r = run_piped(&repo, &["--config", "missing.yaml", "."], b"");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("missing.yaml: cannot read"),
        "{}",
        r.stderr
    );
}

#[test]
fn rule_settings_change_severity_everywhere_and_the_exit_code() {
    // Only warnings are left: exit 0; the human summary agrees with JSON.
    let config = "rules:\n  IMDS001: warning\n  IMDS002: {enabled: false}\n  missing-allow-except-metadata: off\n  IMDS004: {severity: warning}\n";
    let (_temp, repo) = demo(Some(config));
    let (code, report) = json(&repo, &["."]);
    assert_eq!(code, 0);
    let rules = rules_of(&report);
    assert!(rules.iter().all(|(_, s)| s == "warning"), "{rules:?}");
    assert!(!rules.iter().any(|(r, _)| r == "IMDS002" || r == "IMDS003"));
    assert!(rules.iter().any(|(r, _)| r == "IMDS001"));
    assert_eq!(report["summary"]["errors"], 0);
    let human = run_piped(&repo, &["."], b"");
    assert_eq!(human.code, 0);
    assert!(human.stdout.contains(": 0 errors, "), "{}", human.stdout);
    assert!(human.stdout.contains("⚠ NetworkPolicy web/frontend-egress"));
}

#[test]
fn fail_on_from_config_and_command_line() {
    let (_temp, repo) = demo(Some(
        "rules: {IMDS001: off, IMDS002: off, IMDS003: off, IMDS004: off}\nfail-on: warning\n",
    ));
    // Only IMDS005 (a warning) is left, and warnings fail.
    assert_eq!(run_piped(&repo, &["."], b"").code, 1);
    assert_eq!(run_piped(&repo, &["--fail-on", "error", "."], b"").code, 0);
    assert_eq!(run_piped(&repo, &["--fail-on", "never", "."], b"").code, 0);
    assert_eq!(
        run_piped(&repo, &["--no-config", "--fail-on", "never", "."], b"").code,
        0
    );
    assert_eq!(run_piped(&repo, &["--no-config", "."], b"").code, 1);
    // Unreadable input is still 2, whatever fail-on says.
    std::fs::write(repo.join("broken.yaml"), "a: [\n").unwrap();
    assert_eq!(run_piped(&repo, &["--fail-on", "never", "."], b"").code, 2);
}

#[test]
fn ignored_namespaces_get_no_findings_and_are_listed() {
    let (_temp, repo) = demo(Some("ignore-namespaces: [batch, 'leg*']\n"));
    let (_, report) = json(&repo, &["."]);
    assert_eq!(
        report["ignored_namespaces"],
        serde_json::json!(["batch", "legacy"])
    );
    assert_eq!(report["summary"]["ignored_namespaces"], 2);
    let namespaces: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["namespace"].as_str())
        .collect();
    assert!(!namespaces.contains(&"batch") && !namespaces.contains(&"legacy"));
    // Still listed among the namespaces, with their verdicts.
    assert!(
        report["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["name"] == "legacy")
    );
    let human = run_piped(&repo, &["."], b"");
    assert!(
        human
            .stdout
            .contains("ignored (ignore-namespaces): batch, legacy\n"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains(", 2 namespaces ignored in "),
        "{}",
        human.stdout
    );
}

#[test]
fn excludes_are_relative_to_the_config_file_and_add_to_the_command_line() {
    let (_temp, repo) = demo(Some(
        "exclude: [clusters/prod/legacy, 'netpol-frontend-*']\n",
    ));
    // Run from a folder below the configuration: the anchored glob still means repo/clusters/prod/legacy.
    let (_, report) = json(&repo.join("clusters"), &["."]);
    let files: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["file"].as_str())
        .collect();
    assert!(
        !files
            .iter()
            .any(|f| f.contains("legacy") || f.contains("frontend")),
        "{files:?}"
    );
    assert!(
        !report["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["name"] == "legacy")
    );
    // --exclude adds to them.
    let (_, report) = json(&repo.join("clusters"), &["--exclude", "batch", "."]);
    assert!(
        !report["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["name"] == "batch")
    );
    assert!(
        !report["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["name"] == "legacy")
    );
}

#[test]
fn targets_presets_and_default_namespace_from_config() {
    let (_temp, repo) = demo(Some(
        "targets: ['169.254.170.2']\npresets: [alibaba]\ndefault-namespace: apps\n",
    ));
    std::fs::write(
        repo.join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: loose\nspec:\n  containers: []\n",
    )
    .unwrap();
    let (_, report) = json(&repo, &["."]);
    let apps = report["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "apps")
        .expect("the config's default namespace");
    assert_eq!(
        apps["reachable_targets"],
        serde_json::json!(["100.100.100.200:80/TCP", "169.254.170.2:80/TCP"])
    );
    // A target on the command line replaces the configuration's targets and presets.
    let (_, report) = json(&repo, &["--target", "169.254.169.254", "."]);
    let apps = report["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "apps")
        .unwrap();
    assert_eq!(
        apps["reachable_targets"],
        serde_json::json!(["169.254.169.254:80/TCP"])
    );
    // And --default-namespace replaces the configuration's.
    let (_, report) = json(&repo, &["--default-namespace", "other", "."]);
    assert!(
        report["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["name"] == "other")
    );
}

#[test]
fn config_mistakes_are_reported_at_their_line_and_column() {
    let cases = [
        (
            "rules:\n  IMDS001: loud\n",
            ".imds-lint.yaml:2:12: rules.IMDS001: expected off, warning, error",
        ),
        (
            "exclude: []\nexlude: [a]\n",
            ".imds-lint.yaml:2:1: unknown key \"exlude\"",
        ),
        (
            "targets:\n  - 169.254.169.254:99999\n",
            ".imds-lint.yaml:2:5: ",
        ),
        (
            "fail-on: sometimes\n",
            ".imds-lint.yaml:1:10: fail-on: expected error, warning or never, found a string",
        ),
        (
            "rules:\n  IMDS099: off\n",
            ".imds-lint.yaml:2:3: unknown rule \"IMDS099\"",
        ),
        (
            "presets: [aws, nimbus]\n",
            ".imds-lint.yaml:1:16: unknown preset \"nimbus\"",
        ),
        (
            "ignore-namespaces: kube-system\n",
            ".imds-lint.yaml:1:20: ignore-namespaces: expected a list of strings",
        ),
        ("rules: [\n", ".imds-lint.yaml:2:1: "),
    ];
    for (text, expected) in cases {
        let (_temp, repo) = demo(Some(text));
        let r = run_piped(&repo, &["."], b"");
        assert_eq!(r.code, 2, "{text:?}: {}", r.stderr);
        assert!(
            r.stderr.starts_with(&format!("imds-lint: {expected}")),
            "{text:?}: {}",
            r.stderr
        );
        assert!(r.stdout.is_empty(), "{text:?}");
    }
}

#[test]
fn every_config_mistake_is_reported_at_once() {
    let (_temp, repo) = demo(Some(
        "fail-on: sometimes\nrules:\n  IMDS009: off\nexlude: [a]\npresets: [aws, nimbus]\n",
    ));
    let r = run_piped(&repo, &["."], b"");
    assert_eq!(r.code, 2, "{}", r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{}", r.stderr);
    for (line, start) in lines.iter().zip([
        "imds-lint: .imds-lint.yaml:1:10: fail-on: expected error, warning or never",
        "imds-lint: .imds-lint.yaml:3:3: unknown rule \"IMDS009\"",
        "imds-lint: .imds-lint.yaml:4:1: unknown key \"exlude\"",
        "imds-lint: .imds-lint.yaml:5:16: unknown preset \"nimbus\"",
    ]) {
        assert!(line.starts_with(start), "{line:?} is not {start:?}");
    }
    assert!(r.stdout.is_empty());
}

#[test]
fn ignore_namespaces_entries_that_match_nothing_are_reported() {
    let (_temp, repo) = demo(Some(
        "ignore-namespaces:\n  - monitoring\n  - legacy-*\n  - paymnets\n",
    ));
    let (code, report) = json(&repo, &["."]);
    assert_eq!(code, 1);
    let stale: Vec<(&str, &str, u64, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "IMDS006")
        .map(|f| {
            (
                f["message"].as_str().unwrap(),
                f["file"].as_str().unwrap(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        stale,
        [
            (
                "ignore-namespaces: \"legacy-*\" ignores nothing: no namespace matches it",
                ".imds-lint.yaml",
                3,
                5
            ),
            (
                "ignore-namespaces: \"paymnets\" ignores nothing: no namespace matches it",
                ".imds-lint.yaml",
                4,
                5
            ),
        ]
    );
    // The human report shows the entry in the file, like any finding.
    let human = run_piped(&repo, &["--color", "never", "."], b"");
    assert!(
        human.stdout.contains("╭─[.imds-lint.yaml:4:5]"),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("  - paymnets"), "{}", human.stdout);
    // A warning: it fails the run only with --fail-on warning, like a stale annotation.
    let (_temp, repo) = demo(Some(
        "ignore-namespaces: [paymnets]\nrules: {IMDS001: off, IMDS002: off, IMDS003: off, IMDS004: off, IMDS005: off}\n",
    ));
    assert_eq!(run_piped(&repo, &["."], b"").code, 0);
    assert_eq!(
        run_piped(&repo, &["--fail-on", "warning", "."], b"").code,
        1
    );
}

#[test]
fn init_writes_a_default_config_that_changes_nothing() {
    let (_temp, repo) = demo(None);
    let before = json(&repo, &["."]);
    let r = run_piped(&repo, &["init"], b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "wrote .imds-lint.yaml\n");
    let text = std::fs::read_to_string(repo.join(".imds-lint.yaml")).unwrap();
    for key in [
        "rules:",
        "IMDS006:",
        "exclude:",
        "ignore-namespaces:",
        "targets:",
        "presets:",
        "default-namespace:",
        "fail-on:",
    ] {
        assert!(text.contains(key), "{key} missing from\n{text}");
    }
    // Loaded (it is found from `.`), it changes neither the report nor the exit code.
    assert_eq!(json(&repo, &["."]), before);
    assert_eq!(
        run_piped(&repo, &["."], b"").code,
        run_piped(&repo, &["--no-config", "."], b"").code
    );

    // It refuses to overwrite, unless --force.
    std::fs::write(repo.join(".imds-lint.yaml"), "fail-on: never\n").unwrap();
    let again = run_piped(&repo, &["init"], b"");
    assert_eq!(again.code, 2);
    assert!(
        again.stderr.contains("already exists; pass --force"),
        "{}",
        again.stderr
    );
    assert_eq!(
        std::fs::read_to_string(repo.join(".imds-lint.yaml")).unwrap(),
        "fail-on: never\n"
    );
    assert_eq!(run_piped(&repo, &["init", "--force"], b"").code, 0);
    assert_eq!(
        std::fs::read_to_string(repo.join(".imds-lint.yaml")).unwrap(),
        text
    );

    // Into another folder.
    let r = run_piped(&repo, &["init", "clusters"], b"");
    assert_eq!(r.code, 0);
    assert!(repo.join("clusters/.imds-lint.yaml").is_file());
    assert_eq!(r.stdout, "wrote clusters/.imds-lint.yaml\n");
}

#[test]
fn standard_input_uses_the_config_of_the_current_folder() {
    let (_temp, repo) = demo(Some("rules:\n  IMDS002: off\n"));
    let manifest = std::fs::read(repo.join("clusters/prod/batch/namespace.yaml")).unwrap();
    let lint = |dir: &Path| {
        let out = run_piped(dir, &["--format", "json", "-"], &manifest);
        let report: Value = serde_json::from_str(&out.stdout).unwrap();
        rules_of(&report)
    };
    // Below the configuration: IMDS002 is off.
    let rules = lint(&repo.join("clusters/prod"));
    assert!(rules.iter().any(|(r, _)| r == "IMDS003"), "{rules:?}");
    assert!(!rules.iter().any(|(r, _)| r == "IMDS002"), "{rules:?}");
    // Outside it: the defaults.
    let rules = lint(repo.parent().unwrap());
    assert!(rules.iter().any(|(r, _)| r == "IMDS002"), "{rules:?}");
}
