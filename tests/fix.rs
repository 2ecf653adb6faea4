//! `imds-lint fix`, run through the binary on a temporary copy of `fixtures/fix`.

mod common;

use common::{copy_dir, run_piped};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A fresh copy of `fixtures/fix`, and the path of the copy.
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path().join("repo");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fix"),
        &repo,
    );
    (temp, repo)
}

/// Every file under `dir` with its contents, for before/after comparisons.
fn snapshot(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(snapshot(&path));
        } else {
            out.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
        }
    }
    out.sort();
    out
}

fn findings(repo: &Path) -> Vec<(String, String)> {
    let r = run_piped(repo, &["--format", "json", "."], b"");
    let json: Value = serde_json::from_str(&r.stdout).unwrap();
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["namespace"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn read(repo: &Path, path: &str) -> String {
    std::fs::read_to_string(repo.join(path)).unwrap()
}

#[test]
fn fix_writes_the_missing_halves_and_lint_then_passes() {
    let (_temp, repo) = fixture();
    let before = findings(&repo);
    for ns in ["team-a", "shop"] {
        assert!(
            before.contains(&("IMDS002".into(), ns.into())),
            "{before:?}"
        );
        assert!(
            before.contains(&("IMDS003".into(), ns.into())),
            "{before:?}"
        );
    }
    assert!(before.contains(&("IMDS003".into(), "team-b".into())));

    let r = run_piped(&repo, &["fix"], b"");
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    for line in [
        "wrote clusters/team-a/netpol-deny-egress-all.yaml: NetworkPolicy team-a/deny-egress-all\n",
        "wrote clusters/team-a/netpol-allow-egress-all-except-metadata.yaml: NetworkPolicy team-a/allow-egress-all-except-metadata\n",
        "wrote clusters/team-b/netpol-allow-egress-all-except-metadata-1.yaml: NetworkPolicy team-b/allow-egress-all-except-metadata-1 (the allow-egress-all-except-metadata half)\n",
        "wrote apps/shop/overlays/prod/netpol-deny-egress-all.yaml: NetworkPolicy shop/deny-egress-all\n",
        "edited clusters/team-a/kustomization.yaml: added netpol-deny-egress-all.yaml, netpol-allow-egress-all-except-metadata.yaml to resources\n",
        "edited apps/shop/overlays/prod/kustomization.yaml: added netpol-deny-egress-all.yaml, netpol-allow-egress-all-except-metadata.yaml to resources\n",
    ] {
        assert!(r.stdout.contains(line), "missing {line:?} in\n{}", r.stdout);
    }
    // The reopening policy is named and left alone.
    assert!(
        r.stdout.contains(
            "namespace team-b stays reachable: NetworkPolicy team-b/allow-link-local egress rule 1"
        ),
        "{}",
        r.stdout
    );
    // Nothing is written for the namespace that suppresses IMDS002/IMDS003.
    assert!(
        r.stdout
            .contains("namespace sandbox: IMDS002 is suppressed")
    );
    assert!(
        !repo
            .join("clusters/sandbox/netpol-deny-egress-all.yaml")
            .exists()
    );

    // The kustomization is edited in place, comments and all.
    assert_eq!(
        read(&repo, "clusters/team-a/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n# team-a owns this folder\n\
         resources:\n  - namespace.yaml   # the namespace itself\n  - deployment.yaml\n\
         \x20 - netpol-deny-egress-all.yaml\n  - netpol-allow-egress-all-except-metadata.yaml\n\
         commonLabels:\n  team: a\n"
    );
    assert!(
        read(&repo, "apps/shop/overlays/prod/kustomization.yaml").ends_with(
            "resources: [../../base, netpol-deny-egress-all.yaml, netpol-allow-egress-all-except-metadata.yaml]\n"
        )
    );
    // metadata.namespace only where no kustomization sets the namespace.
    assert!(
        read(&repo, "clusters/team-a/netpol-deny-egress-all.yaml")
            .contains("  namespace: team-a\n")
    );
    assert!(
        !read(&repo, "apps/shop/overlays/prod/netpol-deny-egress-all.yaml").contains("namespace:")
    );
    let allow = read(
        &repo,
        "clusters/team-a/netpol-allow-egress-all-except-metadata.yaml",
    );
    assert!(
        allow
            .contains("cidr: 0.0.0.0/0\n            except:\n              - 169.254.169.254/32\n"),
        "{allow}"
    );
    assert!(
        allow.contains(
            "cidr: \"::/0\"\n            except:\n              - \"fd00:ec2::254/128\"\n"
        ),
        "{allow}"
    );
    // The existing policies are untouched.
    assert_eq!(
        read(&repo, "clusters/team-b/netpol-allow-link-local.yaml"),
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/fix/clusters/team-b/netpol-allow-link-local.yaml")
        )
        .unwrap()
    );

    let after = findings(&repo);
    assert!(
        !after
            .iter()
            .any(|(rule, _)| rule == "IMDS002" || rule == "IMDS003"),
        "{after:?}"
    );
    assert_eq!(after, vec![("IMDS001".to_string(), "team-b".to_string())]);

    // A second run changes nothing.
    let written = snapshot(&repo);
    let again = run_piped(&repo, &["fix"], b"");
    assert_eq!(again.code, 0);
    assert!(
        again.stdout.starts_with("nothing to fix"),
        "{}",
        again.stdout
    );
    assert_eq!(snapshot(&repo), written);
}

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let (_temp, repo) = fixture();
    let before = snapshot(&repo);
    let r = run_piped(&repo, &["fix", "--dry-run"], b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(snapshot(&repo), before);
    assert!(r.stdout.contains(
        "--- /dev/null\n+++ b/clusters/team-a/netpol-deny-egress-all.yaml\n@@ -0,0 +1,11 @@\n+# Written by `imds-lint fix`"
    ), "{}", r.stdout);
    assert!(r.stdout.contains(
        "--- a/clusters/team-a/kustomization.yaml\n+++ b/clusters/team-a/kustomization.yaml\n@@ -4,5 +4,7 @@\n resources:\n   - namespace.yaml   # the namespace itself\n   - deployment.yaml\n+  - netpol-deny-egress-all.yaml\n+  - netpol-allow-egress-all-except-metadata.yaml\n commonLabels:\n   team: a\n"
    ), "{}", r.stdout);
    assert!(r.stdout.contains("-resources: [../../base]\n+resources: [../../base, netpol-deny-egress-all.yaml, netpol-allow-egress-all-except-metadata.yaml]\n"));
    assert!(!r.stdout.contains("wrote "));
    // Standard output is the diff alone (it can go to `git apply`); the notes are on stderr.
    assert!(
        r.stdout
            .lines()
            .all(|l| l.starts_with(['+', '-', ' ', '@'])),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains(
            "note: namespace team-b stays reachable: NetworkPolicy team-b/allow-link-local"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn namespaces_only_on_standard_input_are_not_fixable() {
    let (_temp, repo) = fixture();
    let stdin = b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: piped\n";
    let r = run_piped(&repo, &["fix", "--dry-run", "clusters/team-a", "-"], stdin);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("note: namespace piped: not fixable"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout
            .contains("+++ b/clusters/team-a/netpol-deny-egress-all.yaml")
    );
}

/// `fix -` alone: nothing can be written, and the report says why, without first claiming
/// there is nothing to fix.
#[test]
fn fix_of_standard_input_alone_says_why_nothing_is_written() {
    let (_temp, repo) = fixture();
    let stdin = b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: piped\n";
    let before = snapshot(&repo);
    for args in [&["fix", "--dry-run", "-"][..], &["fix", "-"]] {
        let r = run_piped(&repo, args, stdin);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        let said = format!("{}{}", r.stdout, r.stderr);
        assert!(!said.contains("nothing to fix"), "{args:?}: {said}");
        assert!(
            said.contains(
                "note: namespace piped: not fixable: its manifests came only from standard input"
            ),
            "{args:?}: {said}"
        );
        assert!(said.contains("nothing written"), "{args:?}: {said}");
    }
    assert_eq!(snapshot(&repo), before, "nothing was written");
}

#[test]
fn targets_from_the_command_line_are_carved_out() {
    let (_temp, repo) = fixture();
    let r = run_piped(
        &repo,
        &[
            "fix",
            "--target",
            "169.254.169.254",
            "--target",
            "169.254.170.2",
            "clusters/team-a",
        ],
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let allow = read(
        &repo,
        "clusters/team-a/netpol-allow-egress-all-except-metadata.yaml",
    );
    assert!(
        allow.contains("              - 169.254.169.254/32\n              - 169.254.170.2/32\n"),
        "{allow}"
    );
    // No IPv6 target: no ::/0 block.
    assert!(!allow.contains("::/0"), "{allow}");
}

#[test]
fn ignored_namespaces_and_rules_turned_off_are_not_fixed_and_say_so() {
    let (temp, repo) = fixture();
    let config = temp.path().join("config.yaml");
    std::fs::write(
        &config,
        "ignore-namespaces: [team-a]\nrules: {IMDS002: off}\n",
    )
    .unwrap();
    let r = run_piped(
        &repo,
        &["fix", "--dry-run", "--config", config.to_str().unwrap()],
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("note: namespace team-a: the namespace is ignored (ignore-namespaces); no deny-egress-all policy written"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("note: namespace shop: IMDS002 is turned off in the configuration; no deny-egress-all policy written"),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains("+++ b/clusters/team-a/"), "{}", r.stdout);
    assert!(
        !r.stdout.contains("netpol-deny-egress-all.yaml\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("+++ b/apps/shop/overlays/prod/netpol-allow-egress-all-except-metadata.yaml")
    );
}

#[test]
fn a_kustomization_setting_another_namespace_does_not_list_the_new_files() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("f");
    std::fs::create_dir(&dir).unwrap();
    let kustomization = "namespace: other\nresources: [a.yaml]\n";
    std::fs::write(dir.join("kustomization.yaml"), kustomization).unwrap();
    std::fs::write(
        dir.join("a.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    )
    .unwrap();
    // Not a resource of the kustomization: the namespace `loose` comes from this file alone.
    std::fs::write(
        dir.join("ns.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: loose}\n",
    )
    .unwrap();
    let r = run_piped(temp.path(), &["fix"], b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(read(temp.path(), "f/netpol-deny-egress-all.yaml").contains("namespace: loose\n"));
    assert!(!read(temp.path(), "f/netpol-deny-egress-all-1.yaml").contains("namespace:"));
    assert_eq!(
        read(temp.path(), "f/kustomization.yaml"),
        "namespace: other\nresources: [a.yaml, netpol-deny-egress-all-1.yaml, netpol-allow-egress-all-except-metadata-1.yaml]\n"
    );
    assert!(
        !findings(temp.path())
            .iter()
            .any(|(rule, _)| rule == "IMDS002" || rule == "IMDS003")
    );
}

#[test]
fn unreadable_input_stops_fix() {
    let (_temp, repo) = fixture();
    std::fs::write(repo.join("clusters/team-a/broken.yaml"), "a: [\n").unwrap();
    let before = snapshot(&repo);
    let r = run_piped(&repo, &["fix"], b"");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("clusters/team-a/broken.yaml:2:1"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("not fixing"), "{}", r.stderr);
    assert_eq!(snapshot(&repo), before);
}

#[test]
fn fix_follows_the_cluster_a_namespace_is_built_for() {
    // `web` is built from apps/web/prod in one cluster and apps/web/staging in the other; only
    // staging lacks the pair, so the new policies go beside the staging kustomization.
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path().join("fleet");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/flux-fleet"),
        &repo,
    );
    let before = snapshot(&repo.join("apps/web/prod"));
    let r = run_piped(&repo, &["fix"], b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("apps/web/staging/netpol-deny-egress-all.yaml"),
        "{}",
        r.stdout
    );
    assert_eq!(
        snapshot(&repo.join("apps/web/prod")),
        before,
        "prod untouched"
    );
    assert!(
        read(&repo, "apps/web/staging/kustomization.yaml").contains("netpol-deny-egress-all.yaml")
    );
    let after = findings(&repo);
    assert!(
        !after
            .iter()
            .any(|(rule, _)| rule == "IMDS002" || rule == "IMDS003"),
        "{after:?}"
    );
    let again = run_piped(&repo, &["fix"], b"");
    assert!(
        again.stdout.starts_with("nothing to fix"),
        "{}",
        again.stdout
    );
}
