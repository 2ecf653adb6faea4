//! Calico policies through the binary: what Calico would refuse is reported where it is
//! written, and what cannot be evaluated is listed with its reason, never dropped.

mod common;

use common::json_in;
use serde_json::Value;

const POLICIES: &str = "\
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: deny-metadata
spec:
  order: 1
  selector: all()
  types: [Egress]
  egress:
  - action: Deny
    destination:
      nets: [169.254.169.254/32]
  - action: Allow
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: typo
  namespace: web
spec:
  selector: app = 'web'
  egress:
  - action: Allow
---
apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata:
  name: substring
  namespace: web
spec:
  selector: app contains 'web'
  egress:
  - action: Allow
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: host
spec:
  preDNAT: true
  applyOnForward: true
  selector: has(node-role)
  ingress:
  - action: Deny
";

fn lint() -> Value {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("calico.yaml"), POLICIES).unwrap();
    json_in(dir.path(), &["."], None)
}

#[test]
fn a_selector_calico_refuses_is_an_invalid_policy_at_its_line() {
    let doc = lint();
    let invalid: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "IMDS004")
        .collect();
    assert_eq!(invalid.len(), 1, "{invalid:?}");
    let finding = invalid[0];
    assert_eq!(finding["line"], 21);
    assert_eq!(finding["column"], 13);
    let message = finding["message"].as_str().unwrap();
    assert!(message.contains("NetworkPolicy web/typo"), "{message}");
    assert!(message.contains("not a valid selector"), "{message}");
}

#[test]
fn unsupported_selectors_and_host_policies_are_listed_as_not_evaluated() {
    let doc = lint();
    let listed: Vec<(String, String)> = doc["not_evaluated"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|group| {
            group["objects"].as_array().unwrap().iter().map(move |o| {
                (
                    o["name"].as_str().unwrap().to_string(),
                    group["reason"].as_str().unwrap().to_string(),
                )
            })
        })
        .collect();
    let reason = |name: &str| {
        listed
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    };
    assert!(reason("substring").contains("\"contains\""), "{listed:?}");
    assert!(reason("host").contains("host-endpoint"), "{listed:?}");
    assert_eq!(
        reason("deny-metadata"),
        "",
        "the canonical policy is evaluated"
    );
    assert_eq!(
        reason("typo"),
        "",
        "a refused policy is a finding, not a gap"
    );
}
