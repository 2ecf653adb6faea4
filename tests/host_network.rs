//! hostNetwork workloads count in their namespace's verdict, through the binary, on
//! `fixtures/host-network` (see its README).

mod common;

use common::run as imds_lint;
use common::{findings, json_report as json, namespace, workload};
use serde_json::Value;

const BOTH: [&str; 2] = ["169.254.169.254:80/TCP", "[fd00:ec2::254]:80/TCP"];

#[test]
fn a_host_network_workload_makes_its_namespace_reachable() {
    let (code, report) = json(&["fixtures/host-network/kube-net"]);
    assert_eq!(code, 1, "IMDS001 is an error");
    let ns = namespace(&report, "kube-net");
    assert_eq!(ns["metadata_reachable"], true);
    assert_eq!(ns["reachable_targets"], serde_json::json!(BOTH));
    // Every pod on the pod network is still selected by an Egress policy.
    assert_eq!(ns["isolated"], true);
    assert_eq!(ns["has_deny_egress_all"], true);
    assert_eq!(ns["has_allow_except_metadata"], true);
    assert_eq!(report["summary"]["namespaces_reachable"], 1);
    let agent = workload(&report, "cni-agent");
    assert_eq!(agent["host_network"], true);
    assert_eq!(agent["metadata_reachable"], true);
    let api = workload(&report, "api");
    assert_eq!(api["metadata_reachable"], false);
}

#[test]
fn imds001_names_the_host_network_workload_and_points_to_imds005() {
    let (_, report) = json(&["fixtures/host-network/kube-net"]);
    let imds001 = findings(&report, "IMDS001", "kube-net");
    assert_eq!(imds001.len(), 1, "{imds001:?}");
    let f = imds001[0];
    assert_eq!(f["severity"], "error");
    assert_eq!(f["file"], "fixtures/host-network/kube-net/workloads.yaml");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(15), Some(7))
    );
    assert_eq!(
        f["message"],
        "DaemonSet kube-net/cni-agent runs with hostNetwork: true, so its pods reach \
         169.254.169.254:80/TCP, [fd00:ec2::254]:80/TCP whatever the namespace's policies say"
    );
    let related: Vec<(&str, u64)> = f["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["message"].as_str().unwrap(), r["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        related,
        [(
            "IMDS005 host-network-pod: NetworkPolicy does not apply to DaemonSet \
             kube-net/cni-agent; block the endpoint for its pods on the node",
            15
        )]
    );
    // IMDS005 still warns at the same field; IMDS002 and IMDS003 have nothing to say.
    let imds005 = findings(&report, "IMDS005", "kube-net");
    assert_eq!(imds005.len(), 1);
    assert_eq!(imds005[0]["line"], f["line"]);
    assert!(findings(&report, "IMDS002", "kube-net").is_empty());
    assert!(findings(&report, "IMDS003", "kube-net").is_empty());
}

#[test]
fn the_human_report_shows_the_finding() {
    let run = imds_lint(&["--color", "never", "fixtures/host-network/kube-net"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains(
            "DaemonSet kube-net/cni-agent runs with hostNetwork: true, so its pods reach"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "help: drop hostNetwork if the pods do not need it; otherwise block the metadata \
             endpoint for them on the node (imds-lint rule IMDS005)"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("1 namespace (1 with metadata reachable)"),
        "{}",
        run.stdout
    );
}

#[test]
fn explain_headline_and_exit_status_agree_with_the_verdict() {
    let run = imds_lint(&["explain", "kube-net", "fixtures/host-network"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let first = run.stdout.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        "namespace kube-net: some pods can reach 169.254.169.254:80/TCP, [fd00:ec2::254]:80/TCP"
    );
    assert!(
        run.stdout.contains(
            "host network: DaemonSet cni-agent — NetworkPolicy does not apply to its pods"
        ),
        "{}",
        run.stdout
    );
    let run = imds_lint(&[
        "explain",
        "kube-net",
        "fixtures/host-network",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["metadata_reachable"], true);
    assert_eq!(report["reachable_targets"], serde_json::json!(BOTH));
}

#[test]
fn an_annotation_naming_imds001_suppresses_the_finding_not_the_verdict() {
    let (code, report) = json(&["fixtures/host-network/accepted"]);
    assert_eq!(code, 0, "{report}");
    let ns = namespace(&report, "accepted");
    assert_eq!(ns["metadata_reachable"], true);
    assert!(
        report["findings"].as_array().unwrap().is_empty(),
        "{report}"
    );
    let suppressed: Vec<(&str, &str)> = report["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["finding"]["rule"].as_str().unwrap(),
                s["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        suppressed,
        [
            (
                "IMDS001",
                "node agent; IMDS blocked for its UID on the node"
            ),
            (
                "IMDS005",
                "node agent; IMDS blocked for its UID on the node"
            ),
        ]
    );
}

#[test]
fn fix_writes_nothing_for_a_host_network_workload_and_says_so() {
    let run = imds_lint(&["fix", "--dry-run", "fixtures/host-network/kube-net"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "the pair is there: {}", run.stdout);
    assert!(
        run.stderr.contains(
            "namespace kube-net stays reachable: DaemonSet kube-net/cni-agent runs with \
             hostNetwork: true (fixtures/host-network/kube-net/workloads.yaml:15); no policy \
             applies to its pods and fix cannot change that (imds-lint rule IMDS005)"
        ),
        "{}",
        run.stderr
    );
}
