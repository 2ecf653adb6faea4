//! The human report at scale, and the concise format and statistics: findings grouped by
//! cluster and namespace, a namespace with no Egress policy as one finding, wrapping at the
//! terminal's width without splitting a path, and the cluster named in every format.
//! Snapshots of a generated 60-namespace repository and of every fixture.

mod common;

use common::root;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};

struct Run {
    code: i32,
    stdout: String,
}

/// Runs imds-lint in `dir` with `COLUMNS` set to `columns` (none: unset).
fn run_with_columns(dir: &Path, args: &[&str], columns: Option<usize>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_imds-lint"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null());
    if let Some(columns) = columns {
        command.env("COLUMNS", columns.to_string());
    }
    let output = command.output().expect("imds-lint runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    Run {
        code: output.status.code().expect("exited"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8"),
    }
}

fn run(dir: &Path, args: &[&str]) -> Run {
    run_with_columns(dir, args, Some(100))
}

/// The report with the summary line's time (`0.02s`, the last word of a line) replaced, so
/// that it can be a snapshot.
fn stable(text: &str) -> String {
    let elapsed = |word: &str| {
        word.strip_suffix('s')
            .is_some_and(|n| n.contains('.') && n.chars().all(|c| c.is_ascii_digit() || c == '.'))
    };
    text.lines()
        .map(|l| match l.rsplit_once(' ') {
            Some((before, last)) if elapsed(last) => format!("{before} <elapsed>"),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let r = run(dir, &all);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

const NAMESPACES: usize = 60;

/// A repository of 60 namespaces, `team-00` … `team-59`, each with a Namespace and a
/// Deployment: 30 with no policy at all, 15 with the pair, 10 with the pair and a policy that
/// opens 169.254.0.0/16 to its pods, 5 with only the deny half. One folder per namespace,
/// with long names, so that paths are longer than a narrow terminal.
fn sixty_namespaces() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..NAMESPACES {
        let ns = format!("team-{i:02}");
        let folder = dir
            .path()
            .join("platform/production/namespaces")
            .join(format!("{ns}-with-a-rather-long-folder-name"));
        std::fs::create_dir_all(&folder).unwrap();
        let write = |name: &str, text: String| std::fs::write(folder.join(name), text).unwrap();
        write(
            "namespace.yaml",
            format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"),
        );
        write(
            "deployment.yaml",
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: {ns}\nspec:\n  selector:\n    matchLabels: {{app: api}}\n  template:\n    metadata:\n      labels: {{app: api}}\n    spec:\n      containers: [{{name: api, image: api:1}}]\n"
            ),
        );
        let deny = format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny-egress-all\n  namespace: {ns}\nspec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n"
        );
        let allow = format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-egress-all-except-metadata\n  namespace: {ns}\nspec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n  egress:\n    - to:\n        - ipBlock:\n            cidr: 0.0.0.0/0\n            except: [169.254.169.254/32]\n        - ipBlock:\n            cidr: ::/0\n            except: ['fd00:ec2::254/128']\n"
        );
        let wide = format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-link-local\n  namespace: {ns}\nspec:\n  podSelector:\n    matchLabels: {{app: api}}\n  policyTypes: [Egress]\n  egress:\n    - to:\n        - ipBlock:\n            cidr: 169.254.0.0/16\n"
        );
        match i {
            0..30 => {}
            30..45 => {
                write("deny.yaml", deny);
                write("allow.yaml", allow);
            }
            45..55 => {
                write("deny.yaml", deny);
                write("allow.yaml", allow);
                write("wide.yaml", wide);
            }
            _ => write("deny.yaml", deny),
        }
    }
    dir
}

#[test]
fn sixty_namespaces_human() {
    let repo = sixty_namespaces();
    let r = run(repo.path(), &["--color", "never", "."]);
    assert_eq!(r.code, 1);
    insta::assert_snapshot!("sixty_namespaces_human", stable(&r.stdout));
}

#[test]
fn sixty_namespaces_concise() {
    let repo = sixty_namespaces();
    let r = run(repo.path(), &["--format", "concise", "."]);
    assert_eq!(r.code, 1);
    insta::assert_snapshot!("sixty_namespaces_concise", stable(&r.stdout));
}

#[test]
fn sixty_namespaces_statistics() {
    let repo = sixty_namespaces();
    let r = run(repo.path(), &["--color", "never", "--statistics", "."]);
    assert_eq!(r.code, 1);
    insta::assert_snapshot!("sixty_namespaces_statistics", stable(&r.stdout));
}

