//! The CI and benchmark scripts find the binary where cargo builds it, also when
//! `CARGO_TARGET_DIR` moves it.

mod common;

use common::root;
use std::process::Command;

fn target_dir(env: Option<&str>) -> String {
    let mut command = Command::new(root().join("bench/target-dir"));
    command.current_dir(std::env::temp_dir());
    match env {
        Some(dir) => command.env("CARGO_TARGET_DIR", dir),
        None => command.env_remove("CARGO_TARGET_DIR"),
    };
    let out = command.output().expect("bench/target-dir runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .trim_end()
        .to_string()
}

#[test]
fn the_target_folder_is_the_one_cargo_uses() {
    let elsewhere = tempfile::tempdir().unwrap();
    let elsewhere = elsewhere.path().to_str().unwrap();
    assert_eq!(target_dir(Some(elsewhere)), elsewhere);
    assert_eq!(
        target_dir(None),
        root().join("target").to_str().unwrap(),
        "without CARGO_TARGET_DIR (and no build.target-dir in a cargo config)"
    );
}

#[test]
fn no_script_hard_codes_the_target_folder() {
    for script in [".ci/run", "bench/run.sh", ".ci/pre-commit-test.sh"] {
        let text = std::fs::read_to_string(root().join(script)).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split('#').next().unwrap_or_default();
            assert!(
                !code.contains("target/release") && !code.contains("target/debug")
                    || code.contains("$target/")
                    || code.contains("target-dir"),
                "{script}:{}: {line}",
                n + 1
            );
            assert!(
                !code.contains("here/target") && !code.contains("ROOT/target"),
                "{script}:{}: {line}",
                n + 1
            );
        }
        assert!(text.contains("target-dir"), "{script} asks cargo");
    }
}
