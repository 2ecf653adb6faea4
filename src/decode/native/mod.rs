//! `networking.k8s.io/v1` NetworkPolicy: decoded from YAML with the API server's defaults and
//! validation, keeping the position of every node a finding may point at, into the spec every
//! engine's policies share: at order 1000 of the default tier, deny-wins (though it only
//! allows), isolating the pods it selects, with one Allow rule per peer.

use super::selector::{LabelSelector, decode_selector};
use super::spec::{
    Action, DecodedPolicy, Engine, Placement, PolicyRule, PolicySpec, RuleDestinations, RuleName,
    SelectorPair, Selects, Via,
};
use super::toolkit::{Decoder, check_object, expect_cidr, expect_map, expect_string, optional_seq};
use crate::net::{IpSet, PortSet, Protocol};
use crate::source::yaml::{Node, Scalar, Span};
use ipnet::IpNet;
use std::sync::Arc;

/// One destination of an egress rule.
#[derive(Debug, Clone, PartialEq)]
enum PeerKind {
    /// An ipBlock: `cidr` minus every `except`.
    IpBlock { cidr: IpNet, allowed: IpSet },
    /// A podSelector and/or namespaceSelector: pods, never the metadata address.
    Pods {
        /// Which pods, for people: `pods matching app=db in namespaces matching team=a`.
        description: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct Peer {
    /// The peer's key (`ipBlock`, `podSelector`, …) in its list item.
    span: Span,
    kind: PeerKind,
}

#[derive(Debug, Clone, PartialEq)]
struct EgressRule {
    span: Span,
    /// `None`: `to` missing or empty, every destination.
    to: Option<Vec<Peer>>,
    /// Ports and protocols the rule allows (every one when `ports` is missing or empty).
    ports: PortSet,
}

/// The spec as written, before it becomes a [`PolicySpec`].
#[derive(Debug, Clone, PartialEq, Default)]
struct NativeSpec {
    pod_selector: LabelSelector,
    /// Whether the policy's effective `policyTypes` include Egress.
    egress_type: bool,
    egress: Vec<EgressRule>,
}

/// Decodes a whole NetworkPolicy object. Unknown fields are reported and ignored, as a
/// cluster that accepts them does; anything the API server would refuse marks it rejected.
pub fn decode_network_policy(root: &Node) -> DecodedPolicy {
    let mut d = Decoder::default();
    let mut spec = NativeSpec::default();
    check_object(root, &["spec", "status"], &mut d);
    if let Some(node) = root.get("spec").filter(|n| !n.is_null()) {
        decode_spec(node, &mut spec, &mut d);
    }
    DecodedPolicy {
        specs: Arc::from([shared_spec(spec)]),
        rejected: d.is_rejected(),
        problems: d.problems,
        not_evaluated: None,
    }
}

/// The policy in the shape every engine shares. Each peer (or a rule with no `to`) is an Allow
/// rule of its own, so that a finding points at the peer that opens a target.
fn shared_spec(spec: NativeSpec) -> PolicySpec {
    let mut rules = Vec::new();
    for (index, egress) in spec.egress.into_iter().enumerate() {
        let rule = |span: Span, addresses: IpSet, via: Via| PolicyRule {
            action: Action::Allow,
            name: RuleName::new("egress", index + 1),
            number: Some(index + 1),
            span,
            destinations: RuleDestinations {
                addresses,
                hostnames: Vec::new(),
                labelled: Vec::new(),
                labelled_in_own_namespace: false,
                labelled_within: None,
                cidr_groups: Vec::new(),
                services: Vec::new(),
            },
            ports: egress.ports.clone(),
            senders: None,
            unknowable: None,
            via,
        };
        match egress.to {
            None => rules.push(rule(egress.span, IpSet::all(), Via::AnyDestination)),
            Some(peers) => rules.extend(peers.into_iter().map(|peer| match peer.kind {
                PeerKind::IpBlock { cidr, allowed } => rule(peer.span, allowed, Via::IpBlock(cidr)),
                PeerKind::Pods { description } => {
                    rule(peer.span, IpSet::empty(), Via::Pods(description))
                }
            })),
        }
    }
    PolicySpec {
        engine: Engine::NetworkPolicy,
        placement: Placement::native(),
        ordered: false,
        selects: Selects {
            own_namespace_only: true,
            any_of: vec![SelectorPair {
                namespaces: LabelSelector::default(),
                pods: spec.pod_selector,
            }],
        },
        governs_egress: spec.egress_type,
        isolates: true,
        rules,
    }
}

fn decode_spec(node: &Node, spec: &mut NativeSpec, d: &mut Decoder) {
    let Some(entries) = expect_map(node, d) else {
        return;
    };
    let mut types: Option<Vec<String>> = None;
    for (key, value) in entries {
        match key.key_text().unwrap_or_default() {
            "podSelector" => spec.pod_selector = decode_selector(Some(value), d),
            "policyTypes" => {
                let items = optional_seq(Some(value), d).unwrap_or_default();
                let names: Vec<String> = items.iter().filter_map(|i| expect_string(i, d)).collect();
                for (item, name) in items.iter().zip(&names) {
                    if name != "Ingress" && name != "Egress" {
                        d.invalid(
                            item,
                            format!("policy type {name:?} is not Ingress or Egress"),
                        );
                    }
                }
                if names.len() > 2 {
                    d.invalid(value, "may not specify more than two policyTypes".into());
                }
                types = Some(names);
            }
            "egress" => {
                for rule in optional_seq(Some(value), d).unwrap_or_default() {
                    if let Some(r) = decode_rule(rule, "to", d) {
                        spec.egress.push(r);
                    }
                }
            }
            "ingress" => {
                for rule in optional_seq(Some(value), d).unwrap_or_default() {
                    decode_rule(rule, "from", d);
                }
            }
            _ => d.unknown_field(key),
        }
    }
    // The API server defaults empty policyTypes to Ingress, plus Egress iff there are egress rules.
    spec.egress_type = match types.filter(|t| !t.is_empty()) {
        Some(t) => t.iter().any(|name| name == "Egress"),
        None => !spec.egress.is_empty(),
    };
}

/// Decodes an egress (`to`) or ingress (`from`) rule; ingress rules are only validated.
fn decode_rule(node: &Node, peers_key: &str, d: &mut Decoder) -> Option<EgressRule> {
    let entries = if node.is_null() {
        &[][..]
    } else {
        expect_map(node, d)?
    };
    let mut rule = EgressRule {
        span: node.span,
        to: None,
        ports: PortSet::all(),
    };
    for (key, value) in entries {
        let name = key.key_text().unwrap_or_default();
        if name == peers_key {
            let peers: Vec<Peer> = optional_seq(Some(value), d)
                .unwrap_or_default()
                .iter()
                .filter_map(|p| decode_peer(p, d))
                .collect();
            rule.to = (!peers.is_empty()).then_some(peers);
        } else if name == "ports" {
            let entries = optional_seq(Some(value), d).unwrap_or_default();
            if !entries.is_empty() {
                rule.ports = entries
                    .iter()
                    .fold(PortSet::empty(), |acc, p| acc.union(&decode_port(p, d)));
            }
        } else {
            d.unknown_field(key);
        }
    }
    Some(rule)
}

/// A pod peer for people. Without a namespaceSelector the peer is in the policy's namespace.
fn describe_pod_peer(pods: Option<&LabelSelector>, namespaces: Option<&LabelSelector>) -> String {
    let pods = pods.map_or_else(|| "all pods".to_string(), LabelSelector::describe);
    match namespaces {
        None => format!("{pods} in the policy's namespace"),
        Some(ns) if ns.selects_all() => format!("{pods} in every namespace"),
        Some(ns) => format!(
            "{pods} in namespaces {}",
            ns.describe().trim_start_matches("pods ")
        ),
    }
}

fn decode_peer(node: &Node, d: &mut Decoder) -> Option<Peer> {
    let entries = expect_map(node, d)?;
    let (mut block, mut selectors) = (None, Vec::new());
    let (mut pods, mut namespaces) = (None, None);
    for (key, value) in entries {
        match key.key_text().unwrap_or_default() {
            "ipBlock" if !value.is_null() => block = Some((key, value)),
            "podSelector" if !value.is_null() => {
                pods = Some(decode_selector(Some(value), d));
                selectors.push(key);
            }
            "namespaceSelector" if !value.is_null() => {
                namespaces = Some(decode_selector(Some(value), d));
                selectors.push(key);
            }
            "ipBlock" | "podSelector" | "namespaceSelector" => {}
            _ => d.unknown_field(key),
        }
    }
    match (block, selectors.first()) {
        (Some((key, _)), Some(_)) => {
            d.invalid(
                key,
                "ipBlock may not be combined with podSelector or namespaceSelector".into(),
            );
            None
        }
        (Some((key, value)), None) => {
            let kind = decode_ip_block(value, d)?;
            Some(Peer {
                span: key.span,
                kind,
            })
        }
        (None, Some(key)) => Some(Peer {
            span: key.span,
            kind: PeerKind::Pods {
                description: describe_pod_peer(pods.as_ref(), namespaces.as_ref()),
            },
        }),
        (None, None) => {
            d.invalid(
                node,
                "a peer must specify an ipBlock, podSelector or namespaceSelector".into(),
            );
            None
        }
    }
}

fn decode_ip_block(node: &Node, d: &mut Decoder) -> Option<PeerKind> {
    let entries = expect_map(node, d)?;
    let mut cidr_node = None;
    let mut excepts: Vec<&Node> = Vec::new();
    for (key, value) in entries {
        match key.key_text().unwrap_or_default() {
            "cidr" => cidr_node = Some(value),
            "except" => excepts.extend(optional_seq(Some(value), d).unwrap_or_default()),
            _ => d.unknown_field(key),
        }
    }
    let Some(cidr_node) = cidr_node else {
        d.invalid(node, "ipBlock needs a cidr".into());
        return None;
    };
    let cidr = expect_cidr(cidr_node, d)?;
    let mut except = Vec::new();
    for e in excepts {
        let Some(net) = expect_cidr(e, d) else {
            continue;
        };
        // The API server demands a strict subset: inside cidr and with a longer prefix.
        if !cidr.contains(&net.network()) || net.prefix_len() <= cidr.prefix_len() {
            d.invalid(
                e,
                format!("except {net} is not a strict subset of cidr {cidr}"),
            );
            continue;
        }
        except.push(net);
    }
    Some(PeerKind::IpBlock {
        cidr,
        allowed: IpSet::from_block(&cidr, &except),
    })
}

/// An IANA service name, which a named port must be.
fn is_service_name(s: &str) -> bool {
    (1..=15).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// The ports one entry of `ports` allows.
fn decode_port(node: &Node, d: &mut Decoder) -> PortSet {
    let Some(entries) = expect_map(node, d) else {
        return PortSet::empty();
    };
    let mut protocol = Protocol::Tcp;
    let (mut port, mut end_port) = (None, None);
    for (key, value) in entries {
        match key.key_text().unwrap_or_default() {
            "protocol" if !value.is_null() => {
                if let Some(p) = decode_protocol(value, d) {
                    protocol = p;
                }
            }
            "port" if !value.is_null() => port = Some(value),
            "endPort" if !value.is_null() => end_port = Some(value),
            "protocol" | "port" | "endPort" => {}
            _ => d.unknown_field(key),
        }
    }
    let Some(port) = port else {
        if let Some(e) = end_port {
            d.invalid(e, "endPort may not be set without port".into());
        }
        return PortSet::range(protocol, 0, u16::MAX);
    };
    match port.scalar() {
        Some(Scalar::Int(_)) => port_range(protocol, port, end_port, d),
        Some(Scalar::Str(name)) => {
            if !is_service_name(name) {
                d.invalid(
                    port,
                    format!("{name:?} is neither a port number nor a valid port name"),
                );
            }
            if let Some(e) = end_port {
                d.invalid(e, "endPort may not be used with a named port".into());
            }
            // A named port names a container port of the destination pod; the metadata
            // endpoint is not a pod, so it never matches.
            PortSet::empty()
        }
        _ => {
            d.invalid(
                port,
                format!(
                    "port: expected an integer or a name, found {}",
                    port.type_name()
                ),
            );
            PortSet::empty()
        }
    }
}

fn decode_protocol(value: &Node, d: &mut Decoder) -> Option<Protocol> {
    let text = expect_string(value, d)?;
    let protocol = Protocol::parse(&text);
    if protocol.is_none() {
        d.invalid(value, format!("protocol {text:?} is not TCP, UDP or SCTP"));
    }
    protocol
}

/// A port number, 1-65535; `None` (with a problem if it is an integer out of range)
/// otherwise.
fn port_number(n: &Node, d: &mut Decoder) -> Option<u16> {
    match n.scalar() {
        Some(Scalar::Int(v)) if (1..=65535).contains(&v) => Some(v as u16),
        Some(Scalar::Int(v)) => {
            d.invalid(n, format!("port {v} is outside 1-65535"));
            None
        }
        _ => None,
    }
}

/// A numeric `port` up to `endPort` (or alone); empty when either is refused.
fn port_range(
    protocol: Protocol,
    port: &Node,
    end_port: Option<&Node>,
    d: &mut Decoder,
) -> PortSet {
    let Some(lo) = port_number(port, d) else {
        return PortSet::empty();
    };
    let hi = match end_port {
        None => lo,
        Some(e) => match e.scalar() {
            Some(Scalar::Int(_)) => match port_number(e, d) {
                Some(hi) if hi >= lo => hi,
                Some(hi) => {
                    d.invalid(e, format!("endPort {hi} is less than port {lo}"));
                    return PortSet::empty();
                }
                None => return PortSet::empty(),
            },
            _ => {
                d.invalid(
                    e,
                    format!("endPort: expected an integer, found {}", e.type_name()),
                );
                return PortSet::empty();
            }
        },
    };
    PortSet::range(protocol, lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::spec::NATIVE_ORDER;
    use crate::decode::toolkit::ProblemKind;
    use crate::net::Target;
    use crate::source::yaml::parse_documents;

    fn decode(spec: &str) -> DecodedPolicy {
        let text = format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\nspec:\n{}",
            spec.lines().map(|l| format!("  {l}\n")).collect::<String>()
        );
        decode_network_policy(&parse_documents(&text, 0).unwrap().remove(0))
    }

    fn messages(p: &DecodedPolicy) -> Vec<&str> {
        p.problems.iter().map(|p| p.message.as_str()).collect()
    }

    fn opens(p: &DecodedPolicy, target: &Target) -> bool {
        p.specs[0].rules.iter().any(|r| {
            r.ports.contains(target.protocol, target.port)
                && r.destinations.addresses.contains(target.addr)
        })
    }

    fn egress_type(p: &DecodedPolicy) -> bool {
        p.specs[0].governs_egress
    }

    fn imds() -> Target {
        Target::defaults()[0]
    }

    fn imds6() -> Target {
        Target::defaults()[1]
    }

    #[test]
    fn missing_pod_selector_selects_all() {
        let p = decode("policyTypes: [Egress]\n");
        assert!(p.specs[0].selects.any_of[0].pods.selects_all());
        assert!(egress_type(&p) && p.specs[0].rules.is_empty());
        assert!(!p.rejected);
    }

    #[test]
    fn policy_types_default_to_ingress_plus_egress_iff_rules() {
        assert!(!egress_type(&decode("podSelector: {}\n")));
        assert!(!egress_type(&decode("podSelector: {}\negress: []\n")));
        assert!(egress_type(&decode("podSelector: {}\negress:\n- {}\n")));
        assert!(!egress_type(&decode(
            "podSelector: {}\npolicyTypes: [Ingress]\negress:\n- {}\n"
        )));
        assert!(egress_type(&decode(
            "podSelector: {}\npolicyTypes: []\negress:\n- {}\n"
        )));
    }

    #[test]
    fn empty_rule_allows_everything() {
        let p = decode("policyTypes: [Egress]\negress:\n- {}\n");
        assert!(opens(&p, &imds()) && opens(&p, &imds6()));
        let p = decode("policyTypes: [Egress]\negress:\n- to: []\n  ports: []\n");
        assert!(opens(&p, &imds()));
    }

    #[test]
    fn canonical_allow_except_metadata_closes_ipv4_only() {
        let p = decode(
            "policyTypes: [Egress]\negress:\n- to:\n  - ipBlock:\n      cidr: 0.0.0.0/0\n      except: [169.254.169.254/32]\n",
        );
        assert!(!opens(&p, &imds()));
        assert!(
            !opens(&p, &imds6()),
            "an IPv4 block never matches an IPv6 address"
        );
    }

    #[test]
    fn ipv6_block_opens_ipv6_target() {
        let p = decode("policyTypes: [Egress]\negress:\n- to:\n  - ipBlock: {cidr: '::/0'}\n");
        assert!(opens(&p, &imds6()) && !opens(&p, &imds()));
    }

    #[test]
    fn protocol_defaults_to_tcp_and_ports_matter() {
        assert!(opens(
            &decode("policyTypes: [Egress]\negress:\n- ports:\n  - port: 80\n"),
            &imds()
        ));
        assert!(!opens(
            &decode("policyTypes: [Egress]\negress:\n- ports:\n  - port: 80\n    protocol: UDP\n"),
            &imds()
        ));
        assert!(!opens(
            &decode(
                "policyTypes: [Egress]\negress:\n- ports:\n  - port: 53\n    protocol: UDP\n  - port: 53\n"
            ),
            &imds()
        ));
        assert!(
            opens(
                &decode("policyTypes: [Egress]\negress:\n- ports:\n  - protocol: TCP\n"),
                &imds()
            ),
            "no port: every port"
        );
        assert!(!opens(
            &decode("policyTypes: [Egress]\negress:\n- ports:\n  - protocol: SCTP\n"),
            &imds()
        ));
    }

    #[test]
    fn end_port_makes_a_range() {
        assert!(opens(
            &decode("policyTypes: [Egress]\negress:\n- ports:\n  - {port: 1, endPort: 1024}\n"),
            &imds()
        ));
        assert!(opens(
            &decode("policyTypes: [Egress]\negress:\n- ports:\n  - {port: 80, endPort: 80}\n"),
            &imds()
        ));
        assert!(!opens(
            &decode("policyTypes: [Egress]\negress:\n- ports:\n  - {port: 81, endPort: 90}\n"),
            &imds()
        ));
    }

    #[test]
    fn named_port_never_matches_metadata() {
        let p = decode("policyTypes: [Egress]\negress:\n- ports:\n  - port: http\n");
        assert!(!p.rejected);
        assert!(!opens(&p, &imds()));
    }

    #[test]
    fn selectors_never_reach_metadata() {
        let p = decode(
            "policyTypes: [Egress]\negress:\n- to:\n  - namespaceSelector: {}\n  - podSelector: {}\n",
        );
        assert!(!opens(&p, &imds()));
    }

    #[test]
    fn except_carves_out_and_wider_except_too() {
        let wide = decode(
            "policyTypes: [Egress]\negress:\n- to:\n  - ipBlock: {cidr: 0.0.0.0/0, except: [169.254.0.0/16]}\n",
        );
        assert!(!opens(&wide, &imds()));
        let typo = decode(
            "policyTypes: [Egress]\negress:\n- to:\n  - ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.253/32]}\n",
        );
        assert!(opens(&typo, &imds()));
    }

    #[test]
    fn api_server_rejections() {
        let cases = [
            (
                "egress:\n- to:\n  - ipBlock: {cidr: 10.0.0.0/33}\n",
                "not a valid CIDR",
            ),
            (
                "egress:\n- to:\n  - ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}\n",
                "strict subset",
            ),
            (
                "egress:\n- to:\n  - ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}\n",
                "strict subset",
            ),
            (
                "egress:\n- to:\n  - ipBlock: {cidr: 10.0.0.0/8, except: ['fd00::/8']}\n",
                "strict subset",
            ),
            (
                "egress:\n- ports:\n  - {port: 90, endPort: 80}\n",
                "less than port",
            ),
            (
                "egress:\n- ports:\n  - {port: http, endPort: 80}\n",
                "named port",
            ),
            ("egress:\n- ports:\n  - {endPort: 80}\n", "without port"),
            ("egress:\n- ports:\n  - port: 0\n", "outside 1-65535"),
            ("egress:\n- ports:\n  - port: 65536\n", "outside 1-65535"),
            ("egress:\n- ports:\n  - port: \"80\"\n", "valid port name"),
            (
                "egress:\n- ports:\n  - {port: 80, protocol: tcp}\n",
                "not TCP, UDP or SCTP",
            ),
            (
                "egress:\n- to:\n  - ipBlock: {cidr: 10.0.0.0/8}\n    podSelector: {}\n",
                "may not be combined",
            ),
            ("egress:\n- to:\n  - {}\n", "must specify"),
            ("policyTypes: [Egres]\n", "not Ingress or Egress"),
            ("egress: {}\n", "expected a list"),
            (
                "ingress:\n- from:\n  - ipBlock: {cidr: nonsense}\n",
                "not a valid CIDR",
            ),
        ];
        for (spec, want) in cases {
            let p = decode(spec);
            assert!(p.rejected, "{spec}");
            assert!(
                messages(&p).iter().any(|m| m.contains(want)),
                "{spec}: {:?}",
                messages(&p)
            );
        }
    }

    #[test]
    fn unknown_fields_are_reported_and_ignored() {
        let p = decode(
            "policyTypes: [Egress]\negress:\n- to:\n  - ipBlock:\n      cidr: 0.0.0.0/0\n      excepts: [169.254.169.254/32]\n",
        );
        assert!(
            !p.rejected,
            "unknown fields are dropped, not refused, by a lax client"
        );
        assert_eq!(p.problems.len(), 1);
        assert_eq!(p.problems[0].kind, ProblemKind::UnknownField);
        assert!(p.problems[0].message.contains("excepts"));
        assert_eq!(p.problems[0].span.start.line, 11);
        assert!(opens(&p, &imds()), "verdict as if the field were absent");
        let p = decode("policyTypes: [Egress]\negres:\n- {}\n");
        assert!(p.problems[0].message.contains("egres"));
        assert!(p.specs[0].rules.is_empty());
    }

    #[test]
    fn each_peer_is_an_allow_rule_of_its_own() {
        let p = decode(
            "policyTypes: [Egress]\negress:\n- to:\n  - ipBlock: {cidr: 10.0.0.0/8}\n  - podSelector: {}\n- ports: [{port: 80}]\n",
        );
        let spec = &p.specs[0];
        assert_eq!(
            (
                spec.engine,
                spec.placement.order,
                spec.ordered,
                spec.isolates
            ),
            (Engine::NetworkPolicy, Some(NATIVE_ORDER), false, true)
        );
        let rules: Vec<(Action, String, Option<usize>, u32, &Via)> = spec
            .rules
            .iter()
            .map(|r| {
                (
                    r.action,
                    r.name.to_string(),
                    r.number,
                    r.span.start.line,
                    &r.via,
                )
            })
            .collect();
        assert_eq!(
            rules,
            [
                (
                    Action::Allow,
                    "egress rule 1".to_string(),
                    Some(1),
                    9,
                    &Via::IpBlock("10.0.0.0/8".parse().unwrap())
                ),
                (
                    Action::Allow,
                    "egress rule 1".to_string(),
                    Some(1),
                    10,
                    &Via::Pods("all pods in the policy's namespace".into())
                ),
                (
                    Action::Allow,
                    "egress rule 2".to_string(),
                    Some(2),
                    11,
                    &Via::AnyDestination
                ),
            ]
        );
        assert!(spec.rules[1].destinations.addresses.is_empty(), "pods only");
    }

    #[test]
    fn missing_name_is_rejected() {
        let doc = parse_documents(
            "kind: NetworkPolicy\nmetadata: {namespace: x}\nspec: {}\n",
            0,
        )
        .unwrap()
        .remove(0);
        assert!(decode_network_policy(&doc).rejected);
    }
}