/// The human report's findings by namespace: the heading lines in order.
fn headings(report: &str) -> Vec<&str> {
    report.lines().filter(|l| l.starts_with("── ")).collect()
}

#[test]
fn findings_are_grouped_by_namespace_with_a_blank_line_between() {
    let repo = sixty_namespaces();
    let r = run(repo.path(), &["--color", "never", "."]);
    let headings = headings(&r.stdout);
    // Every namespace with a finding once, in order: 30 with no policy, 10 opened, 5 halves.
    let expected: Vec<String> = (0..30)
        .chain(45..60)
        .map(|i| format!("── namespace team-{i:02}"))
        .collect();
    assert_eq!(headings, expected);
    // Each finding starts after a blank line: a heading's or the previous finding's.
    let lines: Vec<&str> = r.stdout.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("IMDS0") {
            assert_eq!(lines[i - 1], "", "no blank line before line {i}: {line}");
        }
    }
}

#[test]
fn a_namespace_without_egress_policy_is_one_finding_with_an_also_line() {
    let repo = sixty_namespaces();
    let r = run(repo.path(), &["--color", "never", "."]);
    let report = json(repo.path(), &["."]);
    // JSON keeps all three findings of such a namespace...
    let rules_of = |ns: &str| -> Vec<String> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["namespace"] == ns)
            .map(|f| f["rule"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(rules_of("team-00"), ["IMDS001", "IMDS002", "IMDS003"]);
    // ...the human report shows one snippet, and the pair on one "also" line.
    let section: String = r
        .stdout
        .split("── namespace ")
        .find(|s| s.starts_with("team-00\n"))
        .unwrap()
        .to_string();
    assert_eq!(section.matches("╭─[").count(), 1, "{section}");
    assert!(section.starts_with("team-00\n\nIMDS001\n"), "{section}");
    let also: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("  also: "))
        .collect();
    assert_eq!(also.len(), 1, "{section}");
    assert!(
        also[0].contains("IMDS002 missing-deny-egress-all, IMDS003 missing-allow-except-metadata"),
        "{section}"
    );
    // A namespace with only the deny half still shows its IMDS003 in full.
    let half = r
        .stdout
        .split("── namespace ")
        .find(|s| s.starts_with("team-59\n"))
        .unwrap();
    assert!(half.contains("IMDS003\n"), "{half}");
    assert!(!half.contains("also:"), "{half}");
    // 30 namespaces × one snippet, 10 opening rules, 5 missing halves.
    assert_eq!(r.stdout.matches("╭─[").count(), 45);
}

#[test]
fn concise_is_one_line_per_finding_with_its_place() {
    let repo = sixty_namespaces();
    let r = run(repo.path(), &["--format", "concise", "."]);
    let report = json(repo.path(), &["."]);
    let findings = report["findings"].as_array().unwrap();
    let lines: Vec<&str> = r.stdout.lines().filter(|l| l.contains(": IMDS0")).collect();
    assert_eq!(lines.len(), findings.len());
    for (line, f) in lines.iter().zip(findings) {
        let start = format!(
            "{}:{}:{}: {} [{}] ",
            f["file"].as_str().unwrap(),
            f["line"],
            f["column"],
            f["rule"].as_str().unwrap(),
            f["namespace"].as_str().unwrap()
        );
        assert!(line.starts_with(&start), "{line}\nshould start {start}");
        assert!(line.ends_with(f["message"].as_str().unwrap()), "{line}");
    }
    // Then the summary line, as in the human report, not wrapped.
    assert!(
        r.stdout.lines().last().unwrap().contains("60 namespaces"),
        "{}",
        r.stdout
    );
}

#[test]
fn statistics_count_per_rule_and_list_the_first_20_reachable_namespaces() {
    let repo = sixty_namespaces();
    let r = run_with_columns(
        repo.path(),
        &["--color", "never", "--statistics", "."],
        Some(1000),
    );
    assert_eq!(r.code, 1);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        &lines[..3],
        [
            "40  IMDS001  metadata-reachable             error",
            // The deny-only namespaces are closed: their IMDS003 is a warning.
            "35  IMDS003  missing-allow-except-metadata  30 errors, 5 warnings",
            "30  IMDS002  missing-deny-egress-all        error",
        ]
    );
    // No finding is shown, only counted.
    assert!(!r.stdout.contains("╭─["), "{}", r.stdout);
    let reachable = lines
        .iter()
        .find(|l| l.starts_with("metadata reachable from "))
        .unwrap();
    let names: Vec<String> = (0..20).map(|i| format!("team-{i:02}")).collect();
    assert_eq!(
        *reachable,
        format!(
            "metadata reachable from 40 namespaces: {} … and 20 more (--format json lists every one)",
            names.join(", ")
        )
    );
}

