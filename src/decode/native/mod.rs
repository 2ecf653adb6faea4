//! `networking.k8s.io/v1` NetworkPolicy: decoded from YAML with the API server's defaults and
//! validation, keeping the position of every node a finding may point at.

use super::selector::{LabelSelector, decode_selector};
use super::toolkit::{
    Decoder, Problem, check_object, expect_cidr, expect_map, expect_string, optional_seq,
};
use crate::net::{IpSet, PortSet, Protocol};
use crate::source::yaml::{Node, Scalar, Span};
use ipnet::IpNet;

/// One destination of an egress rule.
#[derive(Debug, Clone, PartialEq)]
pub enum PeerKind {
    /// An ipBlock: `cidr` minus every `except`.
    IpBlock { cidr: IpNet, allowed: IpSet },
    /// A podSelector and/or namespaceSelector: pods, never the metadata address.
    Pods {
        /// Which pods, for people: `pods matching app=db in namespaces matching team=a`.
        description: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Peer {
    /// The peer's key (`ipBlock`, `podSelector`, …) in its list item.
    pub span: Span,
    pub kind: PeerKind,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EgressRule {
    pub span: Span,
    /// `None`: `to` missing or empty, every destination.
    pub to: Option<Vec<Peer>>,
    /// Ports and protocols the rule allows (every one when `ports` is missing or empty).
    pub ports: PortSet,
}

impl EgressRule {
    /// The addresses this rule lets traffic go to.
    pub fn destinations(&self) -> IpSet {
        match &self.to {
            None => IpSet::all(),
            Some(peers) => peers.iter().fold(IpSet::empty(), |acc, p| match &p.kind {
                PeerKind::IpBlock { allowed, .. } => acc.union(allowed),
                PeerKind::Pods { .. } => acc,
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolicySpec {
    pub pod_selector: LabelSelector,
    /// Whether the policy's effective `policyTypes` include Egress.
    pub egress_type: bool,
    pub egress: Vec<EgressRule>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecodedPolicy {
    pub spec: PolicySpec,
    pub problems: Vec<Problem>,
    /// The API server would refuse the policy, so it never reaches a cluster.
    pub rejected: bool,
}

/// Decodes a whole NetworkPolicy object. Unknown fields are reported and ignored, as a
/// cluster that accepts them does; anything the API server would refuse marks it rejected.
pub fn decode_network_policy(root: &Node) -> DecodedPolicy {
    let mut d = Decoder::default();
    let mut spec = PolicySpec {
        pod_selector: LabelSelector::default(),
        egress_type: false,
        egress: Vec::new(),
    };
    check_object(root, &["spec", "status"], &mut d);
    if let Some(node) = root.get("spec").filter(|n| !n.is_null()) {
        decode_spec(node, &mut spec, &mut d);
    }
    DecodedPolicy {
        spec,
        rejected: d.is_rejected(),
        problems: d.problems,
    }
}

fn decode_spec(node: &Node, spec: &mut PolicySpec, d: &mut Decoder) {
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
        p.spec.egress.iter().any(|r| {
            r.ports.contains(target.protocol, target.port) && r.destinations().contains(target.addr)
        })
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
        assert!(p.spec.pod_selector.selects_all());
        assert!(p.spec.egress_type && p.spec.egress.is_empty());
        assert!(!p.rejected);
    }

    #[test]
    fn policy_types_default_to_ingress_plus_egress_iff_rules() {
        assert!(!decode("podSelector: {}\n").spec.egress_type);
        assert!(!decode("podSelector: {}\negress: []\n").spec.egress_type);
        assert!(decode("podSelector: {}\negress:\n- {}\n").spec.egress_type);
        assert!(
            !decode("podSelector: {}\npolicyTypes: [Ingress]\negress:\n- {}\n")
                .spec
                .egress_type
        );
        assert!(
            decode("podSelector: {}\npolicyTypes: []\negress:\n- {}\n")
                .spec
                .egress_type
        );
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
        assert!(p.spec.egress.is_empty());
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
