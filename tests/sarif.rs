//! `--format sarif`, through the binary: the fields GitHub code scanning and other SARIF
//! viewers read. Validation against the SARIF 2.1.0 schema is in `.ci/run`
//! (`.ci/validate_sarif.py`), since the schema lives outside the repository.

mod common;

use common::{json_in, root, run, run_in};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn sarif_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> (i32, Value) {
    let mut all = vec!["--format", "sarif"];
    all.extend_from_slice(args);
    let r = run_in(dir, &all, stdin);
    let value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("SARIF JSON ({e}): {}", r.stdout));
    (r.code, value)
}

fn sarif(args: &[&str]) -> (i32, Value) {
    sarif_in(root(), args, None)
}

fn results(doc: &Value) -> &Vec<Value> {
    doc["runs"][0]["results"].as_array().expect("results")
}

fn uri(location: &Value) -> &str {
    location["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .expect("uri")
}

fn fingerprint(result: &Value) -> &str {
    result["partialFingerprints"]["imdsLint/v1"]
        .as_str()
        .expect("fingerprint")
}

#[test]
fn demo_tool_and_rules() {
    let (code, doc) = sarif(&["fixtures/demo"]);
    assert_eq!(code, 1, "the exit status does not depend on the format");
    assert_eq!(doc["version"], "2.1.0");
    assert_eq!(doc["runs"].as_array().map(Vec::len), Some(1));
    let driver = &doc["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "imds-lint");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert!(driver.get("informationUri").is_none(), "{driver}");
    let rules = driver["rules"].as_array().expect("rules");
    let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "IMDS001", "IMDS002", "IMDS003", "IMDS004", "IMDS005", "IMDS006", "IMDS007", "IMDS008"
        ]
    );
    // The same list and levels as `imds-lint rule`.
    let listing = run(&["rule"]).stdout;
    for rule in rules {
        let id = rule["id"].as_str().unwrap_or_default();
        let line = listing.lines().find(|l| l.starts_with(id)).expect("listed");
        let name = rule["name"].as_str().expect("name");
        let level = rule["defaultConfiguration"]["level"]
            .as_str()
            .expect("level");
        let summary = rule["shortDescription"]["text"].as_str().expect("summary");
        assert!(
            line.contains(name) && line.contains(level) && line.ends_with(summary),
            "{line}"
        );
        let page = run(&["rule", id]).stdout;
        assert_eq!(rule["help"]["markdown"], page.as_str());
        assert_eq!(rule["help"]["text"], page.as_str());
        let full = rule["fullDescription"]["text"]
            .as_str()
            .expect("fullDescription");
        assert!(!full.is_empty() && page.contains(full), "{id}: {full}");
        // No link: the help is the page, and there is no address a link could rely on.
        assert!(rule.get("helpUri").is_none(), "{rule}");
    }
    assert_eq!(rules[4]["defaultConfiguration"]["level"], "warning");
}