#[test]
fn statistics_in_the_concise_format_too() {
    let r = run(
        root(),
        &["--format", "concise", "--statistics", "fixtures/demo"],
    );
    assert!(
        r.stdout.starts_with("5  IMDS001  metadata-reachable"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains(": IMDS001 ["), "{}", r.stdout);
    // Input errors stay one line each, no snippet.
    let bad = run(
        root(),
        &["--format", "concise", "--statistics", "fixtures/bad-input"],
    );
    assert_eq!(bad.code, 2);
    assert!(!bad.stdout.contains("╭─["), "{}", bad.stdout);
    assert!(
        bad.stdout.contains(
            "fixtures/bad-input/deep.yaml:7:261: input-error nesting deeper than 256 levels\n"
        ),
        "{}",
        bad.stdout
    );
}

/// Paths in a report: every `fixtures/…` or `./…` word, with the punctuation around it cut.
fn paths_in(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| "()[],;:╭─".contains(c) || c.is_ascii_digit()))
        .filter(|w| w.contains(".yaml"))
        .map(str::to_string)
        .collect()
}

#[test]
fn wrapping_follows_columns_and_never_splits_a_path() {
    let repo = sixty_namespaces();
    for columns in [50, 80, 120] {
        let r = run_with_columns(repo.path(), &["--color", "never", "."], Some(columns));
        for line in r.stdout.lines() {
            // A line longer than the width is one word that cannot be broken (a path, the
            // snippet's heading), the YAML shown or the label under it.
            let width = line.chars().count();
            if width > columns {
                let words = line.split_whitespace().count();
                assert!(
                    line.contains("╭─[")
                        || line.contains(" │ ")
                        || line.contains(" · ")
                        || words <= 2,
                    "COLUMNS={columns}: {width} columns: {line}"
                );
            }
        }
        // Every path named is a whole file of the repository.
        let paths = paths_in(&r.stdout);
        assert!(paths.len() > 60, "{}", r.stdout);
        for path in paths {
            assert!(
                repo.path().join(&path).is_file(),
                "COLUMNS={columns}: {path} is not a file"
            );
        }
    }
    // Narrower lines at 50 columns than at 120.
    let narrow = run_with_columns(repo.path(), &["--color", "never", "."], Some(50));
    let wide = run_with_columns(repo.path(), &["--color", "never", "."], Some(120));
    assert!(narrow.stdout.lines().count() > wide.stdout.lines().count());
}

#[test]
fn related_paths_are_never_split_across_lines() {
    // The demo's hostNetwork finding names a long path in its help, which a hyphen once split.
    let r = run_with_columns(root(), &["--color", "never", "fixtures/demo"], Some(120));
    assert!(
        r.stdout
            .contains("(fixtures/demo/clusters/prod/monitoring/daemonset-node-exporter.yaml:15)"),
        "{}",
        r.stdout
    );
}

#[test]
fn human_and_concise_name_the_cluster() {
    let args = ["fixtures/flux-fleet"];
    let report = json(root(), &args);
    let findings = report["findings"].as_array().unwrap();
    assert!(findings.iter().all(|f| f["cluster"].is_string()));
    // Human: under a heading naming namespace and cluster.
    let human = run(root(), &["--color", "never", "fixtures/flux-fleet"]).stdout;
    assert_eq!(
        headings(&human),
        [
            "── namespace flux-system · cluster clusters/prod",
            "── namespace flux-system · cluster clusters/staging",
            "── namespace web · cluster clusters/staging",
        ]
    );
    // Concise: in the brackets.
    let concise = run(root(), &["--format", "concise", "fixtures/flux-fleet"]).stdout;
    assert!(
        concise.contains(": IMDS001 [clusters/prod/flux-system] all pods in namespace flux-system"),
        "{concise}"
    );
    // GitHub and SARIF: tests/github.rs and tests/sarif.rs.
}

