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
        "wrote apps/shop/overlays/prod/netpol-deny-egress-all.yaml: NetworkPolicy shop/deny-egress-all\n",
        "edited clusters/team-a/kustomization.yaml: added netpol-deny-egress-all.yaml, netpol-allow-egress-all-except-metadata.yaml to resources\n",
        "edited apps/shop/overlays/prod/kustomization.yaml: added netpol-deny-egress-all.yaml, netpol-allow-egress-all-except-metadata.yaml to resources\n",
    ] {
        assert!(r.stdout.contains(line), "missing {line:?} in\n{}", r.stdout);
    }
    // The reopening policy is named and left alone.
    assert!(
        r.stdout.contains(
            "namespace team-b stays reachable: NetworkPolicy team-b/allow-link-local egress rule 1 \
             (clusters/team-b/netpol-allow-link-local.yaml:14) opens 169.254.169.254:80/TCP; fix \
             does not edit existing policies: add 169.254.169.254/32 to the except of its ipBlock \
             169.254.0.0/16 by hand, which takes nothing else away\n"
        ),
        "{}",
        r.stdout
    );
    // team-b's pods may send only to 10.0.0.0/8: the allow half would widen that, so it is
    // not written, and the note says why.
    assert!(
        r.stdout.contains(
            "note: namespace team-b: no allow-egress-all-except-metadata policy written: \
             allow-egress-all-except-metadata would open 0.0.0.0/0 except 10.0.0.0/8, \
             169.254.169.254/32; ::/0 except fd00:ec2::254/128 on every port to a pod with none \
             of the labels the selectors use, which may send only to 10.0.0.0/8 any port now\n"
        ),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("wrote clusters/team-b/"), "{}", r.stdout);
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
    assert_eq!(
        after,
        vec![
            ("IMDS003".to_string(), "team-b".to_string()),
            ("IMDS001".to_string(), "team-b".to_string())
        ]
    );

    // A second run changes nothing, and says why team-b still lacks a half.
    let written = snapshot(&repo);
    let again = run_piped(&repo, &["fix"], b"");
    assert_eq!(again.code, 0);
    assert!(
        again.stdout.starts_with(
            "nothing written: 1 namespace lacks a half of the pair, and fix cannot write it \
             (see below)\n"
        ),
        "{}",
        again.stdout
    );
    assert!(
        again
            .stdout
            .contains("note: namespace team-b: no allow-egress-all-except-metadata policy written"),
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
    // No IPv6 target: `::/0` is opened whole, as it was for pods nothing isolated.
    assert!(allow.contains("cidr: \"::/0\"\n"), "{allow}");
    assert!(!allow.contains("fd00:ec2::254"), "{allow}");
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

// ---------------------------------------------------------------------------------------------
// The invariant: `fix` only ever takes the metadata addresses away. For every pod, its egress
// after `fix` equals its egress before outside the metadata addresses, and at them it is what
// it was or nothing; no target a pod could not reach before becomes reachable. Checked through
// `explain --format json`, namespace by namespace, for every pod class example of either run
// (as a probe Pod with those labels, where the namespace belongs to no cluster) and for every
// workload, so it holds whatever partition into classes explain uses.

/// An address range of one family: (IPv6?, first, last).
type Range = (bool, u128, u128);

fn range_of(cidr: &str) -> Range {
    let net: ipnet::IpNet = cidr.parse().unwrap_or_else(|e| panic!("{cidr}: {e}"));
    let num = |a: std::net::IpAddr| match a {
        std::net::IpAddr::V4(a) => u128::from(u32::from(a)),
        std::net::IpAddr::V6(a) => u128::from(a),
    };
    (
        net.addr().is_ipv6(),
        num(net.network()),
        num(net.broadcast()),
    )
}

/// A pod's egress to addresses as explain gives it: each range with the ports allowed there
/// (`isolated: false` is every address on every port).
fn address_egress(entry: &Value) -> Vec<(Range, String)> {
    if entry["isolated"] == Value::Bool(false) {
        return vec![
            (range_of("0.0.0.0/0"), "any port".into()),
            (range_of("::/0"), "any port".into()),
        ];
    }
    let mut out = Vec::new();
    for a in entry["addresses"].as_array().expect("addresses") {
        let ports = a["ports"].as_str().expect("ports").to_string();
        for cidr in a["cidrs"].as_array().expect("cidrs") {
            out.push((range_of(cidr.as_str().unwrap()), ports.clone()));
        }
    }
    out
}

/// The address of a target as explain prints it (`169.254.169.254:80/TCP`,
/// `[fd00:ec2::254]:80/TCP`), as a one-address range.
fn target_range(target: &str) -> Range {
    let host = match target.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap(),
        None => target.split(':').next().unwrap(),
    };
    let bits = if host.contains(':') { 128 } else { 32 };
    range_of(&format!("{host}/{bits}"))
}

