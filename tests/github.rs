//! `--format github`, through the binary: one workflow command per finding and input error,
//! read back the way the Actions runner reads it.

mod common;

use common::{json_in, root, run, run_in};
use std::collections::BTreeMap;

/// One parsed workflow command: `::command key=value,...::message`, unescaped as the runner does.
#[derive(Debug)]
struct Annotation {
    command: String,
    properties: BTreeMap<String, String>,
    message: String,
}

fn unescape(text: &str) -> String {
    text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

fn parse(line: &str) -> Annotation {
    let rest = line.strip_prefix("::").expect("starts with ::");
    let (head, message) = rest.split_once("::").expect("ends its properties with ::");
    let (command, props) = head.split_once(' ').unwrap_or((head, ""));
    let properties = props
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (key, value) = p.split_once('=').expect("key=value");
            (key.to_string(), unescape(value))
        })
        .collect();
    Annotation {
        command: command.to_string(),
        properties,
        message: unescape(message),
    }
}

fn annotations(stdout: &str) -> Vec<Annotation> {
    stdout.lines().map(parse).collect()
}

#[test]
fn demo_findings_are_annotations() {
    let r = run(&["--format", "github", "fixtures/demo"]);
    assert_eq!(r.code, 1);
    let report = json_in(root(), &["fixtures/demo"], None);
    let findings = report["findings"].as_array().expect("findings");
    let annotations = annotations(&r.stdout);
    assert_eq!(annotations.len(), findings.len());
    for (a, f) in annotations.iter().zip(findings) {
        assert_eq!(a.command, f["severity"].as_str().expect("severity"));
        let p = &a.properties;
        assert_eq!(p["file"], f["file"].as_str().expect("file"));
        assert_eq!(p["line"], f["line"].to_string());
        assert_eq!(p["endLine"], f["end_line"].to_string());
        let title = format!(
            "{} {}",
            f["rule"].as_str().unwrap_or(""),
            f["name"].as_str().unwrap_or("")
        );
        match f["cluster"].as_str() {
            Some(cluster) => assert_eq!(p["title"], format!("{title} (cluster {cluster})")),
            None => assert_eq!(p["title"], title),
        }
        assert!(
            a.message
                .starts_with(f["message"].as_str().expect("message"))
        );
        assert!(a.message.contains("\nhelp: "), "{}", a.message);
        // Columns only for a node on one line: the runner refuses them across lines.
        if f["line"] == f["end_line"] {
            assert_eq!(p["col"], f["column"].to_string());
            assert_eq!(p["endColumn"], f["end_column"].to_string());
        } else {
            assert!(
                !p.contains_key("col") && !p.contains_key("endColumn"),
                "{p:?}"
            );
        }
    }
    assert!(r.stdout.lines().any(|l| l
        == "::warning file=fixtures/demo/clusters/prod/monitoring/daemonset-node-exporter.yaml,\
            line=15,endLine=15,col=7,endColumn=18,title=IMDS005 host-network-pod (cluster clusters/prod)::DaemonSet \
            monitoring/node-exporter runs with hostNetwork: true and reaches 169.254.169.254:80/TCP, \
            [fd00:ec2::254]:80/TCP whatever the policies say%0Ahelp: drop `hostNetwork: true` if \
            these pods do not need it; otherwise block the metadata endpoint for them on the node \
            (e.g. an iptables rule for their UID), since no NetworkPolicy applies to them and so \
            their namespace counts as reachable (IMDS001)"));
}

#[test]
fn input_errors_are_error_annotations() {
    let r = run(&["--format", "github", "fixtures/bad-input"]);
    assert_eq!(r.code, 2);
    let report = json_in(root(), &["fixtures/bad-input"], None);
    let errors: Vec<Annotation> = annotations(&r.stdout)
        .into_iter()
        .filter(|a| a.properties["title"] == "imds-lint input error")
        .collect();
    let want = report["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), want.len());
    for (a, e) in errors.iter().zip(want) {
        assert_eq!(a.command, "error");
        assert_eq!(a.properties["file"], e["file"].as_str().expect("file"));
        assert_eq!(a.properties["line"], e["line"].to_string());
        assert_eq!(a.properties["col"], e["column"].to_string());
        assert_eq!(a.message, e["message"].as_str().expect("message"));
    }
    assert!(r.stdout.contains(
        "::error file=fixtures/bad-input/mixed.yaml,line=12,col=18,title=imds-lint input error::\
         while parsing a flow sequence, expected ',' or ']'\n"
    ));
}

#[test]
fn names_and_messages_are_escaped() {
    // A policy name with `%` and a stream name with `,`, `:`, `%` and a newline.
    let manifest = b"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: 'open%20all', namespace: team}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{}]
";
    let name = "charts/a,b:100%\nall.yaml";
    let r = run_in(
        root(),
        &["--format", "github", "--stdin-filename", name, "-"],
        Some(manifest),
    );
    assert_eq!(r.code, 1);
    // The API server refuses the name (IMDS004), so the namespace has no policy (IMDS001-003).
    assert_eq!(
        r.stdout.lines().count(),
        4,
        "one line per finding:\n{}",
        r.stdout
    );
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains("IMDS004"))
        .expect("IMDS004");
    assert!(
        line.starts_with("::error file=charts/a%2Cb%3A100%25%0Aall.yaml,line=3,"),
        "{line}"
    );
    assert!(
        line.contains("::NetworkPolicy team/open%2520all: metadata.name \"open%2520all\""),
        "{line}"
    );
    let a = parse(line);
    assert_eq!(a.properties["file"], name);
    assert_eq!(a.properties["title"], "IMDS004 invalid-network-policy");
    assert!(
        a.message
            .starts_with("NetworkPolicy team/open%20all: metadata.name \"open%20all\"")
    );
    assert!(a.message.contains("\nhelp: "));
}

#[test]
fn the_title_names_the_cluster() {
    // flux-system is in both clusters, at the same kind of place: the titles tell them apart.
    let r = run(&["--format", "github", "fixtures/flux-fleet"]);
    let report = json_in(root(), &["fixtures/flux-fleet"], None);
    let findings = report["findings"].as_array().unwrap();
    let titled = annotations(&r.stdout);
    assert_eq!(titled.len(), findings.len());
    for (annotation, finding) in titled.iter().zip(findings) {
        assert_eq!(
            annotation.properties["title"],
            format!(
                "{} {} (cluster {})",
                finding["rule"].as_str().unwrap(),
                finding["name"]
                    .as_str()
                    .unwrap_or_else(|| rule_name(finding)),
                finding["cluster"].as_str().unwrap()
            )
        );
    }
    // Without a cluster, the title is the rule's alone.
    let pods = annotations(&run(&["--format", "github", "fixtures/pods"]).stdout);
    assert!(!pods.is_empty());
    assert!(
        pods.iter()
            .all(|a| !a.properties["title"].contains("cluster"))
    );
}

fn rule_name(finding: &serde_json::Value) -> &'static str {
    match finding["rule"].as_str().unwrap() {
        "IMDS001" => "metadata-reachable",
        "IMDS002" => "missing-deny-egress-all",
        "IMDS003" => "missing-allow-except-metadata",
        other => panic!("no name for {other} here"),
    }
}
