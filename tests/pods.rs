//! Per-pod analysis through the binary: pod classes, workloads, targets and `explain`, on
//! `fixtures/pods` (see its README).

mod common;

use common::run as imds_lint;
use common::{findings, json_report as json, namespace, workload};
use serde_json::Value;

#[test]
fn selectors_that_together_cover_every_pod_are_not_a_finding() {
    let (_, report) = json(&["fixtures/pods"]);
    for ns in ["complementary", "tiers"] {
        assert_eq!(namespace(&report, ns)["metadata_reachable"], false, "{ns}");
        assert_eq!(namespace(&report, ns)["isolated"], true, "{ns}");
        assert!(findings(&report, "IMDS001", ns).is_empty(), "{ns}");
    }
}

#[test]
fn every_opening_policy_is_reported_and_names_the_workloads_it_exposes() {
    let (code, report) = json(&["fixtures/pods"]);
    assert_eq!(code, 1);
    let imds001 = findings(&report, "IMDS001", "payments");
    let messages: Vec<&str> = imds001
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "NetworkPolicy payments/web-egress egress rule 1 lets pods matching app=web reach \
             169.254.169.254:80/TCP (affects Deployment payments/web)",
            "NetworkPolicy payments/debug-egress egress rule 1 lets pods matching app in (web, debug) \
             reach 169.254.169.254:80/TCP, [fd00:ec2::254]:80/TCP (affects Deployment payments/web, \
             StatefulSet payments/debug)",
            "Pod payments/agent runs with hostNetwork: true, so its pods reach \
             169.254.169.254:80/TCP, [fd00:ec2::254]:80/TCP whatever the namespace's policies say",
        ]
    );
    let related: Vec<(&str, u64)> = imds001[1]["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["message"].as_str().unwrap(), r["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        related,
        [
            (
                "Deployment payments/web can reach 169.254.169.254:80/TCP, [fd00:ec2::254]:80/TCP \
                 through policy debug-egress, egress rule 1",
                15
            ),
            (
                "StatefulSet payments/debug can reach 169.254.169.254:80/TCP, [fd00:ec2::254]:80/TCP \
                 through policy debug-egress, egress rule 1",
                29
            ),
        ]
    );
    // The finding points at the opening rule: debug-egress's rule has no `to`.
    assert_eq!(
        (imds001[1]["file"].as_str(), imds001[1]["line"].as_u64()),
        (Some("fixtures/pods/payments/reopen.yaml"), Some(29))
    );
    // The hostNetwork Pod is its own IMDS001 finding, at the field IMDS005 warns about; no
    // policy's finding names it, since no policy applies to it.
    assert_eq!(imds001[2]["line"], 66);
    let imds005 = findings(&report, "IMDS005", "payments");
    assert_eq!(imds005.len(), 1);
    assert_eq!(imds005[0]["line"], imds001[2]["line"]);
    assert!(
        imds005[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Pod payments/agent runs with hostNetwork: true")
    );
}

#[test]
fn workloads_array_field_by_field() {
    let (_, report) = json(&["fixtures/pods"]);
    let web = workload(&report, "web");
    assert_eq!(web["namespace"], "payments");
    assert_eq!(web["kind"], "Deployment");
    assert_eq!(web["metadata_reachable"], true);
    assert_eq!(
        web["reachable_targets"],
        serde_json::json!(["169.254.169.254:80/TCP", "[fd00:ec2::254]:80/TCP"])
    );
    assert_eq!(web["host_network"], false);
    assert_eq!(web["isolated"], true);
    assert_eq!(
        web["selected_by"],
        serde_json::json!([
            "deny-egress-all",
            "allow-egress-all-except-metadata",
            "web-egress",
            "debug-egress"
        ])
    );
    let through: Vec<(&str, u64, u64)> = web["reached_through"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["policy"].as_str().unwrap(),
                t["rule"].as_u64().unwrap(),
                t["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(through, [("web-egress", 1, 13), ("debug-egress", 1, 29)]);
    assert_eq!(web["file"], "fixtures/pods/payments/workloads.yaml");
    assert_eq!(web["line"], 15);

    let api = workload(&report, "api");
    assert_eq!(api["metadata_reachable"], false);
    assert_eq!(api["reachable_targets"], serde_json::json!([]));
    assert_eq!(api["reached_through"], serde_json::json!([]));

    let report_job = workload(&report, "report");
    assert_eq!(report_job["kind"], "CronJob");
    assert_eq!(report_job["metadata_reachable"], false);

    let agent = workload(&report, "agent");
    assert_eq!(agent["host_network"], true);
    assert_eq!(
        agent["metadata_reachable"], true,
        "hostNetwork ignores policy"
    );
    assert_eq!(
        agent["isolated"], true,
        "selected, but policy does not apply"
    );
}

#[test]
fn dns_only_to_the_metadata_address_is_not_a_finding() {
    let (_, report) = json(&["fixtures/pods"]);
    assert_eq!(namespace(&report, "gke")["metadata_reachable"], false);
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["namespace"] != "gke")
    );
}

