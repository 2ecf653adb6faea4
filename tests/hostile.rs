//! Hostile and odd input through the binary, one small case per way a pull request could
//! abuse the input layer: each gets a clear error or a correct verdict, and nothing that
//! could be linted is lost. (Timings and memory of the full-size cases are measured by
//! `bench/hostile.sh`, not here.)

mod common;

use common::{json_in, run_in};
use serde_json::Value;
use std::path::Path;

/// A policy that opens the metadata endpoint to every pod of namespace `a`.
const OPEN: &str = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: open, namespace: a}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 169.254.0.0/16}}]}]
";

fn errors(report: &Value) -> Vec<(String, Option<u64>, String)> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let file = e["file"].as_str().unwrap().to_string();
            (
                file,
                e["line"].as_u64(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn skipped(report: &Value) -> Vec<(String, String)> {
    report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn workload_names(report: &Value) -> Vec<&str> {
    report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect()
}

fn reachable(report: &Value, namespace: &str) -> bool {
    report["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["name"] == namespace && n["metadata_reachable"] == true)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
fn deep_flow_nesting_is_refused_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "deep.yaml", "{a: ".repeat(20_000).as_bytes());
    write(dir.path(), "open.yaml", OPEN.as_bytes());
    let report = json_in(dir.path(), &["."], None);
    assert_eq!(
        errors(&report),
        [(
            "deep.yaml".to_string(),
            Some(1),
            "nesting deeper than 256 levels".to_string()
        )]
    );
    assert!(reachable(&report, "a"), "the rest is still linted");
}

#[test]
fn an_alias_bomb_behind_a_quoted_scalar_libyaml_accepts_is_refused() {
    let mut text = String::from(
        "kind: ConfigMap\ndata:\n  k: \"abc\n def\"\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "laughs.yaml", text.as_bytes());
    let report = json_in(dir.path(), &["."], None);
    let errors = errors(&report);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].2.contains("alias bomb"), "{errors:?}");
}

#[test]
fn nested_anchors_are_shared_and_the_policy_after_them_counts() {
    let n = 200;
    let opens: String = (0..n).map(|i| format!("&n{i} {{k: ")).collect();
    let big = format!(
        "x-big: {opens}[{}]{}\n",
        vec!["x"; 20_000].join(", "),
        "}".repeat(n)
    );
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "anchors.yaml",
        format!("{big}{OPEN}").as_bytes(),
    );
    let report = json_in(dir.path(), &["."], None);
    assert_eq!(errors(&report), []);
    assert!(reachable(&report, "a"));
}

#[test]
fn fifos_are_skipped_and_listed_even_when_named() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("x.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    write(dir.path(), "open.yaml", OPEN.as_bytes());
    for args in [vec!["."], vec!["x.yaml", "open.yaml"]] {
        let report = json_in(dir.path(), &args, None);
        assert_eq!(
            skipped(&report),
            [(
                "x.yaml".to_string(),
                "a FIFO (named pipe), not a regular file".to_string()
            )],
            "{args:?}"
        );
        assert_eq!(errors(&report), []);
        assert!(reachable(&report, "a"));
    }
}

#[cfg(unix)]
#[test]
fn a_file_name_that_is_not_utf8_is_linted_and_shown_escaped() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"p\xff.yaml");
    std::fs::write(dir.path().join(name), OPEN).unwrap();
    let report = json_in(dir.path(), &["."], None);
    assert_eq!(report["summary"]["files"], 1);
    assert!(reachable(&report, "a"));
    assert_eq!(report["findings"][0]["file"], "p\\xFF.yaml");
}

#[test]
fn a_directive_after_a_document_end_starts_the_next_document() {
    let dir = tempfile::tempdir().unwrap();
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\n...\n%YAML 1.2\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: a}\n";
    write(dir.path(), "pods.yaml", text.as_bytes());
    let report = json_in(dir.path(), &["."], None);
    assert_eq!(errors(&report), []);
    assert_eq!(workload_names(&report), ["p", "q"]);
}

#[test]
fn lone_carriage_returns_separate_documents_and_lines() {
    let dir = tempfile::tempdir().unwrap();
    let text = "apiVersion: v1\rkind: Pod\rmetadata: {name: p, namespace: a}\r---\rapiVersion: v1\rkind: Pod: x\rmetadata: {name: q, namespace: a}\r";
    write(dir.path(), "pods.yaml", text.as_bytes());
    let report = json_in(dir.path(), &["."], None);
    assert_eq!(workload_names(&report), ["p"]);
    assert_eq!(
        errors(&report),
        [(
            "pods.yaml".to_string(),
            Some(6),
            "mapping values are not allowed in this context".to_string()
        )]
    );
}

#[test]
fn a_bad_byte_in_one_document_spoils_only_that_document() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = OPEN.as_bytes().to_vec();
    bytes.extend_from_slice(
        b"---\n# caf\xe9\napiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: a}\n",
    );
    bytes.extend_from_slice(
        b"---\napiVersion: v1\nkind: Pod\nmetadata: {name: r, namespace: a}\n\x00\n",
    );
    write(dir.path(), "mixed.yaml", &bytes);
    let report = json_in(dir.path(), &["."], None);
    assert!(reachable(&report, "a"), "the first document still counts");
    let errors = errors(&report);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        (errors[0].1, errors[0].2.as_str()),
        (Some(9), "invalid UTF-8")
    );
    assert_eq!(
        (errors[1].1, errors[1].2.as_str()),
        (Some(17), "binary data (contains a NUL byte)")
    );
}

#[test]
fn a_large_single_line_json_document_is_linted() {
    let data: Vec<String> = (0..20_000)
        .map(|i| format!("\"k{i}\": \"{}\"", "v".repeat(40)))
        .collect();
    let config_map = format!(
        "{{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {{\"name\": \"big\", \"namespace\": \"a\"}}, \"data\": {{{}}}}}",
        data.join(", ")
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "big.json", config_map.as_bytes());
    write(dir.path(), "open.yaml", OPEN.as_bytes());
    let report = json_in(dir.path(), &["."], None);
    assert_eq!(errors(&report), []);
    assert_eq!(report["summary"]["documents"], 2);
    assert!(reachable(&report, "a"));
}

#[cfg(unix)]
#[test]
fn link_loops_and_links_to_nothing_are_skipped_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("loop.yaml", dir.path().join("loop.yaml")).unwrap();
    std::os::unix::fs::symlink("nowhere.yaml", dir.path().join("dangling.yaml")).unwrap();
    std::os::unix::fs::symlink(".", dir.path().join("self")).unwrap();
    write(dir.path(), "open.yaml", OPEN.as_bytes());
    let run = run_in(dir.path(), &["--format", "json", "."], None);
    assert_eq!(run.code, 1, "findings, and no input error: {}", run.stdout);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        skipped(&report),
        [
            (
                "dangling.yaml".to_string(),
                "symbolic link to nothing".to_string()
            ),
            ("loop.yaml".to_string(), "symbolic link loop".to_string()),
            ("self".to_string(), "symbolic link loop".to_string()),
        ]
    );
    assert_eq!(errors(&report), []);
}