#[test]
fn findings_outside_any_cluster_name_none() {
    let human = run(root(), &["--color", "never", "fixtures/pods"]).stdout;
    assert!(!headings(&human).is_empty());
    assert!(headings(&human).iter().all(|h| !h.contains("cluster")));
    let concise = run(root(), &["--format", "concise", "fixtures/pods"]).stdout;
    assert!(concise.contains(": IMDS001 [payments] "), "{concise}");
}

/// The fixture folders, each linted on its own.
fn fixture_dirs() -> Vec<String> {
    let mut dirs: Vec<String> = std::fs::read_dir(root().join("fixtures"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn fixtures_human() {
    for dir in fixture_dirs() {
        let path = format!("fixtures/{dir}");
        let r = run(root(), &["--color", "never", &path]);
        insta::assert_snapshot!(format!("fixture_human_{dir}"), stable(&r.stdout));
    }
}

#[test]
fn fixtures_concise() {
    let mut all = String::new();
    for dir in fixture_dirs() {
        let path = format!("fixtures/{dir}");
        let r = run(root(), &["--format", "concise", &path]);
        all.push_str(&format!("$ imds-lint --format concise {path}\n"));
        all.push_str(&stable(&r.stdout));
        all.push_str("\n\n");
    }
    insta::assert_snapshot!("fixtures_concise", all);
}

#[test]
fn a_long_line_is_cut_to_the_terminal_width() {
    for columns in [60, 100] {
        let r = run_with_columns(
            root(),
            &["--color", "never", "fixtures/bad-input/deep.yaml"],
            Some(columns),
        );
        assert_eq!(r.code, 2);
        let snippet = r
            .stdout
            .lines()
            .find(|l| l.contains("[[[["))
            .expect("the line is shown");
        let width = snippet.chars().count();
        assert!(
            width <= columns && width > columns - 20,
            "COLUMNS={columns}: {width}: {snippet}"
        );
    }
}

#[test]
fn concise_lists_suppressed_findings_when_asked() {
    let plain = run(root(), &["--format", "concise", "fixtures/suppress"]).stdout;
    assert!(!plain.contains("suppressed: "), "{plain}");
    assert!(
        plain.contains("6 findings suppressed by imds-lint.io/ignore annotations"),
        "{plain}"
    );
    let shown = run(
        root(),
        &[
            "--format",
            "concise",
            "--show-suppressed",
            "fixtures/suppress",
        ],
    )
    .stdout;
    let suppressed: Vec<&str> = shown
        .lines()
        .filter(|l| l.contains("] suppressed: "))
        .collect();
    assert_eq!(suppressed.len(), 6, "{shown}");
}

#[test]
fn statistics_are_refused_in_formats_for_programs() {
    for format in ["json", "sarif", "github"] {
        let r = common::run(&["--format", format, "--statistics", "fixtures/demo"]);
        assert_eq!(r.code, 2, "{format}");
        assert!(r.stdout.is_empty(), "{format}: {}", r.stdout);
        assert!(
            r.stderr
                .contains("--statistics goes with --format human or concise"),
            "{format}: {}",
            r.stderr
        );
    }
}

/// The lines of the README's first ```text block after `marker`.
fn readme_block(marker: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let after = &readme[readme.find(marker).expect("the marker")..];
    let start = after.find("```text\n").expect("a text block") + "```text\n".len();
    let end = start + after[start..].find("\n```").unwrap();
    after[start..end].lines().map(str::to_string).collect()
}

/// Each line of `shown` but `…` is a line of `real`, in the same order (times masked).
fn is_excerpt_of(shown: &[String], real: &str) {
    let real: Vec<String> = stable(real).lines().map(str::to_string).collect();
    let mut rest = real.iter();
    for line in shown.iter().filter(|l| *l != "…") {
        let line = stable(line);
        assert!(
            rest.any(|r| *r == line),
            "README line not in the output (or out of order):\n{line}\n\noutput:\n{}",
            real.join("\n")
        );
    }
}

#[test]
fn the_readme_examples_are_the_demos_output() {
    // Printed to a pipe, with no COLUMNS: 200 columns.
    let human = run_with_columns(root(), &["--color", "never", "fixtures/demo"], None);
    is_excerpt_of(&readme_block("and reports (an excerpt"), &human.stdout);
    let statistics = run_with_columns(
        root(),
        &["--color", "never", "--statistics", "fixtures/demo"],
        None,
    );
    let shown = readme_block("`--statistics` (with `human` or `concise`");
    assert!(shown.len() > 5);
    is_excerpt_of(&shown, &statistics.stdout);
}