#[test]
fn presets_and_targets_choose_the_endpoints() {
    let (_, report) = json(&["fixtures/pods"]);
    assert_eq!(
        report["targets"],
        serde_json::json!([
            {"target": "169.254.169.254:80/TCP", "address": "169.254.169.254", "port": 80, "protocol": "TCP", "known_as": "aws, gcp, azure, oci"},
            {"target": "[fd00:ec2::254]:80/TCP", "address": "fd00:ec2::254", "port": 80, "protocol": "TCP", "known_as": "aws"},
        ])
    );
    assert_eq!(namespace(&report, "ecs")["metadata_reachable"], false);

    // ECS's task metadata endpoint is not carved out by the usual pair.
    let (_, ecs) = json(&["fixtures/pods", "--preset", "aws", "--preset", "ecs"]);
    assert_eq!(
        namespace(&ecs, "ecs")["reachable_targets"],
        serde_json::json!(["169.254.170.2:80/TCP"])
    );
    let imds001 = findings(&ecs, "IMDS001", "ecs");
    assert_eq!(imds001.len(), 1);
    assert!(
        imds001[0]["message"]
            .as_str()
            .unwrap()
            .ends_with("lets all pods reach 169.254.170.2:80/TCP")
    );

    // --target alone replaces the defaults; the port and protocol are part of the target.
    let (_, dns) = json(&["fixtures/pods", "--target", "169.254.169.254:53/udp"]);
    assert_eq!(
        namespace(&dns, "gke")["reachable_targets"],
        serde_json::json!(["169.254.169.254:53/UDP"])
    );
    assert_eq!(dns["targets"].as_array().unwrap().len(), 1);
    assert_eq!(dns["targets"][0]["known_as"], Value::Null);

    let bad = imds_lint(&["fixtures/pods", "--target", "metadata.internal"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("is not an IP address"),
        "{}",
        bad.stderr
    );
    let unknown = imds_lint(&["fixtures/pods", "--preset", "aws-typo"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("eks-pod-identity"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn explain_shows_each_class_with_the_rule_behind_each_range() {
    let run = imds_lint(&["explain", "payments", "fixtures/pods"]);
    assert_eq!(run.code, 1, "some pods reach metadata: {}", run.stderr);
    let out = &run.stdout;
    assert!(out.starts_with(
        "namespace payments: some pods can reach 169.254.169.254:80/TCP, [fd00:ec2::254]:80/TCP\n"
    ));
    assert!(out.contains("pod class 1 of 3: a pod with none of the labels the selectors use\n  workloads: Deployment api, CronJob report\n"));
    assert!(
        out.contains("pod class 3 of 3: a pod labelled app=web\n  workloads: Deployment web\n")
    );
    assert!(out.contains(
        "    0.0.0.0/0 except 169.254.169.254/32  any port  allow-egress-all-except-metadata rule 1 (fixtures/pods/payments/baseline.yaml:25:11)\n  blocked   169.254.169.254:80/TCP\n"
    ));
    assert!(out.contains(
        "  reachable 169.254.169.254:80/TCP through web-egress rule 1 (fixtures/pods/payments/reopen.yaml:13:11); debug-egress rule 1 (fixtures/pods/payments/reopen.yaml:29:7)\n"
    ));
    assert!(
        out.contains("Pod agent (fixtures/pods/payments/workloads.yaml:59)\n  hostNetwork: true")
    );

    let safe = imds_lint(&["explain", "tiers", "fixtures/pods"]);
    assert_eq!(safe.code, 0);
    assert!(
        safe.stdout
            .starts_with("namespace tiers: no pod can reach a metadata endpoint\n")
    );
    assert!(
        !safe.stdout.contains("no Egress policy"),
        "every class is isolated"
    );
}

#[test]
fn explain_per_workload_and_as_json() {
    let run = imds_lint(&["explain", "payments", "fixtures/pods", "--workloads"]);
    assert!(run.stdout.contains(
        "StatefulSet debug (fixtures/pods/payments/workloads.yaml:29)\n  selected by: deny-egress-all, allow-egress-all-except-metadata, debug-egress\n"
    ));
    assert!(!run.stdout.contains("pod class"));

    let (code, report) = json(&["explain", "payments", "fixtures/pods"]);
    assert_eq!(code, 1);
    assert_eq!(report["namespace"], "payments");
    assert_eq!(report["metadata_reachable"], true);
    let roles: Vec<(&str, &str)> = report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles.len(), 4);
    assert!(roles.iter().all(|(_, role)| *role == "egress"));
    let classes = report["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 3);
    let web = &classes[2];
    assert_eq!(web["example_labels"], serde_json::json!({"app": "web"}));
    assert_eq!(web["isolated"], true);
    assert_eq!(web["metadata_reachable"], true);
    let metadata = &web["targets"][0];
    assert_eq!(metadata["target"], "169.254.169.254:80/TCP");
    assert_eq!(metadata["reachable"], true);
    let by: Vec<&str> = metadata["granted_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["policy"].as_str().unwrap())
        .collect();
    assert_eq!(by, ["web-egress", "debug-egress"]);
    let first = &web["addresses"][0];
    assert_eq!(first["addresses"], "0.0.0.0/0 except 169.254.0.0/16");
    assert_eq!(first["ports"], "any port");
    assert_eq!(
        first["cidrs"].as_array().unwrap().len(),
        16,
        "0/0 minus a /16 is 16 blocks"
    );
    let workloads = report["workloads"].as_array().unwrap();
    assert_eq!(workloads.len(), 5);
    assert!(workloads.iter().any(|w| w["name"] == "agent"
        && w["host_network"] == true
        && w["metadata_reachable"] == true));
}

#[test]
fn explain_of_an_unknown_namespace_lists_the_known_ones() {
    let run = imds_lint(&["explain", "paymnets", "fixtures/pods"]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr
            .contains("no namespace \"paymnets\" in these manifests; known: complementary, ecs, gke, payments, tiers"),
        "{}",
        run.stderr
    );
}
