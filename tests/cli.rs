//! The built binary, run on the fixture repositories the way a user runs it.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs imds-lint from the repository root with a watchdog: a hang is a test failure.
fn run_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_imds-lint"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("imds-lint starts");
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    let mut stdout_pipe = child.stdout.take().unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout_pipe.read_to_string(&mut s).unwrap();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        stderr_pipe.read_to_string(&mut s).unwrap();
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("imds-lint {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let run = Run {
        code: status.code().expect("exited, not killed by a signal"),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "imds-lint panicked: {}",
        run.stderr
    );
    run
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Run {
    run_in(root(), args, None, &[])
}

fn json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let r = run(&all);
    let value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("JSON ({e}): {}", r.stdout));
    (r.code, value)
}

fn verdicts(report: &Value) -> BTreeMap<String, bool> {
    report["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_string(),
                n["metadata_reachable"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn findings(report: &Value) -> Vec<(String, String, u64, u64)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

const IMDS4: &str = "169.254.169.254:80/TCP";
const IMDS6: &str = "[fd00:ec2::254]:80/TCP";

#[test]
fn demo_namespace_verdicts() {
    let (code, report) = json(&["fixtures/demo"]);
    assert_eq!(code, 1);
    assert_eq!(report["version"], 1);
    let want: BTreeMap<String, bool> = [
        ("batch", true),
        ("dns", false),
        ("legacy", true),
        // The pair closes it for pod-network pods; the hostNetwork DaemonSet reaches both.
        ("monitoring", true),
        ("payments", false),
        ("shop-production", true),
        ("shop-staging", false),
        ("web", true),
    ]
    .iter()
    .map(|(n, r)| (n.to_string(), *r))
    .collect();
    assert_eq!(verdicts(&report), want);
    let ns = |name: &str| {
        report["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(strs(&ns("web")["reachable_targets"]), vec![IMDS4]);
    assert_eq!(strs(&ns("batch")["reachable_targets"]), vec![IMDS4, IMDS6]);
    assert_eq!(
        strs(&ns("legacy")["reachable_targets"]),
        vec![IMDS4],
        "the IPv6 target stays closed"
    );
    assert_eq!(ns("batch")["isolated"], false);
    assert_eq!(ns("payments")["has_deny_egress_all"], true);
    assert_eq!(ns("payments")["has_allow_except_metadata"], true);
    assert_eq!(ns("legacy")["has_allow_except_metadata"], false);
}

#[test]
fn demo_findings_point_at_the_yaml() {
    let (_, report) = json(&["fixtures/demo"]);
    let p = "fixtures/demo/";
    let want: Vec<(String, String, u64, u64)> = [
        (
            "IMDS001",
            "apps/shop/overlays/production/allow-http.yaml",
            14,
            7,
        ),
        ("IMDS001", "clusters/prod/batch/namespace.yaml", 1, 1),
        ("IMDS002", "clusters/prod/batch/namespace.yaml", 1, 1),
        ("IMDS003", "clusters/prod/batch/namespace.yaml", 1, 1),
        ("IMDS003", "clusters/prod/legacy/namespace.yaml", 1, 1),
        (
            "IMDS001",
            "clusters/prod/legacy/netpol-allow-egress-all-except-metadata.yaml",
            14,
            11,
        ),
        (
            "IMDS004",
            "clusters/prod/legacy/netpol-allow-egress-all-except-metadata.yaml",
            16,
            13,
        ),
        (
            "IMDS004",
            "clusters/prod/legacy/netpol-allow-egress-office.yaml",
            17,
            17,
        ),
        (
            "IMDS001",
            "clusters/prod/monitoring/daemonset-node-exporter.yaml",
            15,
            7,
        ),
        (
            "IMDS005",
            "clusters/prod/monitoring/daemonset-node-exporter.yaml",
            15,
            7,
        ),
        (
            "IMDS001",
            "clusters/prod/web/netpol-frontend-egress.yaml",
            17,
            11,
        ),
    ]
    .iter()
    .map(|(r, f, l, c)| (r.to_string(), format!("{p}{f}"), *l, *c))
    .collect();
    assert_eq!(findings(&report), want);
    let first = &report["findings"][0];
    assert_eq!(first["severity"], "error");
    assert_eq!(first["name"], "metadata-reachable");
    assert_eq!(first["namespace"], "shop-production");
    let message = first["message"].as_str().unwrap();
    assert!(
        message.contains("allow-http") && message.contains(IMDS4) && message.contains("app=shop"),
        "{message}"
    );
    let warning = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "IMDS005")
        .unwrap();
    assert_eq!(warning["severity"], "warning");
    assert!(report["errors"].as_array().unwrap().is_empty());
}

#[test]
fn demo_workloads() {
    let (_, report) = json(&["fixtures/demo"]);
    let workloads: BTreeMap<(String, String), (bool, bool)> = report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                (
                    w["namespace"].as_str().unwrap().to_string(),
                    w["name"].as_str().unwrap().to_string(),
                ),
                (
                    w["metadata_reachable"].as_bool().unwrap(),
                    w["host_network"].as_bool().unwrap(),
                ),
            )
        })
        .collect();
    let get = |ns: &str, name: &str| workloads[&(ns.to_string(), name.to_string())];
    assert_eq!(get("payments", "api"), (false, false));
    assert_eq!(get("web", "frontend"), (true, false));
    assert_eq!(
        get("monitoring", "node-exporter"),
        (true, true),
        "hostNetwork ignores policy"
    );
    assert_eq!(get("shop-production", "shop"), (true, false));
    assert_eq!(get("shop-staging", "shop"), (false, false));
    assert_eq!(get("batch", "nightly-report"), (true, false));
    let api = report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "api")
        .unwrap();
    assert_eq!(api["kind"], "Deployment");
    assert_eq!(
        api["file"],
        "fixtures/demo/clusters/prod/payments/deployment-api.yaml"
    );
    assert_eq!(api["line"], 1);
}

