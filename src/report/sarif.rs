//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.
//!
//! One run. Findings are results with a stable `partialFingerprints` entry, so a viewer keeps
//! tracking an alert when lines are inserted above it; input errors are tool execution
//! notifications. Deterministic: no times, keys sorted, findings in the report's order.

use crate::Outcome;
use crate::lint::suppress::Suppressed;
use crate::lint::{Finding, RULES, Rule, Severity};
use crate::model::Location;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
/// The base every repository-relative artifact URI is resolved against.
const SRCROOT: &str = "%SRCROOT%";
/// The key of imds-lint's own fingerprint; a new version if its inputs ever change.
const FINGERPRINT_KEY: &str = "imdsLint/v1";

pub fn render(outcome: &Outcome) -> String {
    let root = std::env::current_dir().unwrap_or_default();
    render_with_root(outcome, &root)
}

/// The document, with relative paths resolved against `root` (the directory they are relative
/// to, the current one).
fn render_with_root(outcome: &Outcome, root: &Path) -> String {
    let driver = json!({
        "name": "imds-lint",
        "version": env!("CARGO_PKG_VERSION"),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "rules": RULES.iter().map(|r| rule_descriptor(r)).collect::<Vec<_>>(),
    });
    let document = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "invocations": [invocation(outcome)],
            "originalUriBaseIds": {SRCROOT: {"uri": directory_uri(root)}},
            // Columns count characters (code points), not UTF-16 units.
            "columnKind": "unicodeCodePoints",
            "results": results(outcome),
        }],
    });
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// A section of a rule's page: the text between `heading` and the next heading.
fn page_section<'a>(doc: &'a str, heading: &str) -> Option<&'a str> {
    let start = doc.find(heading)? + heading.len();
    let rest = &doc[start..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    Some(rest[..end].trim())
}

fn rule_descriptor(rule: &Rule) -> Value {
    let what = page_section(rule.doc, "## What it checks").unwrap_or(rule.summary);
    // The page itself is the help: imds-lint has no web address a link could rely on.
    json!({
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": what, "markdown": what},
        "help": {"text": rule.doc, "markdown": rule.doc},
        "defaultConfiguration": {"level": level(rule.severity)},
        "properties": {"tags": ["security", "kubernetes", "network-policy"]},
    })
}

/// Characters kept as they are in a URI path; everything else is percent-encoded. `:` is
/// encoded too, so that a relative path's first segment is never read as a scheme.
fn keeps(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=@/".contains(c)
}

fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if keeps(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

/// A path with `/` separators, whatever the platform.
fn slashed(path: &str) -> String {
    if std::path::MAIN_SEPARATOR == '\\' {
        path.replace('\\', "/")
    } else {
        path.to_string()
    }
}

/// A `file:` URI for an absolute path (`/srv/x` or `C:/x`).
fn file_uri(absolute: &str) -> String {
    let path = slashed(absolute);
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    // The drive letter's colon stays as it is in `file:///C:/`.
    match path.get(1..3) {
        Some(drive)
            if drive.ends_with(':') && drive.starts_with(|c: char| c.is_ascii_alphabetic()) =>
        {
            format!("file://{}{}", &path[..3], percent_encode(&path[3..]))
        }
        _ => format!("file://{}", percent_encode(&path)),
    }
}

fn directory_uri(dir: &Path) -> String {
    let mut uri = file_uri(&dir.to_string_lossy());
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// Where a report path lives: relative to `%SRCROOT%` when it is relative (the usual case),
/// else an absolute `file:` URI.
fn artifact_location(display: &str) -> Value {
    if Path::new(display).is_absolute() {
        json!({"uri": file_uri(display)})
    } else {
        json!({"uri": percent_encode(&slashed(display)), "uriBaseId": SRCROOT})
    }
}

fn physical_location(outcome: &Outcome, at: &Location) -> Value {
    json!({
        "artifactLocation": artifact_location(file_name(outcome, at.file)),
        "region": {
            "startLine": at.line,
            "startColumn": at.column,
            "endLine": at.end_line,
            "endColumn": at.end_column,
        },
    })
}

fn file_name(outcome: &Outcome, file: usize) -> &str {
    outcome.model.files.get(file).map_or("", String::as_str)
}

/// FNV-1a, 64 bits: small, and the same on every platform and release, unlike std's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// What identifies a finding apart from where it is: rule, namespace, file, message and the
/// label of the node it points at. None of them holds a line or column number, so inserting
/// lines above a finding leaves this unchanged.
fn identity(outcome: &Outcome, finding: &Finding) -> String {
    [
        finding.rule,
        finding.namespace.as_deref().unwrap_or(""),
        finding.cluster.as_deref().unwrap_or(""),
        &slashed(file_name(outcome, finding.at.file)),
        // The workloads a finding lists come and go without the finding itself changing.
        &finding.message,
        &finding.label,
    ]
    .join("\0")
}

fn results(outcome: &Outcome) -> Vec<Value> {
    // Findings alike in every part of their identity (two equal ipBlocks in one rule) are told
    // apart by their order in the file, which moving lines does not change.
    let mut occurrences: HashMap<String, usize> = HashMap::new();
    // Suppressed findings stay in the log, marked, so code scanning shows them as dismissed
    // in source rather than as fixed.
    let suppressed = outcome.suppressed.iter().map(|s| (&s.finding, Some(s)));
    outcome
        .findings
        .iter()
        .map(|finding| (finding, None))
        .chain(suppressed)
        .map(|(finding, suppression)| {
            let identity = identity(outcome, finding);
            let occurrence = occurrences.entry(identity.clone()).or_insert(0);
            *occurrence += 1;
            let fingerprint = format!("{:016x}:{occurrence}", fnv1a(identity.as_bytes()));
            result(outcome, finding, suppression, fingerprint)
        })
        .collect()
}

/// One result: the finding at its place, with its fingerprint, and the annotation that
/// suppressed it, if any.
fn result(
    outcome: &Outcome,
    finding: &Finding,
    suppression: Option<&Suppressed>,
    fingerprint: String,
) -> Value {
    // The cluster first, so that the same base's findings in prod and staging differ.
    let text = match &finding.cluster {
        Some(cluster) => format!("cluster {cluster}: {}", finding.text()),
        None => finding.text(),
    };
    let message = match &finding.help {
        Some(help) => format!("{text}\nhelp: {help}"),
        None => text,
    };
    let mut location = json!({"physicalLocation": physical_location(outcome, &finding.at)});
    if !finding.label.is_empty() {
        location["message"] = json!({"text": finding.label});
    }
    let mut result = json!({
        "ruleId": finding.rule,
        "level": level(finding.severity),
        "message": {"text": message},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
    });
    if let Some(index) = RULES.iter().position(|r| r.id == finding.rule) {
        result["ruleIndex"] = json!(index);
    }
    if let Some(namespace) = &finding.namespace {
        result["properties"] = json!({"namespace": namespace});
    }
    if let Some(cluster) = &finding.cluster {
        result["properties"]["cluster"] = json!(cluster);
    }
    if let Some(s) = suppression {
        result["suppressions"] = json!([{
            "kind": "inSource",
            "justification": s.reason,
            "location": {"physicalLocation": physical_location(outcome, &s.by)},
        }]);
    }
    if !finding.related.is_empty() {
        result["relatedLocations"] = finding
            .related
            .iter()
            .enumerate()
            .map(|(i, related)| {
                json!({
                    "id": i + 1,
                    "physicalLocation": physical_location(outcome, &related.at),
                    "message": {"text": related.message},
                })
            })
            .collect();
    }
    result
}

/// The run's invocation: input errors (level error), and what was skipped, not evaluated or
/// noted (level note), so that nothing is dropped silently.
fn invocation(outcome: &Outcome) -> Value {
    let mut notifications = Vec::new();
    for error in &outcome.errors {
        let mut notification = json!({
            "level": "error",
            "descriptor": {"id": "input-error"},
            "message": {"text": error.message},
        });
        let mut physical = json!({"artifactLocation": artifact_location(&error.file)});
        if let Some(pos) = error.pos {
            physical["region"] = json!({"startLine": pos.line, "startColumn": pos.column});
        }
        notification["locations"] = json!([{"physicalLocation": physical}]);
        notifications.push(notification);
    }
    for skipped in &outcome.skipped {
        notifications.push(json!({
            "level": "note",
            "descriptor": {"id": "skipped"},
            "message": {"text": format!("skipped: {}", skipped.reason.describe())},
            "locations": [{"physicalLocation": {"artifactLocation": artifact_location(&skipped.path)}}],
        }));
    }
    for ((kind, reason), objects) in &outcome.model.not_evaluated {
        notifications.push(json!({
            "level": "note",
            "descriptor": {"id": "not-evaluated"},
            "message": {"text": format!("{} {kind} not evaluated: {reason}", objects.len())},
        }));
    }
    for note in &outcome.notes {
        notifications.push(json!({
            "level": "note",
            "descriptor": {"id": "note"},
            "message": {"text": note},
        }));
    }
    json!({
        "executionSuccessful": outcome.errors.is_empty(),
        "exitCode": outcome.exit_code(),
        "toolExecutionNotifications": notifications,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::Related;

    #[test]
    fn fnv1a_matches_the_published_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn uris_are_percent_encoded_with_forward_slashes() {
        assert_eq!(percent_encode("apps/web/np.yaml"), "apps/web/np.yaml");
        assert_eq!(
            percent_encode("a b/<stdin>%:ü.yaml"),
            "a%20b/%3Cstdin%3E%25%3A%C3%BC.yaml"
        );
        assert_eq!(file_uri("/srv/my repo"), "file:///srv/my%20repo");
        assert_eq!(file_uri("C:/work/x y"), "file:///C:/work/x%20y");
        assert_eq!(directory_uri(Path::new("/srv/repo")), "file:///srv/repo/");
        assert_eq!(
            artifact_location("/abs/x.yaml"),
            json!({"uri": "file:///abs/x.yaml"})
        );
        assert_eq!(
            artifact_location("rel/x.yaml"),
            json!({"uri": "rel/x.yaml", "uriBaseId": "%SRCROOT%"})
        );
    }

    #[test]
    fn related_places_become_related_locations() {
        let mut outcome =
            crate::lint_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: open\n");
        let first = outcome.findings[0].at;
        outcome.findings[0].related.push(Related {
            at: first,
            message: "Deployment open/api".into(),
        });
        let sarif: Value =
            serde_json::from_str(&render_with_root(&outcome, Path::new("/r"))).expect("valid JSON");
        let related = &sarif["runs"][0]["results"][0]["relatedLocations"];
        assert_eq!(related[0]["id"], 1);
        assert_eq!(related[0]["message"]["text"], "Deployment open/api");
        assert_eq!(
            related[0]["physicalLocation"]["artifactLocation"]["uri"],
            "test.yaml"
        );
        assert_eq!(related[0]["physicalLocation"]["region"]["startLine"], 1);
        assert_eq!(
            sarif["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"],
            "file:///r/"
        );
    }

    #[test]
    fn equal_findings_get_distinct_fingerprints() {
        // One rule with two ipBlocks that both contain the address: same message, same label.
        let yaml = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: n}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to:
        - ipBlock: {cidr: 169.254.0.0/16}
        - ipBlock: {cidr: 169.254.0.0/16}
";
        let outcome = crate::lint_text(yaml);
        let sarif: Value =
            serde_json::from_str(&render_with_root(&outcome, Path::new("/r"))).expect("JSON");
        let fingerprints: Vec<&str> = sarif["runs"][0]["results"]
            .as_array()
            .expect("results")
            .iter()
            .filter(|r| r["ruleId"] == "IMDS001")
            .map(|r| {
                r["partialFingerprints"][FINGERPRINT_KEY]
                    .as_str()
                    .unwrap_or("")
            })
            .collect();
        assert_eq!(fingerprints.len(), 2, "{sarif}");
        assert_ne!(fingerprints[0], fingerprints[1]);
        assert!(fingerprints[0].ends_with(":1") && fingerprints[1].ends_with(":2"));
    }
}