fn ports_at(egress: &[(Range, String)], v6: bool, at: u128) -> Option<&str> {
    egress
        .iter()
        .find(|((f, lo, hi), _)| *f == v6 && *lo <= at && at <= *hi)
        .map(|(_, p)| p.as_str())
}

/// Where `after` differs from `before` other than by taking a metadata address away; `None`
/// when it does not.
fn widened_or_narrowed(
    before: &[(Range, String)],
    after: &[(Range, String)],
    targets: &[Range],
) -> Option<String> {
    for v6 in [false, true] {
        let mut cuts: Vec<u128> = vec![0];
        for &(f, lo, hi) in before.iter().chain(after).map(|(r, _)| r).chain(targets) {
            if f == v6 {
                cuts.push(lo);
                cuts.extend(hi.checked_add(1));
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        for &at in &cuts {
            let (b, a) = (ports_at(before, v6, at), ports_at(after, v6, at));
            let is_target = targets.iter().any(|&(f, lo, _)| f == v6 && lo == at);
            let fine = a == b || (is_target && a.is_none());
            if !fine {
                let addr = if v6 {
                    std::net::IpAddr::from(std::net::Ipv6Addr::from(at))
                } else {
                    std::net::IpAddr::from(std::net::Ipv4Addr::from(at as u32))
                };
                return Some(format!("at {addr}: {b:?} before, {a:?} after"));
            }
        }
    }
    None
}

fn reachable_targets(entry: &Value) -> Vec<String> {
    entry["targets"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .filter(|t| t["reachable"] == Value::Bool(true))
                .map(|t| t["target"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Probe Pods, one per class example, in `namespace` (a `*` value: one no selector names).
fn probes(namespace: &str, examples: &[Value]) -> String {
    let mut out = String::new();
    for (i, example) in examples.iter().enumerate() {
        out.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: imds-probe-{i}\n  namespace: {namespace}\n  labels:\n"
        ));
        for (key, value) in example.as_object().unwrap() {
            match value.as_str() {
                None => {}
                Some("*") => out.push_str(&format!("    {key:?}: probe-other-value\n")),
                Some(v) => out.push_str(&format!("    {key:?}: {v:?}\n")),
            }
        }
        out.push_str("spec:\n  containers: [{name: c, image: x}]\n");
    }
    out
}

/// `None` where the namespace is in several clusters and one of them is none, which `explain`
/// cannot choose.
fn explain(
    repo: &Path,
    cluster: Option<&str>,
    namespace: &str,
    stdin: Option<&str>,
) -> Option<Value> {
    let mut args = vec!["explain", namespace, "--format", "json"];
    if let Some(c) = cluster {
        args.extend(["--cluster", c]);
    }
    args.push(".");
    if stdin.is_some() {
        args.push("-");
    }
    let r = run_piped(repo, &args, stdin.unwrap_or_default().as_bytes());
    if cluster.is_none() && r.stderr.contains("is in several clusters") {
        return None;
    }
    Some(
        serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("explain {namespace} ({e}): {}{}", r.stdout, r.stderr)),
    )
}

fn class_examples(explained: &Value) -> Vec<Value> {
    explained["classes"]
        .as_array()
        .map(|cs| cs.iter().map(|c| c["example_labels"].clone()).collect())
        .unwrap_or_default()
}

/// Checks the invariant on one repository (a copy it may change); returns what it found wrong.
fn check_fix_only_narrows(name: &str, before_repo: &Path, after_repo: &Path) -> Vec<String> {
    let lint = run_piped(before_repo, &["--format", "json", "."], b"");
    let Ok(report) = serde_json::from_str::<Value>(&lint.stdout) else {
        return Vec::new();
    };
    let fix = run_piped(after_repo, &["fix"], b"");
    assert!(
        fix.code == 0 || fix.code == 2,
        "{name}: fix {}{}",
        fix.stdout,
        fix.stderr
    );
    let mut wrong = Vec::new();
    for ns in report["namespaces"].as_array().unwrap() {
        let namespace = ns["name"].as_str().unwrap();
        let cluster = ns["cluster"].as_str();
        let where_ = format!(
            "{name}: namespace {}{namespace}",
            cluster.map(|c| format!("{c}/")).unwrap_or_default()
        );
        let (Some(before), Some(after)) = (
            explain(before_repo, cluster, namespace, None),
            explain(after_repo, cluster, namespace, None),
        ) else {
            continue;
        };
        let targets: Vec<Range> = before["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| target_range(t.as_str().unwrap()))
            .collect();
        let mut compare = |what: &str, b: &Value, a: &Value| {
            if let Some(diff) =
                widened_or_narrowed(&address_egress(b), &address_egress(a), &targets)
            {
                wrong.push(format!("{where_}: {what}: egress changed {diff}"));
            }
            let (rb, ra) = (reachable_targets(b), reachable_targets(a));
            if ra.iter().any(|t| !rb.contains(t)) {
                wrong.push(format!(
                    "{where_}: {what}: reaches {ra:?} after, {rb:?} before"
                ));
            }
        };
        // Every workload: the same list before and after, fix adds none.
        let (wb, wa) = (
            before["workloads"].as_array().unwrap(),
            after["workloads"].as_array().unwrap(),
        );
        assert_eq!(wb.len(), wa.len(), "{where_}");
        for (b, a) in wb.iter().zip(wa) {
            if b["host_network"] != Value::Bool(true) {
                compare(&format!("{} {}", b["kind"], b["name"]), b, a);
            }
        }
        // Every class example of either run, as a pod of its own, where a pod given on
        // standard input lands in the namespace (no cluster).
        if cluster.is_none() {
            let mut examples = class_examples(&before);
            examples.extend(class_examples(&after));
            if !examples.is_empty() {
                let stdin = probes(namespace, &examples);
                let pb = explain(before_repo, None, namespace, Some(&stdin)).unwrap();
                let pa = explain(after_repo, None, namespace, Some(&stdin)).unwrap();
                let probe = |w: &&Value| w["name"].as_str().unwrap().starts_with("imds-probe-");
                let (pb, pa): (Vec<&Value>, Vec<&Value>) = (
                    pb["workloads"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(probe)
                        .collect(),
                    pa["workloads"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(probe)
                        .collect(),
                );
                assert_eq!(
                    pb.len(),
                    examples.len(),
                    "{where_}: every probe is a workload"
                );
                for (i, (b, a)) in pb.iter().zip(&pa).enumerate() {
                    compare(&format!("a pod labelled {}", examples[i]), b, a);
                }
            }
        }
    }
    wrong
}

/// `fix` on every fixture: no pod's egress grows, and none shrinks but at a metadata address.
#[test]
fn fix_only_ever_takes_metadata_away_on_every_fixture() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut names: Vec<String> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut wrong = Vec::new();
    for name in &names {
        let temp = tempfile::tempdir().unwrap();
        let (before, after) = (temp.path().join("before"), temp.path().join("after"));
        copy_dir(&fixtures.join(name), &before);
        copy_dir(&fixtures.join(name), &after);
        wrong.extend(check_fix_only_narrows(name, &before, &after));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Where the pair would change more than the metadata addresses, fix writes only what changes
/// no egress, and says why for the rest.
#[test]
fn fix_does_not_widen_egress_and_says_why() {
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path().join("repo");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fix-widen"),
        &repo,
    );
    let r = run_piped(&repo, &["fix"], b"");
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let wrote: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("wrote "))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(
        wrote,
        [
            // Every pod is isolated already: the deny half changes nothing, the allow half
            // would open all but metadata to pods that may send only HTTPS to 10.0.0.0/8.
            "allow-only/netpol-deny-egress-all.yaml",
            "open/netpol-deny-egress-all.yaml",
            "open/netpol-allow-egress-all-except-metadata.yaml",
            // Its pods may send everywhere already.
            "wide/netpol-allow-egress-all-except-metadata.yaml",
        ]
    );
    for note in [
        "note: namespace narrow: no allow-egress-all-except-metadata policy written: \
         allow-egress-all-except-metadata would open 0.0.0.0/0 except 10.0.0.0/8, \
         169.254.169.254/32; ::/0 except fd00:ec2::254/128 on every port to any pod (Deployment \
         api), which may send only to 10.0.0.0/8 any port now; no pod here can reach a metadata \
         endpoint already\n",
        "note: namespace dns-only: no allow-egress-all-except-metadata policy written: \
         allow-egress-all-except-metadata would open 0.0.0.0/0 except 169.254.169.254/32; ::/0 \
         except fd00:ec2::254/128 on every port to any pod (Deployment worker), which may send \
         only to pods matching k8s-app=kube-dns in namespaces matching \
         kubernetes.io/metadata.name=kube-system TCP 53; UDP 53 now; no pod here can reach a \
         metadata endpoint already\n",
        "note: namespace mixed: nothing written: allow-egress-all-except-metadata would open \
         0.0.0.0/0 except 10.0.0.0/8, 169.254.169.254/32; ::/0 except fd00:ec2::254/128 on every \
         port to a pod labelled app=db (Deployment db), which may send only to 10.0.0.0/8 any \
         port now; deny-egress-all alone would cut all egress of a pod with none of the labels \
         the selectors use (Deployment web), which no policy isolates. Close the metadata \
         endpoints for those pods by hand: a policy that selects them and allows 0.0.0.0/0 \
         except 169.254.169.254/32 and ::/0 except fd00:ec2::254/128\n",
        "note: namespace cilium: nothing written: CiliumNetworkPolicy cilium/api-egress selects \
         a pod labelled app=api (Deployment api), so fix cannot tell whether the pair would \
         widen or cut their egress; close the metadata endpoints for them in that policy\n",
    ] {
        assert!(r.stdout.contains(note), "missing {note:?} in\n{}", r.stdout);
    }
    // What stays: warnings where nothing reaches metadata, errors where something does.
    let report: Value =
        serde_json::from_str(&run_piped(&repo, &["--format", "json", "."], b"").stdout).unwrap();
    let mut pair: Vec<(String, String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "IMDS002" || f["rule"] == "IMDS003")
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_string();
            (s("namespace"), s("rule"), s("severity"))
        })
        .collect();
    pair.sort();
    let expected: Vec<(String, String, String)> = [
        ("allow-only", "IMDS003", "warning"),
        ("cilium", "IMDS002", "error"),
        ("cilium", "IMDS003", "error"),
        ("dns-only", "IMDS003", "warning"),
        ("mixed", "IMDS002", "error"),
        ("mixed", "IMDS003", "error"),
        ("narrow", "IMDS003", "warning"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(pair, expected);
    // Running it again writes nothing more, and says so.
    let again = run_piped(&repo, &["fix"], b"");
    assert!(
        again.stdout.starts_with(
            "nothing written: 5 namespaces lack a half of the pair, and fix cannot write it"
        ),
        "{}",
        again.stdout
    );
}
