//! Cilium, AdminNetworkPolicy and BaselineAdminNetworkPolicy objects through the binary:
//! what their APIs refuse is reported, what they accept is not, and what cannot be
//! evaluated is listed.

mod common;

use common::{json_in, root};
use serde_json::Value;

fn lint_engines() -> Value {
    json_in(root(), &["fixtures/engines/decoding"], None)
}

/// (file, line, message) of every IMDS004 finding.
fn refusals(doc: &Value) -> Vec<(String, u64, String)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "IMDS004")
        .map(|f| {
            (
                f["file"].as_str().unwrap_or_default().to_string(),
                f["line"].as_u64().unwrap_or_default(),
                f["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn refused_cilium_policies_are_reported_at_the_offending_node() {
    let doc = lint_engines();
    let found: Vec<(u64, String)> = refusals(&doc)
        .into_iter()
        .filter(|(file, _, _)| file.ends_with("cilium-refused.yaml"))
        .map(|(_, line, message)| (line, message))
        .collect();
    let want = [
        (10, "shop/unknown-entity: unsupported entity \"internet\""),
        (22, "shop/numeric-port: expected a string, found an integer"),
        (32, "shop/mixed-peers: combining toEndpoints and toCIDR"),
        (
            41,
            "shop/host-in-namespace: nodeSelector is only allowed in a CiliumClusterwideNetworkPolicy",
        ),
    ];
    assert_eq!(found.len(), want.len(), "{found:?}");
    for ((line, message), (want_line, want_message)) in found.iter().zip(want) {
        assert_eq!(*line, want_line, "{message}");
        assert!(message.contains(want_message), "{message}");
    }
}

#[test]
fn refused_admin_policies_are_reported() {
    let doc = lint_engines();
    let found: Vec<(u64, String)> = refusals(&doc)
        .into_iter()
        .filter(|(file, _, _)| file.ends_with("admin-refused.yaml"))
        .map(|(_, line, message)| (line, message))
        .collect();
    let want = [
        (7, "priority must be an integer from 0 to 1000"),
        (14, "must be named \"default\""),
        (28, "action \"Drop\" is not Allow, Deny or Pass"),
    ];
    assert_eq!(found.len(), want.len(), "{found:?}");
    for ((line, message), (want_line, want_message)) in found.iter().zip(want) {
        assert_eq!(*line, want_line, "{message}");
        assert!(message.contains(want_message), "{message}");
    }
}

#[test]
fn accepted_policies_are_not_reported_as_refused() {
    let doc = lint_engines();
    let wrongly: Vec<_> = refusals(&doc)
        .into_iter()
        .filter(|(file, _, _)| file.ends_with("-valid.yaml") || file.contains("not-evaluated"))
        .collect();
    assert!(wrongly.is_empty(), "{wrongly:?}");
}

#[test]
fn host_policies_are_listed_as_not_evaluated_and_service_account_ones_are_evaluated() {
    let doc = lint_engines();
    let listed: Vec<(String, String)> = doc["not_evaluated"]
        .as_array()
        .expect("not_evaluated")
        .iter()
        .flat_map(|group| {
            let reason = group["reason"].as_str().unwrap_or_default().to_string();
            group["objects"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |o| {
                    (
                        o["name"].as_str().unwrap_or_default().to_string(),
                        reason.clone(),
                    )
                })
        })
        .collect();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(
        listed
            .iter()
            .any(|(name, reason)| name == "host-firewall" && reason.contains("host policy"))
    );
}
