//! The GitHub Action (`action.yml`) and the script it runs, run here as the runner runs it:
//! the `INPUT_*` variables the action sets, `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY` pointing
//! at temporary files.

mod common;

use common::root;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

struct ActionRun {
    code: i32,
    stdout: String,
    stderr: String,
    /// `GITHUB_OUTPUT` as `name=value` pairs.
    outputs: Vec<(String, String)>,
    summary: String,
    sarif: PathBuf,
}

/// Runs `scripts/github-action.sh` in the repository root with these inputs.
fn action(dir: &Path, inputs: &[(&str, &str)]) -> ActionRun {
    action_in(root(), dir, inputs)
}

/// Runs `scripts/github-action.sh` in `cwd` (the workspace), its files in `dir`.
fn action_in(cwd: &Path, dir: &Path, inputs: &[(&str, &str)]) -> ActionRun {
    let output = dir.join("github-output");
    let summary = dir.join("step-summary");
    // The runner's files exist (and other steps may have written to them).
    std::fs::write(&output, "").unwrap();
    std::fs::write(&summary, "earlier step\n").unwrap();
    let sarif = dir.join("reports/imds-lint.sarif");
    let mut command = Command::new(root().join("scripts/github-action.sh"));
    command
        .current_dir(cwd)
        .env_remove("GITHUB_ACTION_PATH")
        .env("IMDS_LINT", env!("CARGO_BIN_EXE_imds-lint"))
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("INPUT_SARIF_FILE", &sarif)
        .env_remove("INPUT_PATHS")
        .env_remove("INPUT_FAIL_ON")
        .env_remove("INPUT_ARGS");
    for (name, value) in inputs {
        command.env(name, value);
    }
    let out = command.output().expect("the action's script runs");
    let outputs = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('=').expect("name=value");
            (k.to_string(), v.to_string())
        })
        .collect();
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(summary.starts_with("earlier step\n"), "appended: {summary}");
    ActionRun {
        code: out.status.code().expect("exited"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
        outputs,
        summary,
        sarif,
    }
}

fn lint_json(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_imds-lint"))
        .args(["--format", "json"])
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_action_annotates_writes_sarif_and_a_summary_and_fails_on_errors() {
    let dir = tempfile::tempdir().unwrap();
    let run = action(dir.path(), &[("INPUT_PATHS", "fixtures/demo")]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = lint_json(&["fixtures/demo"]);
    let findings = report["findings"].as_array().unwrap();
    let errors = findings.iter().filter(|f| f["severity"] == "error").count();
    let warnings = findings.len() - errors;

    // Annotations: one workflow command per finding, on its file.
    let annotations: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(
        annotations
            .iter()
            .filter(|l| l.starts_with("::error file=fixtures/demo/"))
            .count(),
        errors,
        "{}",
        run.stdout
    );
    assert_eq!(
        annotations
            .iter()
            .filter(|l| l.starts_with("::warning file=fixtures/demo/"))
            .count(),
        warnings
    );

    // SARIF, in a folder that did not exist, named by the output.
    let sarif: Value = serde_json::from_slice(&std::fs::read(&run.sarif).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len(),
        findings.len()
    );
    assert_eq!(
        run.outputs,
        [
            ("sarif-file".to_string(), run.sarif.display().to_string()),
            ("exit-code".to_string(), "1".to_string()),
        ]
    );

    // The summary: namespaces by verdict, findings per rule, why the step failed.
    let reachable: Vec<&str> = report["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["metadata_reachable"] == true)
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    let summary = &run.summary;
    assert!(summary.contains("\n## imds-lint\n"), "{summary}");
    assert!(
        summary.contains(&format!(
            "| can reach a metadata endpoint | {} | {} |",
            reachable.len(),
            reachable.join(", ")
        )),
        "{summary}"
    );
    for rule in ["IMDS001", "IMDS002", "IMDS003", "IMDS004", "IMDS005"] {
        let of = |severity: &str| {
            findings
                .iter()
                .filter(|f| f["rule"] == rule && f["severity"] == severity)
                .count()
        };
        let name = findings.iter().find(|f| f["rule"] == rule).unwrap()["name"]
            .as_str()
            .unwrap();
        let row = format!("| {rule} {name} | {} | {} |", of("error"), of("warning"));
        assert!(summary.contains(&row), "{row}\n{summary}");
    }
    assert!(summary.contains("The step failed"), "{summary}");
}

#[test]
fn fail_on_decides_the_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let never = action(
        dir.path(),
        &[("INPUT_PATHS", "fixtures/demo"), ("INPUT_FAIL_ON", "never")],
    );
    assert_eq!(never.code, 0, "{}", never.stderr);
    assert_eq!(never.outputs[1], ("exit-code".into(), "0".into()));
    assert!(!never.summary.contains("The step failed"));
    // The SARIF has the findings all the same.
    let sarif: Value = serde_json::from_slice(&std::fs::read(&never.sarif).unwrap()).unwrap();
    assert!(!sarif["runs"][0]["results"].as_array().unwrap().is_empty());
    let bad = action(
        dir.path(),
        &[
            ("INPUT_PATHS", "fixtures/demo"),
            ("INPUT_FAIL_ON", "sometimes"),
        ],
    );
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("sometimes"), "{}", bad.stderr);
}

#[test]
fn paths_on_lines_and_more_options() {
    let dir = tempfile::tempdir().unwrap();
    let paths = "fixtures/pods/gke\n  fixtures/pods/ecs\n";
    let pass = action(dir.path(), &[("INPUT_PATHS", paths)]);
    assert_eq!(pass.code, 0, "{}{}", pass.stdout, pass.stderr);
    assert!(
        pass.summary.contains("| closed | 2 | ecs, gke |"),
        "{}",
        pass.summary
    );
    assert!(pass.summary.contains("No findings."), "{}", pass.summary);
    // `args` reach imds-lint: with the ECS endpoint checked, both namespaces are open.
    let ecs = action(
        dir.path(),
        &[("INPUT_PATHS", paths), ("INPUT_ARGS", "--preset ecs")],
    );
    assert_eq!(ecs.code, 1, "{}", ecs.stderr);
    assert!(ecs.stdout.contains("169.254.170.2"), "{}", ecs.stdout);
}

#[test]
fn nothing_to_lint_fails_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for paths in [empty.to_str().unwrap(), "fixtures/no-such-folder"] {
        let run = action(dir.path(), &[("INPUT_PATHS", paths)]);
        assert_eq!(run.code, 2, "{paths}");
        assert!(
            run.stderr.contains("no manifests found under"),
            "{}",
            run.stderr
        );
        assert!(run.summary.contains("exited 2"), "{}", run.summary);
        assert_eq!(run.outputs[1], ("exit-code".into(), "2".into()));
    }
}

