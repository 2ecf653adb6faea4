//! Policies that select pods by service account (Cilium's
//! `io.cilium.k8s.policy.serviceaccount`, Calico's `projectcalico.org/serviceaccount` and
//! `source.serviceAccounts.names`), evaluated through the workloads' `serviceAccountName`.

mod common;

use common::{findings, json_in, root, workload};
use serde_json::Value;

fn reachable_targets(report: &Value, name: &str) -> Vec<String> {
    workload(report, name)["reachable_targets"]
        .as_array()
        .expect("reachable_targets")
        .iter()
        .map(|t| t.as_str().unwrap_or_default().to_string())
        .collect()
}

fn not_evaluated(report: &Value) -> &Vec<Value> {
    report["not_evaluated"].as_array().expect("not_evaluated")
}

#[test]
fn a_cilium_policy_on_a_service_account_opens_only_that_accounts_workload() {
    let run = common::run(&["fixtures/engines/service-accounts", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON report");
    assert!(not_evaluated(&report).is_empty(), "{report:#}");
    assert_eq!(
        reachable_targets(&report, "exporter"),
        ["169.254.169.254:80/TCP", "[fd00:ec2::254]:80/TCP"]
    );
    assert_eq!(
        workload(&report, "exporter")["selected_by"],
        serde_json::json!(["batch-to-world", "dns-only"])
    );
    // Same labels, other service account: only the native DNS-only policy applies.
    assert!(reachable_targets(&report, "frontend").is_empty());
    assert_eq!(workload(&report, "frontend")["metadata_reachable"], false);
    let reachable = findings(&report, "IMDS001", "jobs");
    assert_eq!(reachable.len(), 1, "{reachable:?}");
    let message = reachable[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("jobs/batch-to-world"), "{message}");
    assert!(message.contains("Deployment jobs/exporter"), "{message}");
    assert!(!message.contains("frontend"), "{message}");
    let related: Vec<&str> = reachable[0]["related"]
        .as_array()
        .expect("related")
        .iter()
        .map(|r| r["message"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(related.len(), 1, "{related:?}");
    assert!(related[0].starts_with("Deployment jobs/exporter"));
}

/// A Calico policy by service-account name, a rule by `source.serviceAccounts.names`, and the
/// deprecated `serviceAccount` field and the `default` account.
const CALICO: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: jobs}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: batch-no-metadata, namespace: jobs}
spec:
  selector: projectcalico.org/serviceaccount == 'batch'
  order: 5
  types: [Egress]
  egress:
  - action: Deny
    destination: {nets: [169.254.169.254/32]}
  - action: Deny
    destination: {nets: ["fd00:ec2::254/128"]}
  - action: Allow
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: default-account-no-metadata}
spec:
  selector: all()
  order: 10
  types: [Egress]
  egress:
  - action: Deny
    source:
      serviceAccounts: {names: [default]}
    destination: {nets: [169.254.169.254/32]}
  - action: Deny
    source:
      serviceAccounts: {names: [default]}
    destination: {nets: ["fd00:ec2::254/128"]}
  - action: Allow
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: exporter, namespace: jobs}
spec:
  template:
    spec: {serviceAccountName: batch}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: legacy, namespace: jobs}
spec:
  template:
    spec: {serviceAccount: old}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: plain, namespace: jobs}
spec:
  template:
    spec: {containers: []}
"#;

#[test]
fn calico_selects_by_service_account_name() {
    let report = json_in(root(), &["-"], Some(CALICO.as_bytes()));
    assert!(not_evaluated(&report).is_empty(), "{report:#}");
    assert!(reachable_targets(&report, "exporter").is_empty());
    // The deprecated field still names the account; no policy covers `old`.
    assert_eq!(
        reachable_targets(&report, "legacy"),
        ["169.254.169.254:80/TCP", "[fd00:ec2::254]:80/TCP"]
    );
    // No service account named: `default`, which the global rule denies.
    assert!(reachable_targets(&report, "plain").is_empty());
    let reachable = findings(&report, "IMDS001", "jobs");
    assert_eq!(reachable.len(), 1, "{reachable:?}");
    let message = reachable[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("default-account-no-metadata")
            && message.contains("(affects Deployment jobs/legacy)"),
        "{message}"
    );
}

#[test]
fn pods_of_other_service_accounts_are_described_by_their_account() {
    let text = r#"
apiVersion: v1
kind: Namespace
metadata: {name: jobs}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: batch-dns-only, namespace: jobs}
spec:
  endpointSelector:
    matchLabels: {io.cilium.k8s.policy.serviceaccount: batch}
  egress:
  - toPorts: [{ports: [{port: "53", protocol: UDP}]}]
"#;
    let report = json_in(root(), &["-"], Some(text.as_bytes()));
    let reachable = findings(&report, "IMDS001", "jobs");
    assert_eq!(reachable.len(), 1, "{reachable:?}");
    let message = reachable[0]["message"].as_str().unwrap_or_default();
    // Every pod has a service account: the unprotected ones are those of any other account.
    assert!(
        message.starts_with("pods labelled @serviceaccount=<any other value> in namespace jobs"),
        "{message}"
    );
}

#[test]
fn selecting_by_service_account_labels_stays_not_evaluated() {
    let text = CALICO.replace(
        "selector: projectcalico.org/serviceaccount == 'batch'",
        "selector: pcsa.team == 'data'",
    );
    let report = json_in(root(), &["-"], Some(text.as_bytes()));
    let listed = not_evaluated(&report);
    assert_eq!(listed.len(), 1, "{listed:?}");
    let reason = listed[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("pcsa.team"), "{reason}");
}

#[test]
fn a_native_selector_cannot_name_the_service_account_label() {
    let text = r#"
apiVersion: v1
kind: Namespace
metadata: {name: jobs}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: forged, namespace: jobs}
spec:
  podSelector:
    matchLabels: {'@serviceaccount': batch}
  policyTypes: [Egress]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: exporter, namespace: jobs}
spec:
  template:
    spec: {serviceAccountName: batch}
"#;
    let report = json_in(root(), &["-"], Some(text.as_bytes()));
    // The API server refuses the key, so the policy isolates nothing.
    let refused = findings(&report, "IMDS004", "jobs");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("\"@serviceaccount\" is not a valid label key")
    );
    assert_eq!(
        workload(&report, "exporter")["selected_by"],
        serde_json::json!([])
    );
    assert_eq!(workload(&report, "exporter")["metadata_reachable"], true);
}

#[test]
fn explain_splits_pod_classes_by_service_account() {
    let run = common::run(&["explain", "jobs", "fixtures/engines/service-accounts"]);
    let out = &run.stdout;
    assert!(
        out.contains("a pod labelled @serviceaccount=batch\n  workloads: Deployment exporter"),
        "{out}"
    );
    assert!(
        out.contains(
            "a pod labelled @serviceaccount=<any other value>\n  workloads: Deployment frontend"
        ),
        "{out}"
    );
}
