//! Rules that name a Service, through the built binary: Cilium `toServices` and Calico
//! `destination.services` reach the addresses of a selector-less Service's endpoints; without
//! its endpoints in the repository such a Service cannot be known; Cilium endpoint selectors
//! on reserved labels mean the entity.

mod common;

use common::{namespace, run};
use serde_json::Value;

fn report() -> Value {
    let r = run(&["--format", "json", "fixtures/services"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stderr))
}

fn reachable<'a>(report: &'a Value, name: &str) -> (bool, Vec<&'a str>) {
    let ns = namespace(report, name);
    let targets = ns["reachable_targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    (ns["metadata_reachable"].as_bool().unwrap(), targets)
}

/// (line, message) of the IMDS001 findings about namespace `name`.
fn imds001<'a>(report: &'a Value, name: &str) -> Vec<(u64, &'a str)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "IMDS001" && f["namespace"] == name)
        .map(|f| (f["line"].as_u64().unwrap(), f["message"].as_str().unwrap()))
        .collect()
}

const V4: &str = "169.254.169.254:80/TCP";
const V6: &str = "[fd00:ec2::254]:80/TCP";

#[test]
fn cilium_to_services_reaches_a_selectorless_services_endpoints() {
    let r = report();
    // metadata-proxy has no selector; its Endpoints list 169.254.169.254.
    assert_eq!(reachable(&r, "proxied"), (true, vec![V4]));
    assert_eq!(namespace(&r, "proxied")["isolated"], true);
    assert_eq!(
        imds001(&r, "proxied"),
        [(
            33,
            "CiliumNetworkPolicy proxied/to-proxy egress rule 1 lets all pods reach 169.254.169.254:80/TCP"
        )]
    );
    // A Service with a selector sends to pods.
    assert_eq!(reachable(&r, "selected"), (false, vec![]));
    assert_eq!(imds001(&r, "selected"), []);
}

#[test]
fn a_deny_through_a_services_endpoint_slice_closes_its_address() {
    let r = report();
    // toEntities world opens both targets; the egressDeny to the Service whose EndpointSlice
    // lists 169.254.169.254 closes that one.
    assert_eq!(reachable(&r, "denied"), (true, vec![V6]));
}

#[test]
fn calico_services_without_known_endpoints_count_for_an_allow() {
    let r = report();
    assert_eq!(reachable(&r, "unknown"), (true, vec![V4, V6]));
    assert_eq!(
        imds001(&r, "unknown"),
        [(
            25,
            "Calico NetworkPolicy unknown/to-external-db egress rule 1 (Allow) lets all pods reach 169.254.169.254:80/TCP, [fd00:ec2::254]:80/TCP"
        )]
    );
    // With the EndpointSlice in the repository, the address is known and is not metadata.
    assert_eq!(reachable(&r, "known"), (false, vec![]));
    assert_eq!(namespace(&r, "known")["isolated"], true);
}

#[test]
fn a_cilium_endpoint_selector_on_reserved_world_is_the_world() {
    let r = report();
    assert_eq!(reachable(&r, "world"), (true, vec![V4, V6]));
    assert_eq!(
        imds001(&r, "world"),
        [(
            77,
            "CiliumNetworkPolicy world/to-world egress rule 1 lets all pods reach 169.254.169.254:80/TCP, [fd00:ec2::254]:80/TCP"
        )]
    );
}

#[test]
fn a_service_the_repository_does_not_declare_counts_for_an_allow() {
    let r = report();
    assert_eq!(reachable(&r, "undeclared"), (true, vec![V4, V6]));
    let lines: Vec<u64> = imds001(&r, "undeclared").iter().map(|(l, _)| *l).collect();
    // The rule naming payments-gateway, not the one naming the cluster DNS.
    let rule_line = std::fs::read_to_string("fixtures/services/cilium.yaml")
        .unwrap()
        .lines()
        .position(|l| l.contains("serviceName: payments-gateway"))
        .unwrap() as u64;
    assert!(
        lines.iter().all(|&l| l + 2 >= rule_line && l <= rule_line),
        "{lines:?} vs {rule_line}"
    );
    assert!(!lines.is_empty());
    // The cluster DNS and the API server every cluster has send to no metadata address.
    assert_eq!(reachable(&r, "dns-only"), (false, vec![]));
    assert_eq!(namespace(&r, "dns-only")["isolated"], true);
}