#[test]
fn demo_results_match_the_json_findings() {
    let (_, doc) = sarif(&["fixtures/demo"]);
    let report = json_in(root(), &["fixtures/demo"], None);
    let findings = report["findings"].as_array().expect("findings");
    let results = results(&doc);
    assert_eq!(results.len(), findings.len());
    let rules = &doc["runs"][0]["tool"]["driver"]["rules"];
    for (result, finding) in results.iter().zip(findings) {
        assert_eq!(result["ruleId"], finding["rule"]);
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert_eq!(result["level"], finding["severity"]);
        let text = result["message"]["text"].as_str().expect("message");
        let message = finding["message"].as_str().expect("message");
        match finding["cluster"].as_str() {
            Some(cluster) => assert!(text.starts_with(&format!("cluster {cluster}: {message}"))),
            None => assert!(text.starts_with(message)),
        }
        let location = &result["locations"][0];
        assert_eq!(uri(location), finding["file"].as_str().expect("file"));
        assert_eq!(
            location["physicalLocation"]["artifactLocation"]["uriBaseId"],
            "%SRCROOT%"
        );
        let region = &location["physicalLocation"]["region"];
        assert_eq!(region["startLine"], finding["line"]);
        assert_eq!(region["startColumn"], finding["column"]);
        assert_eq!(region["endLine"], finding["end_line"]);
        assert_eq!(region["endColumn"], finding["end_column"]);
        assert_eq!(result["properties"]["namespace"], finding["namespace"]);
    }
    // The ipBlock that reopens the metadata service in namespace web, `ipBlock` underlined.
    let web = results
        .iter()
        .find(|r| uri(&r["locations"][0]).ends_with("web/netpol-frontend-egress.yaml"))
        .expect("the web finding");
    assert_eq!(
        web["locations"][0]["physicalLocation"]["region"],
        serde_json::json!({"startLine": 17, "startColumn": 11, "endLine": 17, "endColumn": 18})
    );
    assert!(
        web["message"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("\nhelp: add the metadata address"))
    );
    let fingerprints: BTreeSet<&str> = results.iter().map(fingerprint).collect();
    assert_eq!(fingerprints.len(), results.len(), "fingerprints are unique");

    let base = doc["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .expect("SRCROOT");
    assert!(
        base.starts_with("file:///") && base.ends_with('/'),
        "{base}"
    );
    assert!(
        base.trim_end_matches('/')
            .ends_with(root().file_name().and_then(|n| n.to_str()).expect("name"))
    );
    let invocation = &doc["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true);
    assert_eq!(invocation["exitCode"], 1);
    assert_eq!(
        invocation["toolExecutionNotifications"],
        serde_json::json!([])
    );
}

#[test]
fn input_errors_are_tool_notifications() {
    let (code, doc) = sarif(&["fixtures/bad-input"]);
    assert_eq!(code, 2);
    let report = json_in(root(), &["fixtures/bad-input"], None);
    let invocation = &doc["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert_eq!(invocation["exitCode"], 2);
    let errors: Vec<&Value> = invocation["toolExecutionNotifications"]
        .as_array()
        .expect("notifications")
        .iter()
        .filter(|n| n["level"] == "error")
        .collect();
    let want = report["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), want.len());
    for (notification, error) in errors.iter().zip(want) {
        assert_eq!(notification["message"]["text"], error["message"]);
        let location = &notification["locations"][0];
        assert_eq!(uri(location), error["file"].as_str().expect("file"));
        let region = &location["physicalLocation"]["region"];
        assert_eq!(region["startLine"], error["line"]);
        assert_eq!(region["startColumn"], error["column"]);
    }
    let mixed = errors
        .iter()
        .find(|n| uri(&n["locations"][0]) == "fixtures/bad-input/mixed.yaml")
        .expect("the broken document");
    assert_eq!(
        mixed["locations"][0]["physicalLocation"]["region"],
        serde_json::json!({"startLine": 12, "startColumn": 18})
    );
    // The other documents of the same file are still linted.
    assert!(
        results(&doc)
            .iter()
            .any(|r| uri(&r["locations"][0]) == "fixtures/bad-input/mixed.yaml")
    );
    // The Helm chart's templates are skipped, and say so.
    assert!(
        invocation["toolExecutionNotifications"]
            .as_array()
            .expect("notifications")
            .iter()
            .any(|n| n["level"] == "note" && uri(&n["locations"][0]).ends_with("templates"))
    );
}

#[test]
fn output_is_deterministic() {
    assert_eq!(
        run(&["--format", "sarif", "fixtures/demo"]).stdout,
        run(&["--format", "sarif", "fixtures/demo"]).stdout
    );
}

#[test]
fn standard_input_names_are_uri_encoded() {
    let manifest = b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: open\n";
    let (_, doc) = sarif_in(root(), &["-"], Some(manifest));
    assert_eq!(uri(&results(&doc)[0]["locations"][0]), "%3Cstdin%3E");
    let (_, doc) = sarif_in(
        root(),
        &["--stdin-filename", "rendered manifests/all.yaml", "-"],
        Some(manifest),
    );
    assert_eq!(
        uri(&results(&doc)[0]["locations"][0]),
        "rendered%20manifests/all.yaml"
    );
}

/// Results by rule and namespace, with their fingerprint and start line.
fn fingerprints_of(doc: &Value) -> Vec<(String, String, u64)> {
    results(doc)
        .iter()
        .map(|r| {
            (
                format!("{} {}", r["ruleId"], r["properties"]["namespace"]),
                fingerprint(r).to_string(),
                r["locations"][0]["physicalLocation"]["region"]["startLine"]
                    .as_u64()
                    .expect("line"),
            )
        })
        .collect()
}

#[test]
fn fingerprints_survive_lines_inserted_above() {
    let tree = tempfile::tempdir().expect("temp dir");
    let web = tree.path().join("web");
    std::fs::create_dir(&web).expect("mkdir");
    let source = root().join("fixtures/demo/clusters/prod/web");
    for entry in std::fs::read_dir(&source).expect("fixture") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), web.join(entry.file_name())).expect("copy");
    }
    let (_, before) = sarif_in(tree.path(), &["."], None);
    let before = fingerprints_of(&before);
    let opening = before
        .iter()
        .find(|(key, _, _)| key.starts_with("\"IMDS001\""))
        .expect("an IMDS001 finding")
        .clone();
    assert_eq!(opening.2, 17);

    // Blank lines and a comment at the top, and a comment inside the policy above the finding.
    let policy = web.join("netpol-frontend-egress.yaml");
    let text = std::fs::read_to_string(&policy).expect("read");
    let edited = format!(
        "\n\n# reviewed\n{}",
        text.replace("  egress:\n", "  # why\n  egress:\n")
    );
    std::fs::write(&policy, edited).expect("write");
    let (_, after) = sarif_in(tree.path(), &["."], None);
    let after = fingerprints_of(&after);
    let moved = after
        .iter()
        .find(|(key, _, _)| key == &opening.0)
        .expect("still found");
    assert_eq!(moved.2, 21, "the finding moved down four lines");
    assert_eq!(moved.1, opening.1, "with the same fingerprint");
    let unchanged = |v: &[(String, String, u64)]| {
        v.iter()
            .map(|(k, f, _)| (k.clone(), f.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(unchanged(&before), unchanged(&after));

    // Another workload the policy exposes changes the message, not the finding.
    std::fs::write(
        web.join("deployment-frontend-canary.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: frontend-canary, namespace: web}\n\
         spec:\n  template:\n    metadata: {labels: {app: frontend}}\n",
    )
    .expect("write");
    let (_, more) = sarif_in(tree.path(), &["."], None);
    let message = results(&more)
        .iter()
        .find(|r| fingerprint(r) == opening.1)
        .map(|r| {
            r["message"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .expect("same fingerprint");
    assert!(
        message.contains("(affects Deployment web/frontend-canary, Deployment web/frontend)"),
        "{message}"
    );
    std::fs::remove_file(web.join("deployment-frontend-canary.yaml")).expect("remove");

    // A real change to the node is a different finding.
    std::fs::write(&policy, text.replace("169.254.0.0/16", "169.254.128.0/17")).expect("write");
    let (_, changed) = sarif_in(tree.path(), &["."], None);
    let changed = fingerprints_of(&changed);
    let reopened = changed
        .iter()
        .find(|(key, _, _)| key == &opening.0)
        .expect("still reachable");
    assert_ne!(reopened.1, opening.1);
}

#[test]
fn suppressed_findings_are_results_suppressed_in_source() {
    let (_, doc) = sarif(&["fixtures/suppress"]);
    let report = json_in(root(), &["fixtures/suppress"], None);
    let suppressed: Vec<&Value> = results(&doc)
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    let listed = report["suppressed"].as_array().expect("suppressed");
    assert!(!listed.is_empty());
    assert_eq!(suppressed.len(), listed.len());
    for (result, entry) in suppressed.iter().zip(listed) {
        assert_eq!(result["ruleId"], entry["finding"]["rule"]);
        let s = &result["suppressions"][0];
        assert_eq!(s["kind"], "inSource");
        assert_eq!(s["justification"], entry["reason"]);
        assert_eq!(
            s["location"]["physicalLocation"]["region"]["startLine"],
            entry["suppressed_by"]["line"]
        );
    }
    let standing = results(&doc).len() - suppressed.len();
    assert_eq!(
        standing,
        report["findings"].as_array().expect("findings").len()
    );
}

#[test]
fn the_message_names_the_cluster() {
    let (_, doc) = sarif(&["fixtures/flux-fleet"]);
    let report = json_in(root(), &["fixtures/flux-fleet"], None);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(results(&doc).len(), findings.len());
    for (result, finding) in results(&doc).iter().zip(findings) {
        let cluster = finding["cluster"].as_str().unwrap();
        let text = result["message"]["text"].as_str().unwrap();
        assert!(
            text.starts_with(&format!(
                "cluster {cluster}: {}",
                finding["message"].as_str().unwrap()
            )),
            "{text}"
        );
        assert_eq!(result["properties"]["cluster"], cluster);
    }
    // Without a cluster, the message is the finding's.
    let (_, pods) = sarif(&["fixtures/pods"]);
    assert!(!results(&pods).is_empty());
    assert!(results(&pods).iter().all(|r| {
        !r["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("cluster ")
    }));
}
