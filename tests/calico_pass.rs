//! A Calico Pass that lets metadata through names the Pass rule, and the pods it passes are
//! isolated: through the binary on `fixtures/calico-pass` (see its README).

mod common;

use common::run as imds_lint;
use common::{findings, json_report as json, namespace, workload};

#[test]
fn a_calico_pass_that_lets_metadata_through_is_named_and_the_pods_are_isolated() {
    let (code, report) = json(&["fixtures/calico-pass"]);
    assert_eq!(code, 1);
    let ns = namespace(&report, "shop");
    assert_eq!(ns["metadata_reachable"], true);
    assert_eq!(
        ns["reachable_targets"],
        serde_json::json!(["169.254.169.254:80/TCP"])
    );
    assert_eq!(ns["isolated"], true, "deny-egress-all selects every pod");
    assert_eq!(ns["has_deny_egress_all"], true);
    let imds001 = findings(&report, "IMDS001", "shop");
    assert_eq!(imds001.len(), 1, "{imds001:?}");
    let f = imds001[0];
    assert_eq!(f["file"], "fixtures/calico-pass/global.yaml");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(13), Some(7))
    );
    assert_eq!(
        f["message"],
        "GlobalNetworkPolicy pass-metadata in namespace shop egress rule 1 (Pass) passes traffic \
         from all pods to 169.254.169.254:80/TCP on, and no later tier decides it, so it is allowed \
         (affects Deployment shop/checkout)"
    );
    assert!(
        !f["message"]
            .as_str()
            .unwrap()
            .contains("selected by no Egress"),
        "{f}"
    );
    // The workload is exposed through the Pass, not as a pod no policy selects.
    let related = f["related"].as_array().unwrap();
    assert_eq!(related.len(), 1);
    assert_eq!(
        related[0]["message"],
        "Deployment shop/checkout can reach 169.254.169.254:80/TCP through policy \
         pass-metadata, egress rule 1 (Pass)"
    );
    assert_eq!(workload(&report, "checkout")["isolated"], true);
    assert_eq!(
        workload(&report, "checkout")["reached_through"][0]["policy"],
        "pass-metadata"
    );
    // The human report says what to do about a Pass.
    let run = imds_lint(&["--color", "never", "fixtures/calico-pass"]);
    assert!(
        run.stdout
            .contains("Pass: no later tier allows or denies this traffic"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("help: deny 169.254.169.254/32 before this rule"),
        "{}",
        run.stdout
    );
}

#[test]
fn explain_of_the_calico_pass_agrees() {
    let (code, report) = json(&["explain", "shop", "fixtures/calico-pass"]);
    assert_eq!(code, 1);
    let class = &report["classes"][0];
    assert_eq!(class["isolated"], true);
    let decision = &class["targets"][0]["decision"];
    assert_eq!(decision["allowed"], true);
    assert_eq!(decision["passed_through"][0]["policy"], "pass-metadata");
    let run = imds_lint(&["explain", "shop", "fixtures/calico-pass"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .starts_with("namespace shop: some pods can reach 169.254.169.254:80/TCP\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "(Pass) (fixtures/calico-pass/global.yaml:13) passes it on → no later tier decides: \
             allowed by default"
        ),
        "{}",
        run.stdout
    );
}
