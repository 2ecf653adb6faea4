//! Cilium, Calico and AdminNetworkPolicy through the binary, one precedence step each, on
//! `fixtures/engines` (see its README).

mod common;

use common::run as imds_lint;
use common::{findings, namespace, workload};
use serde_json::Value;

fn json(path: &str) -> (i32, Value) {
    let run = imds_lint(&[path, "--format", "json"]);
    let value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    (run.code, value)
}

/// Every finding in `namespace`, as `RULE file:line`.
fn places(report: &Value, namespace: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["namespace"] == namespace)
        .map(|f| {
            format!(
                "{} {}:{}",
                f["rule"].as_str().unwrap(),
                f["file"].as_str().unwrap(),
                f["line"]
            )
        })
        .collect()
}

/// The findings at error severity in `namespace`, as `RULE file:line`; the rest are warnings,
/// such as IMDS002 and IMDS003 where another engine keeps every target closed.
fn errors(report: &Value, namespace: &str) -> Vec<String> {
    let mut errors = report.clone();
    if let Some(findings) = errors["findings"].as_array_mut() {
        findings.retain(|f| f["severity"] == "error");
    }
    places(&errors, namespace)
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

#[test]
fn an_admin_deny_cannot_be_reopened_by_a_namespaced_allow() {
    let (_, report) = json("fixtures/engines/admin");
    let payments = namespace(&report, "payments");
    assert_eq!(payments["metadata_reachable"], false);
    assert_eq!(strings(&payments["protected_by"]), ["deny-metadata"]);
    assert_eq!(
        report["summary"]["namespaces_protected"], 2,
        "payments and sandbox"
    );
    assert!(
        errors(&report, "payments").is_empty(),
        "the pair is not needed where a cluster-wide deny decides: {:?}",
        places(&report, "payments")
    );
    // It is still the usual defence: IMDS002 and IMDS003 are warnings naming what closes it.
    let imds003 = findings(&report, "IMDS003", "payments");
    assert_eq!(imds003.len(), 1, "{imds003:?}");
    assert_eq!(imds003[0]["severity"], "warning");
    assert_eq!(
        imds003[0]["message"],
        "namespace payments has no allow-egress-all-except-metadata policy, but no pod here can \
         reach a metadata endpoint: AdminNetworkPolicy deny-metadata keeps every target closed"
    );
}

#[test]
fn a_pass_hands_over_to_the_namespace_network_policy() {
    let (code, report) = json("fixtures/engines/admin");
    assert_eq!(code, 1);
    let batch = namespace(&report, "batch");
    assert_eq!(
        strings(&batch["reachable_targets"]),
        ["169.254.169.254:80/TCP", "[fd00:ec2::254]:80/TCP"]
    );
    let imds001 = findings(&report, "IMDS001", "batch");
    assert_eq!(imds001.len(), 1, "{imds001:?}");
    let message = imds001[0]["message"].as_str().unwrap();
    assert!(
        message
            .starts_with("NetworkPolicy batch/allow-all-egress egress rule 1 lets all pods reach"),
        "{message}"
    );
    assert!(
        message.contains("after AdminNetworkPolicy delegate-metadata"),
        "the finding names the admin policy that passed it on: {message}"
    );
    assert_eq!(
        imds001[0]["file"],
        "fixtures/engines/admin/batch-allow-all.yaml"
    );
    assert_eq!(imds001[0]["line"], 11, "points at the rule");
}

#[test]
fn the_baseline_decides_after_a_pass_when_no_network_policy_does() {
    let (_, report) = json("fixtures/engines/admin");
    let sandbox = namespace(&report, "sandbox");
    assert_eq!(sandbox["metadata_reachable"], false);
    assert_eq!(strings(&sandbox["protected_by"]), ["default"]);
    assert!(errors(&report, "sandbox").is_empty());
    assert_eq!(workload(&report, "notebook")["metadata_reachable"], false);
}

#[test]
fn a_cilium_egress_deny_wins_over_a_native_allow() {
    let (_, report) = json("fixtures/engines/cilium");
    let apps = namespace(&report, "apps");
    assert_eq!(apps["metadata_reachable"], false);
    assert_eq!(strings(&apps["protected_by"]), ["block-imds"]);
    assert!(
        errors(&report, "apps").is_empty(),
        "{:?}",
        places(&report, "apps")
    );
}

#[test]
fn cilium_world_and_metadata_hostnames_open_metadata() {
    let (_, report) = json("fixtures/engines/cilium");
    let legacy = findings(&report, "IMDS001", "legacy");
    assert_eq!(legacy.len(), 1, "{legacy:?}");
    assert!(
        legacy[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("CiliumNetworkPolicy legacy/open-world egress rule 1"),
        "{}",
        legacy[0]["message"]
    );
    assert_eq!(legacy[0]["line"], 14, "points at the rule");
    let gke = namespace(&report, "gke");
    assert_eq!(
        strings(&gke["reachable_targets"]),
        ["169.254.169.254:80/TCP", "[fd00:ec2::254]:80/TCP"],
        "pods other than app=exporter are not isolated"
    );
    let by_name: Vec<&Value> = findings(&report, "IMDS001", "gke")
        .into_iter()
        .filter(|f| f["message"].as_str().unwrap().contains("metadata-by-name"))
        .collect();
    assert_eq!(
        by_name.len(),
        1,
        "toFQDNs metadata.google.internal opens 169.254.169.254"
    );
    assert!(
        by_name[0]["message"]
            .as_str()
            .unwrap()
            .contains("169.254.169.254:80/TCP")
    );
}

#[test]
fn a_cilium_policy_without_default_deny_isolates_nothing() {
    let (_, report) = json("fixtures/engines/cilium");
    let observed = namespace(&report, "observed");
    assert_eq!(observed["isolated"], false);
    assert_eq!(observed["metadata_reachable"], true);
    assert_eq!(findings(&report, "IMDS001", "observed").len(), 1);
}

#[test]
fn calico_breaks_an_order_tie_by_name() {
    let (_, report) = json("fixtures/engines/calico");
    let shop = namespace(&report, "shop");
    assert_eq!(shop["metadata_reachable"], false);
    assert_eq!(
        strings(&shop["protected_by"]),
        ["a-deny-metadata", "ci-no-metadata"],
        "app=ci pods meet ci-no-metadata's deny first"
    );
    assert!(
        errors(&report, "shop").is_empty(),
        "{:?}",
        places(&report, "shop")
    );
}

#[test]
fn a_calico_policy_ordered_first_reopens_and_a_network_set_closes() {
    let (_, report) = json("fixtures/engines/calico");
    let imds001 = findings(&report, "IMDS001", "legacy");
    assert_eq!(imds001.len(), 1, "{imds001:?}");
    let message = imds001[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Calico NetworkPolicy legacy/legacy-allow-all"),
        "{message}"
    );
    assert_eq!(imds001[0]["file"], "fixtures/engines/calico/legacy.yaml");
    assert_eq!(imds001[0]["line"], 17, "points at the rule");
    assert!(
        message.ends_with("(affects CronJob legacy/ci, Deployment legacy/web)"),
        "ci still reaches IPv6 through it: {message}"
    );
    assert_eq!(
        strings(&workload(&report, "ci")["reachable_targets"]),
        ["[fd00:ec2::254]:80/TCP"],
        "the network set denies IPv4 metadata to app=ci first"
    );
    assert_eq!(
        strings(&workload(&report, "web")["reachable_targets"]),
        ["169.254.169.254:80/TCP", "[fd00:ec2::254]:80/TCP"]
    );
}

#[test]
fn explain_shows_the_precedence_chain_for_a_pod_class() {
    let run = imds_lint(&[
        "explain",
        "batch",
        "fixtures/engines/admin",
        "--color",
        "never",
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "reachable 169.254.169.254:80/TCP: AdminNetworkPolicy delegate-metadata egress rule 1"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "passes it on → allowed by NetworkPolicy batch/allow-all-egress egress rule 1"
        ),
        "{}",
        run.stdout
    );
    let run = imds_lint(&[
        "explain",
        "payments",
        "fixtures/engines/admin",
        "--color",
        "never",
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "blocked   169.254.169.254:80/TCP: denied by AdminNetworkPolicy deny-metadata"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn every_engine_policy_is_listed_with_its_kind() {
    let (_, report) = json("fixtures/engines/admin");
    let kinds: Vec<(&str, &str, bool)> = report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap(),
                p["name"].as_str().unwrap(),
                p["evaluated"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("AdminNetworkPolicy", "deny-metadata", true)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("BaselineAdminNetworkPolicy", "default", true)),
        "{kinds:?}"
    );
    assert!(report["not_evaluated"].as_array().unwrap().is_empty());
}

#[test]
fn explain_json_gives_each_target_its_decision() {
    let run = imds_lint(&[
        "explain",
        "batch",
        "fixtures/engines/admin",
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let decision = &report["classes"][0]["targets"][0]["decision"];
    assert_eq!(decision["allowed"], true);
    assert_eq!(decision["decided_by"], "rules");
    assert_eq!(decision["rules"][0]["policy"], "allow-all-egress");
    assert_eq!(decision["passed_through"][0]["kind"], "AdminNetworkPolicy");
    assert_eq!(decision["passed_through"][0]["policy"], "delegate-metadata");
    let run = imds_lint(&[
        "explain",
        "sandbox",
        "fixtures/engines/admin",
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let decision = &report["classes"][0]["targets"][0]["decision"];
    assert_eq!(decision["allowed"], false);
    assert_eq!(
        decision["rules"][0]["kind"], "BaselineAdminNetworkPolicy",
        "after the pass, no NetworkPolicy decides and the baseline denies"
    );
}

#[test]
fn explain_chain_human_output() {
    let run = imds_lint(&[
        "explain",
        "batch",
        "fixtures/engines/admin",
        "--color",
        "never",
    ]);
    insta::assert_snapshot!("explain_chain_admin_batch", run.stdout);
    let run = imds_lint(&[
        "explain",
        "legacy",
        "fixtures/engines/calico",
        "--color",
        "never",
    ]);
    insta::assert_snapshot!("explain_chain_calico_legacy", run.stdout);
}

#[test]
fn a_cilium_specs_entry_is_reported_in_its_own_terms() {
    // The first entry of `specs` has no egress rule; the opening is the second entry's.
    let (_, report) = json("fixtures/engines/cilium-specs");
    let imds001 = findings(&report, "IMDS001", "crawler");
    assert_eq!(imds001.len(), 1, "{imds001:?}");
    assert_eq!(
        imds001[0]["message"],
        "CiliumNetworkPolicy crawler/crawler specs[1] egress rule 1 lets all pods reach \
         169.254.169.254:80/TCP, [fd00:ec2::254]:80/TCP (affects Deployment crawler/spider)"
    );
    assert_eq!(imds001[0]["line"], 19, "points at the rule");
    let through = &workload(&report, "spider")["reached_through"][0];
    assert_eq!(through["rule_name"], "specs[1] egress rule 1");
    let human = imds_lint(&["fixtures/engines/cilium-specs"]).stdout;
    assert!(
        human.contains("toEntities world reaches 169.254.169.254"),
        "the Cilium rule's own label: {human}"
    );
    assert!(
        human.contains("help: add an egressDeny rule for 169.254.169.254/32"),
        "Cilium's help: {human}"
    );
    assert!(!human.contains("has no `to`"), "no native wording: {human}");
}
