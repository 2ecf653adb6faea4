//! Running the built binary, shared by the integration tests of the output formats and of
//! standard input, of config, suppressions and fix.

// Each test file includes this module and uses a different part of it.
#![allow(dead_code)]

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs imds-lint in `dir` with `stdin` piped in; a panic message on stderr fails the test.
pub fn run_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_imds-lint"))
        .args(args)
        .current_dir(dir)
        // The human report wraps at COLUMNS: the tests' own width, not the shell's.
        .env_remove("COLUMNS")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("imds-lint starts");
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A separate thread, so that a large input cannot deadlock against a full stdout.
        let bytes = bytes.to_vec();
        std::thread::spawn(move || pipe.write_all(&bytes).expect("stdin written"));
    }
    let output = child.wait_with_output().expect("imds-lint finishes");
    let run = Run {
        code: output
            .status
            .code()
            .expect("exited, not killed by a signal"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "imds-lint panicked: {}",
        run.stderr
    );
    run
}

pub fn run(args: &[&str]) -> Run {
    run_in(root(), args, None)
}

/// `--format json` on the same input, for comparing a format with the JSON contract.
pub fn json_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> serde_json::Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let r = run_in(dir, &all, stdin);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("JSON ({e}): {}", r.stdout))
}

/// Runs imds-lint from the repository root with `args` and `--format json`: the exit status
/// and the report.
pub fn json_report(args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let run = run(&all);
    let value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    (run.code, value)
}

/// Runs imds-lint in `dir` with `stdin` piped in.
pub fn run_piped(dir: &Path, args: &[&str], stdin: &[u8]) -> Run {
    run_in(dir, args, Some(stdin))
}

/// Copies a fixture tree, so a test may change it.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The findings of `rule` in `namespace` of a JSON report.
pub fn findings<'a>(report: &'a Value, rule: &str, namespace: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule && f["namespace"] == namespace)
        .collect()
}

/// Namespace `name` of a JSON report.
pub fn namespace<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == name)
        .unwrap_or_else(|| panic!("no namespace {name}"))
}

/// Workload `name` of a JSON report.
pub fn workload<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == name)
        .unwrap_or_else(|| panic!("no workload {name}"))
}

/// One entry of the report's `workloads`, as the tests compare it: kind, name, line,
/// `metadata_reachable`, `host_network`.
pub type WorkloadRow = (String, String, u64, bool, bool);

/// The report's workloads, each checked to be in `namespace` and read from `file`.
pub fn workload_rows(report: &Value, namespace: &str, file: &str) -> Vec<WorkloadRow> {
    report["workloads"]
        .as_array()
        .expect("workloads")
        .iter()
        .map(|w| {
            assert_eq!(w["namespace"], namespace, "{w}");
            assert_eq!(w["file"], file, "{w}");
            (
                w["kind"].as_str().unwrap().to_string(),
                w["name"].as_str().unwrap().to_string(),
                w["line"].as_u64().unwrap(),
                w["metadata_reachable"].as_bool().unwrap(),
                w["host_network"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// The [`WorkloadRow`] a test expects.
pub fn workload_row(kind: &str, name: &str, line: u64, reachable: bool, host: bool) -> WorkloadRow {
    (kind.into(), name.into(), line, reachable, host)
}
