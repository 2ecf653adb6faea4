//! The rules `explain` and IMDS001 say grant a target: only those whose ports and protocol
//! match it, through the binary on `fixtures/grants` (see its README).

mod common;

use common::run as imds_lint;
use common::{findings, json_report as json, workload};
use serde_json::Value;

/// (policy, rule, line) of each grant of a JSON `granted_by` list.
fn grants(list: &Value) -> Vec<(&str, u64, u64)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["policy"].as_str().unwrap(),
                g["rule"].as_u64().unwrap(),
                g["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn explain_names_only_the_rule_whose_ports_match_the_target() {
    let run = imds_lint(&["explain", "shop", "fixtures/grants"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let reachable: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("reachable"))
        .collect();
    assert_eq!(
        reachable,
        [
            "  reachable 169.254.169.254:80/TCP through metadata-access rule 2 \
          (fixtures/grants/policies.yaml:41:11)"
        ],
        "{}",
        run.stdout
    );

    let (code, report) = json(&["explain", "shop", "fixtures/grants"]);
    assert_eq!(code, 1);
    assert_eq!(report["metadata_reachable"], true);
    let class = &report["classes"][0];
    assert_eq!(class["targets"][0]["target"], "169.254.169.254:80/TCP");
    assert_eq!(class["targets"][0]["reachable"], true);
    assert_eq!(
        grants(&class["targets"][0]["granted_by"]),
        [("metadata-access", 2, 41)]
    );
    assert_eq!(class["targets"][1]["reachable"], false);
    assert_eq!(grants(&class["targets"][1]["granted_by"]), []);
    // The address row still shows every rule to the /32, each granting some of its ports.
    let row = class["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["addresses"] == "169.254.169.254/32")
        .expect("a row for the /32");
    assert_eq!(row["ports"], "TCP 80; UDP 53");
    assert_eq!(
        grants(&row["granted_by"]),
        [("metadata-access", 1, 35), ("metadata-access", 2, 41)]
    );
    // The same for the workload's own section.
    let storefront = &report["workloads"][0];
    assert_eq!(storefront["name"], "storefront");
    assert_eq!(
        grants(&storefront["targets"][0]["granted_by"]),
        [("metadata-access", 2, 41)]
    );
}

#[test]
fn lint_points_at_the_tcp_80_rule_only() {
    let (code, report) = json(&["fixtures/grants"]);
    assert_eq!(code, 1);
    let imds001 = findings(&report, "IMDS001", "shop");
    assert_eq!(imds001.len(), 1);
    assert_eq!(imds001[0]["line"], 41);
    assert_eq!(
        imds001[0]["message"],
        "NetworkPolicy shop/metadata-access egress rule 2 lets all pods reach \
         169.254.169.254:80/TCP (affects Deployment shop/storefront)"
    );
    assert_eq!(
        workload(&report, "storefront")["reached_through"][0]["rule"],
        2
    );
}