/// The workflow checks the action out into the workspace; its fixtures are not linted.
#[test]
fn the_actions_own_checkout_is_not_linted() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("workspace");
    let own = workspace.join(".imds-lint/fixtures");
    std::fs::create_dir_all(&own).unwrap();
    std::fs::create_dir_all(workspace.join("clusters")).unwrap();
    std::fs::copy(
        root().join("fixtures/pods/gke/baseline.yaml"),
        workspace.join("clusters/baseline.yaml"),
    )
    .unwrap();
    std::fs::copy(
        root().join("fixtures/demo/clusters/prod/web/netpol-frontend-egress.yaml"),
        own.join("open.yaml"),
    )
    .unwrap();
    let action_path = workspace.join(".imds-lint");
    let run = action_in(
        &workspace,
        dir.path(),
        &[("GITHUB_ACTION_PATH", action_path.to_str().unwrap())],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.summary.contains("| closed | 1 | gke |"),
        "{}",
        run.summary
    );
    // Without the action there, the same tree fails on the fixture.
    let plain = action_in(&workspace, dir.path(), &[]);
    assert_eq!(plain.code, 1, "{}", plain.stdout);
}

/// `action.yml` installs from its own checkout, caches on Cargo.lock, and hands every input
/// to the script under the name the script reads.
#[test]
fn the_action_runs_the_script_with_its_inputs() {
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let action: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_sequence().unwrap();
    let run_of = |step: &serde_yaml::Value| step["run"].as_str().unwrap_or("").to_string();
    assert!(
        steps
            .iter()
            .any(|s| run_of(s).contains("cargo install --locked --path \"$GITHUB_ACTION_PATH\"")),
        "{text}"
    );
    let cache = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/cache@"))
        })
        .expect("a cache step");
    assert!(
        cache["with"]["key"]
            .as_str()
            .unwrap()
            .contains("steps.key.outputs.lock")
    );
    // The key step, run here: a hash of Cargo.lock, and one of the source.
    let key = steps.iter().find(|s| s["id"] == "key").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output");
    let status = Command::new("bash")
        .args(["-e", "-c", &run_of(key)])
        .env("GITHUB_ACTION_PATH", root())
        .env("GITHUB_OUTPUT", &output)
        .status()
        .unwrap();
    assert!(status.success());
    let written = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), 2, "{written}");
    for (line, name) in lines.iter().zip(["lock=", "source="]) {
        let hash = line.strip_prefix(name).expect(name);
        assert!(
            hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()),
            "{line}"
        );
    }

    let lint = steps.iter().find(|s| s["id"] == "lint").unwrap();
    assert!(run_of(lint).contains("\"$GITHUB_ACTION_PATH/scripts/github-action.sh\""));
    let script = std::fs::read_to_string(root().join("scripts/github-action.sh")).unwrap();
    let inputs = action["inputs"].as_mapping().unwrap();
    for (name, _) in inputs {
        let name = name.as_str().unwrap();
        let var = format!("INPUT_{}", name.to_uppercase().replace('-', "_"));
        assert_eq!(
            lint["env"][var.as_str()].as_str(),
            Some(format!("${{{{ inputs.{name} }}}}").as_str()),
            "{var}"
        );
        assert!(script.contains(&var), "the script reads {var}");
    }
    assert_eq!(
        action["outputs"]["sarif-file"]["value"],
        "${{ steps.lint.outputs.sarif-file }}"
    );
    assert!(script.contains("echo \"sarif-file="));
}