/// The human report with the elapsed time (the one thing that changes between runs) removed.
fn human(args: &[&str]) -> (i32, String) {
    let r = run(args);
    let text = r
        .stdout
        .lines()
        .map(|l| match l.rfind(" in ") {
            Some(i) if l.ends_with('s') && l.contains("files,") => {
                format!("{} in <elapsed>", &l[..i])
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    (r.code, text)
}

#[test]
fn demo_human_output() {
    let (code, text) = human(&["--color", "never", "fixtures/demo"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("demo_human", text);
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let always = run(&["--color", "always", "fixtures/demo"]);
    assert!(always.stdout.contains("\u{1b}["));
    let auto = run(&["fixtures/demo"]);
    assert!(
        !auto.stdout.contains("\u{1b}["),
        "stdout is not a terminal here"
    );
    let never = run_in(
        root(),
        &["--color", "auto", "fixtures/demo"],
        None,
        &[("NO_COLOR", "1")],
    );
    assert!(!never.stdout.contains("\u{1b}["));
}

#[test]
fn json_is_deterministic() {
    let a = run(&["--format", "json", "fixtures/demo", "fixtures/bad-input"]);
    let b = run(&["--format", "json", "fixtures/bad-input", "fixtures/demo"]);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn rule_pages_are_embedded() {
    let r = run(&["rule", "IMDS001"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("# IMDS001: metadata-reachable"));
    assert!(r.stdout.contains("## How to fix"));
    let r = run(&["rule", "host-network-pod"]);
    assert!(r.stdout.starts_with("# IMDS005: host-network-pod"));
    let list = run(&["rule"]);
    assert_eq!(list.stdout.lines().count(), 8);
    assert!(
        list.stdout
            .contains("IMDS003  missing-allow-except-metadata")
    );
    let missing = run(&["rule", "IMDS999"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("IMDS999"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["--format", "xml", "fixtures/demo"]).code, 2);
    assert_eq!(run(&["--no-such-flag"]).code, 2);
    let bad_glob = run(&["--exclude", "a[", "fixtures/demo"]);
    assert_eq!(bad_glob.code, 2);
    assert!(bad_glob.stderr.contains("--exclude"));
    let missing = json(&["fixtures/no-such-dir"]);
    assert_eq!(missing.0, 2);
    assert_eq!(missing.1["errors"][0]["file"], "fixtures/no-such-dir");
}

#[test]
fn bad_input_is_reported_and_the_rest_still_linted() {
    let (code, report) = json(&["fixtures/bad-input"]);
    assert_eq!(code, 2);
    let errors: Vec<(String, Option<u64>, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["file"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("fixtures/bad-input/")
                    .to_string(),
                e["line"].as_u64(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let files: Vec<(&str, Option<u64>)> = errors.iter().map(|(f, l, _)| (f.as_str(), *l)).collect();
    assert_eq!(
        files,
        vec![
            ("binary.yaml", Some(7)),
            ("bomb.yaml", Some(12)),
            ("deep.yaml", Some(7)),
            ("latin1.yaml", Some(4)),
            ("mixed.yaml", Some(12)),
        ]
    );
    assert!(errors[0].2.contains("binary"));
    assert!(errors[1].2.contains("alias bomb"));
    assert!(errors[3].2.contains("UTF-8"));
    assert_eq!(report["errors"][4]["column"], 18);
    assert_eq!(
        report["skipped"][0]["path"],
        "fixtures/bad-input/chart/templates"
    );
    assert!(
        report["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("Helm")
    );
    // The documents around the broken one still count: `open` from its first document, the
    // Deployment from its third.
    assert_eq!(
        verdicts(&report),
        BTreeMap::from([("good".to_string(), false), ("open".to_string(), true)])
    );
    assert!(
        report["workloads"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["name"] == "api")
    );
    // The good files alone give the same verdict.
    let (_, alone) = json(&["fixtures/bad-input/good"]);
    assert!(!verdicts(&alone)["good"]);
    // The human report shows each error with its place and still the findings.
    let r = run(&["--color", "never", "fixtures/bad-input"]);
    assert!(r.stdout.contains("fixtures/bad-input/mixed.yaml:12:18"));
    assert!(r.stdout.contains("IMDS001"));
    let skip_line = "skipped 1 path (Helm chart templates; lint `helm template` output with `-`): \
                     fixtures/bad-input/chart/templates";
    assert!(r.stdout.contains(skip_line), "{}", r.stdout);
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn namespace(name: &str) -> String {
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n")
}

#[cfg(unix)]
#[test]
fn symlinks_loops_and_huge_files() {
    let tree = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let repo = tree.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    for f in ["namespace.yaml", "netpol.yaml"] {
        std::fs::copy(root().join("fixtures/bad-input/good").join(f), repo.join(f)).unwrap();
    }
    write(
        &outside.path().join("secret.yaml"),
        &namespace("from-outside"),
    );
    std::os::unix::fs::symlink(&repo, repo.join("loop")).unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(repo.join("namespace.yaml"), repo.join("alias.yaml")).unwrap();
    let huge = std::fs::File::create(repo.join("huge.yaml")).unwrap();
    huge.set_len(33 * 1024 * 1024).unwrap();

    let r = run_in(tree.path(), &["--format", "json", "repo"], None, &[]);
    assert_eq!(r.code, 2);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        verdicts(&report),
        BTreeMap::from([("good".to_string(), false)])
    );
    let skipped: Vec<(&str, &str)> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["path"].as_str().unwrap(), s["reason"].as_str().unwrap()))
        .collect();
    assert!(
        skipped.contains(&(
            "repo/elsewhere",
            "symbolic link pointing outside the linted tree"
        )),
        "{skipped:?}"
    );
    assert!(
        skipped
            .iter()
            .any(|(p, r)| p.starts_with("repo/loop") && r.contains("loop")),
        "{skipped:?}"
    );
    assert_eq!(report["errors"][0]["file"], "repo/huge.yaml");
    assert!(
        report["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("larger than")
    );
}

#[test]
fn gitignore_and_exclude_are_honoured() {
    let tree = tempfile::tempdir().unwrap();
    let repo = tree.path();
    write(&repo.join(".gitignore"), "rendered/\n");
    write(&repo.join("apps/ns.yaml"), &namespace("kept"));
    write(&repo.join("rendered/ns.yaml"), &namespace("ignored"));
    write(&repo.join("legacy/ns.yaml"), &namespace("excluded"));
    write(&repo.join(".git/ns.yaml"), &namespace("in-git-dir"));
    write(&repo.join("apps/README.md"), "kind: Namespace\n");
    let r = run_in(
        repo,
        &["--format", "json", "--exclude", "legacy"],
        None,
        &[],
    );
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(verdicts(&report).keys().collect::<Vec<_>>(), vec!["kept"]);
    assert_eq!(report["summary"]["files"], 1);
    let r = run_in(
        repo,
        &["--format", "json", "--exclude", "apps/*.yaml", "."],
        None,
        &[],
    );
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        verdicts(&report).keys().collect::<Vec<_>>(),
        vec!["excluded"]
    );
}

#[test]
fn namespaces_follow_kustomize_and_the_default() {
    let (_, report) = json(&["fixtures/kustomize"]);
    let names: Vec<String> = verdicts(&report).into_keys().collect();
    assert_eq!(
        names,
        vec!["beta", "default", "gamma", "standalone"],
        "alpha is built only inside gamma"
    );
    let policies: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "IMDS001")
        .map(|f| {
            (
                f["namespace"].as_str().unwrap(),
                f["file"].as_str().unwrap(),
            )
        })
        .collect();
    // The reopening policy lives in overlay b only, whatever its own metadata.namespace says.
    assert!(
        policies.contains(&("beta", "fixtures/kustomize/overlays/b/reopen.yaml")),
        "{policies:?}"
    );
    assert!(!policies.iter().any(|(ns, _)| *ns == "other"));
    let (_, report) = json(&["--default-namespace", "team", "fixtures/kustomize"]);
    assert!(verdicts(&report).contains_key("team") && !verdicts(&report).contains_key("default"));
}

#[test]
fn standard_input() {
    let mut input = Vec::new();
    for f in ["namespace.yaml", "cronjob-nightly-report.yaml"] {
        input.extend(
            std::fs::read(root().join("fixtures/demo/clusters/prod/batch").join(f)).unwrap(),
        );
        input.extend(b"---\n");
    }
    let r = run_in(root(), &["--format", "json", "-"], Some(&input), &[]);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        verdicts(&report),
        BTreeMap::from([("batch".to_string(), true)])
    );
    assert_eq!(report["findings"][0]["file"], "<stdin>");
    let r = run_in(
        root(),
        &["--color", "never", "--stdin-filename", "rendered.yaml", "-"],
        Some(&input),
        &[],
    );
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("[rendered.yaml:1:1]"), "{}", r.stdout);
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let tree = tempfile::tempdir().unwrap();
    for i in 0..300 {
        write(
            &tree.path().join(format!("ns{i}.yaml")),
            &namespace(&format!("team-{i:03}")),
        );
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_imds-lint"))
        .args(["--color", "never"])
        .arg(tree.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 64];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The read end is dropped here, as `| head -c 64` would.
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
    assert_eq!(output.status.code(), Some(1));
}

/// A run that lints nothing (an empty folder, everything excluded, only non-Kubernetes YAML,
/// empty standard input) fails with exit status 2 and names where it looked: in CI a
/// mistyped path must not pass.
#[test]
fn nothing_linted_is_an_error() {
    let tree = tempfile::tempdir().unwrap();
    std::fs::create_dir(tree.path().join("empty")).unwrap();
    std::fs::create_dir(tree.path().join("chart")).unwrap();
    std::fs::write(tree.path().join("chart/values.yaml"), "replicas: 2\n").unwrap();
    std::fs::create_dir(tree.path().join("apps")).unwrap();
    std::fs::write(
        tree.path().join("apps/ns.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: payments\n",
    )
    .unwrap();
    for args in [
        &["empty"][..],
        &["--format", "json", "empty"],
        &["chart"],
        &["empty", "chart"],
        &["--exclude", "*.yaml", "apps"],
        &["fix", "--dry-run", "empty"],
        &["explain", "payments", "empty"],
        // A mistyped path: the read error, and then that nothing was linted.
        &["no-such-folder"],
        &["explain", "payments", "no-such-folder"],
        &["fix", "--dry-run", "no-such-folder"],
        &["render", "no-such-folder"],
    ] {
        let r = run_in(tree.path(), args, None, &[]);
        assert_eq!(r.code, 2, "{args:?}: {}{}", r.stdout, r.stderr);
        let named = args.last().unwrap();
        assert!(
            r.stderr.contains("no manifests found under") && r.stderr.contains(named),
            "{args:?}: {}",
            r.stderr
        );
        if *named == "no-such-folder" {
            // The read error itself is reported too, with the path.
            assert!(
                format!("{}{}", r.stdout, r.stderr).contains("no-such-folder: "),
                "{args:?}: {}{}",
                r.stdout,
                r.stderr
            );
        }
    }
    let r = run_in(tree.path(), &["empty", "chart"], None, &[]);
    assert!(r.stderr.contains("empty, chart"), "{}", r.stderr);
    // Standard input with no document: an upstream `helm template` that failed without
    // `pipefail` leaves it empty, so it is nothing linted too.
    let r = run_in(tree.path(), &["-"], Some(b""), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("no manifests found under <stdin>"),
        "{}",
        r.stderr
    );
    // One object is enough, wherever it is.
    assert_eq!(run_in(tree.path(), &["empty", "apps"], None, &[]).code, 1);
}

/// `imds-lint rule` lists the rules in aligned columns: id, name, severity, summary.
#[test]
fn rule_list_columns_line_up() {
    let r = run(&["rule"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 8, "{}", r.stdout);
    let starts = |line: &str| -> Vec<usize> {
        let words: Vec<&str> = line.split_whitespace().take(4).collect();
        let mut at = 0;
        words
            .iter()
            .map(|w| {
                at += line[at..].find(w).unwrap();
                let start = at;
                at += w.len();
                start
            })
            .collect()
    };
    let first = starts(lines[0]);
    for line in &lines {
        assert_eq!(starts(line), first, "\n{}", r.stdout);
    }
    assert!(
        lines.iter().any(|l| l.contains("  warning  ")),
        "{}",
        r.stdout
    );
}

/// Options may come before the subcommand, as before the lint's paths: the subcommand takes
/// them as if they came after its name.
#[test]
fn options_before_a_subcommand_are_taken() {
    let before = run(&["--preset", "ecs", "explain", "web", "fixtures/demo"]);
    let after = run(&["explain", "--preset", "ecs", "web", "fixtures/demo"]);
    assert_eq!(before.code, after.code, "{}", before.stderr);
    assert_eq!(before.stdout, after.stdout);
    assert!(
        before.stdout.contains("169.254.170.2:80/TCP"),
        "{}",
        before.stdout
    );
    // `--format json` before `explain` is explain's JSON, not the lint's.
    let before = run(&["--format", "json", "explain", "web", "fixtures/demo"]);
    let after = run(&["explain", "web", "fixtures/demo", "--format", "json"]);
    assert_eq!(before.stdout, after.stdout);
    let value: Value = serde_json::from_str(&before.stdout).expect("explain's JSON");
    assert_eq!(value["namespace"], "web", "{}", before.stdout);
    assert!(value.get("findings").is_none());
    let before = run(&["--no-config", "fix", "--dry-run", "fixtures/demo"]);
    let after = run(&["fix", "--dry-run", "--no-config", "fixtures/demo"]);
    assert_eq!(before.code, 0, "{}", before.stderr);
    assert_eq!(before.stdout, after.stdout);
    assert!(
        before.stdout.starts_with("--- /dev/null"),
        "{}",
        before.stdout
    );
    // `--opt=value`, and an option's value that is a subcommand's name, are still options.
    let r = run(&[
        "--exclude=legacy",
        "--default-namespace",
        "render",
        "render",
        "fixtures/demo",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("kind: NetworkPolicy"), "{}", r.stdout);
    // An option the subcommand does not take is refused, wherever it is.
    for args in [
        &["--preset", "aws", "rule"][..],
        &["rule", "--preset", "aws"],
    ] {
        let r = run(args);
        assert_eq!(r.code, 2, "{args:?}");
        assert!(
            r.stderr.contains("unexpected argument '--preset'"),
            "{}",
            r.stderr
        );
    }
}

/// Each subcommand's --help lists the options it takes, and no other.
#[test]
fn each_help_lists_only_what_its_command_takes() {
    let options = |args: &[&str]| -> Vec<String> {
        let r = run(args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let mut found: Vec<String> = r
            .stdout
            .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == '(')
            .filter(|w| w.starts_with("--") && w.len() > 2 && !w.contains('`'))
            .map(|w| {
                w.trim_end_matches(|c: char| !c.is_alphanumeric())
                    .to_string()
            })
            .collect();
        found.sort();
        found.dedup();
        found
    };
    let input = [
        "--cluster",
        "--config",
        "--default-namespace",
        "--exclude",
        "--no-config",
        "--stdin-filename",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = input.iter().chain(extra).map(|s| s.to_string()).collect();
        all.push("--help".into());
        all.sort();
        all
    };
    let lint = with(&[
        "--color",
        "--fail-on",
        "--format",
        "--preset",
        "--show-suppressed",
        "--statistics",
        "--target",
        "--version",
    ]);
    assert_eq!(options(&["--help"]), lint);
    assert_eq!(
        options(&["explain", "--help"]),
        with(&["--color", "--format", "--preset", "--target", "--workloads"])
    );
    assert_eq!(
        options(&["fix", "--help"]),
        with(&["--dry-run", "--preset", "--target"])
    );
    assert_eq!(options(&["render", "--help"]), with(&["--no-controllers"]));
    assert_eq!(options(&["rule", "--help"]), ["--format", "--help"]);
    assert_eq!(options(&["init", "--help"]), ["--force", "--help"]);
}

/// A format a subcommand cannot produce is refused by the parser, before anything is read;
/// `rule --format json` prints JSON.
#[test]
fn each_command_takes_only_its_formats() {
    for args in [
        &["explain", "--format", "sarif", "web", "fixtures/demo"][..],
        &["--format", "github", "explain", "web", "fixtures/demo"],
        &["rule", "--format", "human"],
        &["--format", "sarif", "rule"],
        &["fix", "--format", "json", "fixtures/demo"],
    ] {
        let r = run(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stdout);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
        assert!(r.stderr.starts_with("error: "), "{args:?}: {}", r.stderr);
    }
    let r = run(&["rule", "--format", "json", "IMDS003"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rule: Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(rule["id"], "IMDS003");
    assert_eq!(rule["name"], "missing-allow-except-metadata");
    assert!(rule["markdown"].as_str().unwrap().contains("## How to fix"));
    let r = run(&["--format", "json", "rule"]);
    let rules: Value = serde_json::from_str(&r.stdout).expect("JSON");
    let ids: Vec<&str> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 8);
    assert_eq!(ids[0], "IMDS001");
}

/// `--cluster` takes a cluster's name as the JSON `cluster` field has it, or a path naming
/// the cluster's folder, as a Flux Kustomization's `path: ./clusters/prod` does.
#[test]
fn cluster_may_be_named_by_its_folder() {
    let namespaces = |args: &[&str]| {
        let (code, report) = json(args);
        assert_eq!(code, 1, "{args:?}: {report}");
        let mut named: Vec<String> = report["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| format!("{} {}", n["cluster"], n["name"]))
            .collect();
        named.sort();
        named
    };
    let by_name = namespaces(&["--cluster", "clusters/prod", "fixtures/flux-fleet"]);
    assert!(!by_name.is_empty());
    assert!(
        by_name.iter().all(|n| n.starts_with("\"clusters/prod\" ")),
        "{by_name:?}"
    );
    for cluster in [
        "./clusters/prod",
        "clusters/prod/",
        "fixtures/flux-fleet/clusters/prod",
        "./fixtures/flux-fleet/clusters/prod/",
    ] {
        assert_eq!(
            namespaces(&["--cluster", cluster, "fixtures/flux-fleet"]),
            by_name,
            "{cluster}"
        );
    }
    // From inside the repository, as in its CI.
    let inside = run_in(
        &root().join("fixtures/flux-fleet"),
        &["--format", "json", "--cluster", "./clusters/prod", "."],
        None,
        &[],
    );
    assert_eq!(inside.code, 1, "{}", inside.stderr);
    let rendered = run(&[
        "render",
        "--cluster",
        "./clusters/staging",
        "fixtures/flux-fleet",
    ]);
    assert_eq!(rendered.code, 0, "{}", rendered.stderr);
    assert!(rendered.stdout.contains("clusters/staging"));
    assert!(
        !rendered.stdout.contains("cluster: clusters/prod"),
        "{}",
        rendered.stdout
    );
    // A folder that is no cluster's is refused with the known names.
    let r = run(&[
        "--cluster",
        "fixtures/flux-fleet/apps",
        "fixtures/flux-fleet",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("known clusters: clusters/prod, clusters/staging"),
        "{}",
        r.stderr
    );
}

/// The README's JSON example is the demo's real output: every field, and entries of the
/// arrays picked from the real ones, whole and in their order.
#[test]
fn readme_json_example_is_the_demos_output() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = &readme[readme.find("\n## JSON output\n").expect("the section")..];
    let start = section.find("```json\n").expect("a JSON block") + "```json\n".len();
    let end = start + section[start..].find("\n```").unwrap();
    let example: Value = serde_json::from_str(&section[start..end]).expect("valid JSON");
    let (_, real) = json(&["fixtures/demo"]);
    let (example, real) = (example.as_object().unwrap(), real.as_object().unwrap());
    let keys = |o: &serde_json::Map<String, Value>| o.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(example), keys(real), "the same fields");
    for (key, shown) in example {
        match (shown, &real[key]) {
            (Value::Array(shown), Value::Array(all)) => {
                // A subsequence: each entry shown is a real one, in the real order.
                let mut rest = all.iter();
                for entry in shown {
                    assert!(
                        rest.any(|e| e == entry),
                        "README `{key}` entry is not in the demo's output (or out of order):\n{entry:#}"
                    );
                }
                assert_eq!(shown.is_empty(), all.is_empty(), "`{key}`");
            }
            (shown, value) => assert_eq!(shown, value, "`{key}`"),
        }
    }
}
