//! `policy.networking.k8s.io/v1alpha1` AdminNetworkPolicy and BaselineAdminNetworkPolicy.
//!
//! Semantics follow the network-policy-api types (`apis/v1alpha1`) and CRDs:
//! * AdminNetworkPolicies run before every NetworkPolicy, by ascending `priority` (0-1000);
//!   within one, rules run in order and the first match decides: Allow and Deny are final,
//!   Pass skips the remaining AdminNetworkPolicies. A BaselineAdminNetworkPolicy (one per
//!   cluster, named `default`) runs after the NetworkPolicies, Allow or Deny.
//! * Neither isolates: traffic no rule matches goes on down the chain ("ANPs with no egress
//!   rules do not affect egress traffic").
//! * `networks` peers are CIDRs and match any destination address, in or out of the cluster;
//!   `namespaces`, `pods` and `nodes` peers are pods and node IPs, never a metadata address;
//!   `domainNames` (Allow rules only) are hostnames.
//! * `ports` absent: every port; `portNumber`/`portRange` default to TCP; a `namedPort` names a
//!   pod's container port, which a metadata endpoint is not.

use super::selector::{LabelSelector, decode_selector};
use super::spec::{
    Action, DEFAULT_TIER, DecodedPolicy, Engine, HostnameMatch, Layer, Placement, PolicyRule,
    PolicySpec, RuleDestinations, RuleName, SelectorPair, Selects, Via,
};
use super::toolkit::{Decoder, check_object, expect_cidr, expect_map, expect_string, optional_seq};
use crate::net::{IpSet, PortSet, Protocol};
use crate::source::yaml::{Node, Scalar};

/// The API's limit on rules per policy, on peers per rule and on ports per rule.
const MAX_ITEMS: usize = 100;
/// The API's limit on `networks` and `domainNames` entries in one peer.
const MAX_PEER_VALUES: usize = 25;

/// Decodes an AdminNetworkPolicy (`baseline`: a BaselineAdminNetworkPolicy).
pub fn decode(root: &Node, baseline: bool) -> DecodedPolicy {
    let mut d = Decoder::default();
    let name = check_object(root, &["spec", "status"], &mut d);
    if baseline && name.as_deref().is_some_and(|n| n != "default") {
        // The CRD's validation rule: `self.metadata.name == 'default'`.
        if let Some(at) = root.get("metadata").and_then(|m| m.get("name")) {
            d.invalid(
                at,
                "a BaselineAdminNetworkPolicy must be named \"default\" (only one per cluster)"
                    .into(),
            );
        }
    }
    let spec = match root.get("spec").filter(|n| !n.is_null()) {
        Some(node) => decode_spec(node, baseline, &mut d),
        None => {
            d.invalid(root, "spec is required".into());
            None
        }
    };
    DecodedPolicy {
        specs: spec.into_iter().collect(),
        rejected: d.is_rejected(),
        problems: d.problems,
        not_evaluated: None,
    }
}

fn decode_spec(node: &Node, baseline: bool, d: &mut Decoder) -> Option<PolicySpec> {
    let entries = expect_map(node, d)?;
    let (mut priority, mut subject, mut rules, mut has_egress) = (None, None, Vec::new(), false);
    for (key, value) in entries {
        match key.key_text().unwrap_or_default() {
            "priority" if !baseline => priority = decode_priority(value, d),
            "subject" => subject = decode_subject(value, d),
            "egress" => {
                let items = optional_seq(Some(value), d).unwrap_or_default();
                if items.len() > MAX_ITEMS {
                    d.invalid(
                        value,
                        format!("at most {MAX_ITEMS} egress rules are allowed"),
                    );
                }
                has_egress = !items.is_empty();
                for (i, item) in items.iter().enumerate() {
                    rules.extend(decode_egress_rule(item, i + 1, baseline, d));
                }
            }
            "ingress" => {
                let items = optional_seq(Some(value), d).unwrap_or_default();
                if items.len() > MAX_ITEMS {
                    d.invalid(
                        value,
                        format!("at most {MAX_ITEMS} ingress rules are allowed"),
                    );
                }
            }
            _ => d.unknown_field(key),
        }
    }
    if !baseline && node.get("priority").is_none() {
        d.invalid(node, "spec.priority is required".into());
    }
    let Some(subject) = subject else {
        if node.get("subject").is_none() {
            d.invalid(node, "spec.subject is required".into());
        }
        return None;
    };
    let placement = if baseline {
        Placement {
            layer: Layer::Baseline,
            tier: DEFAULT_TIER.into(),
            order: None,
        }
    } else {
        Placement {
            layer: Layer::Admin,
            tier: DEFAULT_TIER.into(),
            order: priority,
        }
    };
    Some(PolicySpec {
        engine: if baseline {
            Engine::BaselineAdminNetworkPolicy
        } else {
            Engine::AdminNetworkPolicy
        },
        placement,
        ordered: true,
        selects: Selects {
            own_namespace_only: false,
            any_of: vec![subject],
        },
        governs_egress: has_egress,
        isolates: false,
        rules,
    })
}

fn decode_priority(node: &Node, d: &mut Decoder) -> Option<f64> {
    match node.scalar() {
        Some(Scalar::Int(v)) if (0..=1000).contains(&v) => Some(v as f64),
        _ => {
            d.invalid(node, "priority must be an integer from 0 to 1000".into());
            None
        }
    }
}

/// `namespaces` or `pods`: exactly one, as a (namespaces, pods) pair.
fn decode_subject(node: &Node, d: &mut Decoder) -> Option<SelectorPair> {
    let entries = expect_map(node, d)?;
    let mut found = Vec::new();
    for (key, value) in entries {
        match key.key_text().unwrap_or_default() {
            "namespaces" => found.push(SelectorPair {
                namespaces: decode_selector(Some(value), d),
                pods: LabelSelector::default(),
            }),
            "pods" => found.extend(decode_namespaced_pod(value, d)),
            _ => d.unknown_field(key),
        }
    }
    if count_known(entries, &["namespaces", "pods"]) != 1 {
        d.invalid(
            node,
            "subject needs exactly one of namespaces and pods".into(),
        );
    }
    found.into_iter().next()
}

/// `{namespaceSelector, podSelector}`, both required.
fn decode_namespaced_pod(node: &Node, d: &mut Decoder) -> Option<SelectorPair> {
    let entries = expect_map(node, d)?;
    let mut pair = SelectorPair::default();
    for (key, value) in entries {
        match key.key_text().unwrap_or_default() {
            "namespaceSelector" => pair.namespaces = decode_selector(Some(value), d),
            "podSelector" => pair.pods = decode_selector(Some(value), d),
            _ => d.unknown_field(key),
        }
    }
    for field in ["namespaceSelector", "podSelector"] {
        if node.get(field).is_none() {
            d.invalid(node, format!("pods.{field} is required"));
        }
    }
    Some(pair)
}

fn decode_egress_rule(
    node: &Node,
    number: usize,
    baseline: bool,
    d: &mut Decoder,
) -> Option<PolicyRule> {
    let entries = expect_map(node, d)?;
    let (mut name, mut action, mut to, mut ports) = (None, None, None, None);
    for (key, value) in entries {
        match key.key_text().unwrap_or_default() {
            "name" => {
                name = expect_string(value, d);
                if name.as_ref().is_some_and(|n| n.chars().count() > 100) {
                    d.invalid(value, "a rule name may be at most 100 characters".into());
                }
            }
            "action" => action = Some(decode_action(value, baseline, d)?),
            "to" => to = Some(value),
            "ports" => ports = Some(value),
            _ => d.unknown_field(key),
        }
    }
    let Some(action) = action else {
        d.invalid(node, "an egress rule needs an action".into());
        return None;
    };
    let rule_name = RuleName {
        name: name.filter(|n| !n.is_empty()),
        action: Some(action),
        ..RuleName::new("egress", number)
    };
    let peer_nodes = to
        .filter(|t| !t.is_null())
        .and_then(|t| expect_seq_len(t, "to", d))
        .unwrap_or_default();
    if peer_nodes.is_empty() {
        d.invalid(node, "an egress rule needs at least one `to` peer".into());
    }
    let mut peers = Peers {
        destinations: RuleDestinations {
            addresses: IpSet::empty(),
            hostnames: Vec::new(),
            labelled: Vec::new(),
            labelled_in_own_namespace: false,
            labelled_within: None,
            cidr_groups: Vec::new(),
            services: Vec::new(),
        },
        via: Vec::new(),
        unknowable: None,
        outside_pods: false,
    };
    for peer in peer_nodes {
        decode_peer(peer, action, baseline, &mut peers, d);
    }
    let ports = ports.filter(|p| !p.is_null());
    let port_set = ports.map_or_else(PortSet::all, |list| rule_ports(list, &mut peers, d));
    Some(PolicyRule {
        action,
        name: rule_name,
        number: None,
        span: node.span,
        destinations: peers.destinations,
        ports: port_set,
        senders: None,
        unknowable: peers.unknowable,
        via: Via::Described(peers.via.join(", ")),
    })
}

/// A rule's `action`; `None` (with a problem if it is not a string naming one) otherwise.
fn decode_action(value: &Node, baseline: bool, d: &mut Decoder) -> Option<Action> {
    let text = expect_string(value, d)?;
    match text.as_str() {
        "Allow" => Some(Action::Allow),
        "Deny" => Some(Action::Deny),
        "Pass" if !baseline => Some(Action::Pass),
        _ => {
            let allowed = if baseline {
                "Allow or Deny"
            } else {
                "Allow, Deny or Pass"
            };
            d.invalid(value, format!("action {text:?} is not {allowed}"));
            None
        }
    }
}

/// Where a rule's `to` peers lead, gathered peer by peer.
struct Peers {
    destinations: RuleDestinations,
    via: Vec<String>,
    unknowable: Option<String>,
    /// Some peer is not pods (nodes, networks, domain names): named ports cannot apply.
    outside_pods: bool,
}

/// The ports a rule's `ports` list matches.
fn rule_ports(list: &Node, peers: &mut Peers, d: &mut Decoder) -> PortSet {
    let items = expect_seq_len(list, "ports", d).unwrap_or_default();
    if items.is_empty() {
        d.invalid(list, "ports, when given, needs at least one entry".into());
    }
    let mut port_set = PortSet::empty();
    for item in items {
        let (set, named) = decode_port(item, &mut peers.unknowable, d);
        if named && peers.outside_pods {
            // The CRD's rule: "networks/nodes/domainNames peer cannot be set with
            // namedPorts since there are no namedPorts for networks/nodes/domainNames".
            d.invalid(
                item,
                "namedPort cannot be used with networks, nodes or domainNames peers".into(),
            );
        }
        port_set = port_set.union(&set);
    }
    port_set
}

/// How many of `known` a mapping sets. The CRDs want exactly one (`minProperties` and
/// `maxProperties` 1), counted after the API server drops unknown fields and nulls.
fn count_known(entries: &[(Node, Node)], known: &[&str]) -> usize {
    entries
        .iter()
        .filter(|(k, v)| known.contains(&k.key_text().unwrap_or_default()) && !v.is_null())
        .count()
}

/// A list with between one and [`MAX_ITEMS`] entries.
fn expect_seq_len<'a>(node: &'a Node, field: &str, d: &mut Decoder) -> Option<&'a [Node]> {
    let items = super::toolkit::expect_seq(node, d)?;
    if items.len() > MAX_ITEMS {
        d.invalid(
            node,
            format!("{field} may have at most {MAX_ITEMS} entries"),
        );
    }
    Some(items)
}

/// One `to` peer: exactly one of namespaces, pods, nodes, networks, domainNames (not in a
/// BaselineAdminNetworkPolicy).
fn decode_peer(node: &Node, action: Action, baseline: bool, peers: &mut Peers, d: &mut Decoder) {
    let Some(entries) = expect_map(node, d) else {
        return;
    };
    let kinds: &[&str] = if baseline {
        &["namespaces", "pods", "nodes", "networks"]
    } else {
        &["namespaces", "pods", "nodes", "networks", "domainNames"]
    };
    if count_known(entries, kinds) != 1 {
        d.invalid(
            node,
            format!("a peer needs exactly one of {}", kinds.join(", ")),
        );
    }
    for (key, value) in entries {
        match key.key_text().unwrap_or_default() {
            "namespaces" => {
                decode_selector(Some(value), d);
                peers
                    .via
                    .push("namespaces (pods, no metadata address)".into());
            }
            "pods" => {
                decode_namespaced_pod(value, d);
                peers.via.push("pods (no metadata address)".into());
            }
            "nodes" => {
                decode_selector(Some(value), d);
                peers.outside_pods = true;
                peers
                    .via
                    .push("nodes (node addresses, no metadata address)".into());
            }
            "networks" => decode_networks(value, peers, d),
            "domainNames" if !baseline => decode_domain_names(value, action, peers, d),
            _ => d.unknown_field(key),
        }
    }
}

/// A `networks` peer: IPv4 or IPv6 CIDRs.
fn decode_networks(value: &Node, peers: &mut Peers, d: &mut Decoder) {
    peers.outside_pods = true;
    let items = set_values(value, "networks", d);
    let mut shown = Vec::new();
    for item in items {
        let Some(text) = item.as_str() else {
            continue;
        };
        // The CRD's rule: "CIDR must be either an IPv4 or IPv6 address".
        if text.contains(':') == text.contains('.') {
            d.invalid(
                item,
                format!("{text:?}: a network must be an IPv4 or an IPv6 CIDR"),
            );
            continue;
        }
        if let Some(net) = expect_cidr(item, d) {
            let addresses = &mut peers.destinations.addresses;
            *addresses = addresses.union(&IpSet::from_net(&net));
            shown.push(net.to_string());
        }
    }
    peers.via.push(format!("networks {}", shown.join(", ")));
}

/// A `domainNames` peer: names and `*.` patterns, for Allow rules only.
fn decode_domain_names(value: &Node, action: Action, peers: &mut Peers, d: &mut Decoder) {
    peers.outside_pods = true;
    let items = set_values(value, "domainNames", d);
    let mut shown = Vec::new();
    for item in items {
        let Some(text) = item.as_str() else {
            continue;
        };
        let Some(host) = domain_match(text) else {
            d.invalid(item, format!("{text:?} is not a valid domain name"));
            continue;
        };
        shown.push(text.trim_end_matches('.').to_ascii_lowercase());
        peers.destinations.hostnames.push(host);
    }
    if action != Action::Allow {
        // "DomainNames is only supported for ALLOW rules": what an implementation
        // does with another action is not defined.
        peers.unknowable = Some(format!(
            "domainNames in a {} rule: only Allow rules support them",
            action.name()
        ));
    }
    peers.via.push(format!("domainNames {}", shown.join(", ")));
}

/// A `listType=set` list of 1 to 25 strings, without duplicates.
fn set_values<'a>(node: &'a Node, field: &str, d: &mut Decoder) -> &'a [Node] {
    let items = super::toolkit::expect_seq(node, d).unwrap_or_default();
    if items.is_empty() || items.len() > MAX_PEER_VALUES {
        d.invalid(
            node,
            format!("{field} needs 1 to {MAX_PEER_VALUES} entries"),
        );
    }
    let mut seen: Vec<String> = Vec::new();
    for item in items {
        let Some(text) = expect_string(item, d) else {
            continue;
        };
        if seen.contains(&text) {
            d.invalid(item, format!("duplicate {field} entry {text:?}"));
        }
        seen.push(text);
    }
    items
}

/// A `domainNames` entry: an exact name, or `*.` and a name for one or more labels in front.
/// The pattern form is Cilium's `**.` (one or more labels), so both engines read alike.
fn domain_match(text: &str) -> Option<HostnameMatch> {
    let lower = text.trim_end_matches('.').to_ascii_lowercase();
    let (wild, name) = match lower.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, lower.as_str()),
    };
    let labels: Vec<&str> = name.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !l.starts_with(['-', '_'])
            && !l.ends_with(['-', '_'])
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) {
        return None;
    }
    Some(if wild {
        HostnameMatch::Pattern(format!("**.{name}"))
    } else {
        HostnameMatch::Name(name.to_string())
    })
}

/// One `ports` entry: the ports it matches, and whether it is a named port.
fn decode_port(node: &Node, unknowable: &mut Option<String>, d: &mut Decoder) -> (PortSet, bool) {
    let Some(entries) = expect_map(node, d) else {
        return (PortSet::empty(), false);
    };
    if count_known(entries, &["portNumber", "portRange", "namedPort"]) != 1 {
        d.invalid(
            node,
            "a port needs exactly one of portNumber, portRange and namedPort".into(),
        );
    }
    let mut set = PortSet::empty();
    let mut named = false;
    for (key, value) in entries {
        match key.key_text().unwrap_or_default() {
            "portNumber" => {
                let fields = port_fields(value, &["protocol", "port"], d);
                let protocol = port_protocol(fields.protocol, unknowable, d);
                match (fields.numbers.first().copied().flatten(), protocol) {
                    (Some(port), Some(p)) => set = set.union(&PortSet::range(p, port, port)),
                    (None, _) if value.get("port").is_none() => {
                        d.invalid(value, "portNumber.port is required".into())
                    }
                    _ => {}
                }
            }
            "portRange" => {
                let fields = port_fields(value, &["protocol", "start", "end"], d);
                let protocol = port_protocol(fields.protocol, unknowable, d);
                for field in ["start", "end"] {
                    if value.get(field).is_none() {
                        d.invalid(value, format!("portRange.{field} is required"));
                    }
                }
                if let ([Some(start), Some(end)], Some(p)) = (fields.numbers.as_slice(), protocol) {
                    let (start, end) = (*start, *end);
                    if start > end {
                        d.invalid(
                            value,
                            format!("portRange start {start} is greater than end {end}"),
                        );
                    } else {
                        set = set.union(&PortSet::range(p, start, end));
                    }
                }
            }
            "namedPort" => {
                expect_string(value, d);
                named = true;
            }
            _ => d.unknown_field(key),
        }
    }
    (set, named)
}

/// The fields of a `portNumber` or `portRange`: the protocol node, then each number field
/// (after `protocol` in `names`) in order.
struct PortFields<'a> {
    protocol: Option<&'a Node>,
    numbers: Vec<Option<u16>>,
}

fn port_fields<'a>(node: &'a Node, names: &[&str], d: &mut Decoder) -> PortFields<'a> {
    let mut fields = PortFields {
        protocol: None,
        numbers: vec![None; names.len() - 1],
    };
    for (key, value) in expect_map(node, d).unwrap_or_default() {
        let name = key.key_text().unwrap_or_default();
        match names.iter().position(|n| *n == name) {
            Some(0) => fields.protocol = Some(value),
            Some(i) => match value.scalar() {
                Some(Scalar::Int(v)) if (1..=65535).contains(&v) => {
                    fields.numbers[i - 1] = Some(v as u16)
                }
                _ => d.invalid(
                    value,
                    format!("{name} must be a port number from 1 to 65535"),
                ),
            },
            None => d.unknown_field(key),
        }
    }
    fields
}

/// The protocol of a port entry, TCP by default. The CRD takes any string; one that is not
/// TCP, UDP or SCTP means something only the implementation knows.
fn port_protocol(
    node: Option<&Node>,
    unknowable: &mut Option<String>,
    d: &mut Decoder,
) -> Option<Protocol> {
    let Some(node) = node.filter(|n| !n.is_null()) else {
        return Some(Protocol::Tcp);
    };
    let text = expect_string(node, d)?;
    let protocol = Protocol::parse(&text);
    if protocol.is_none() {
        *unknowable = Some(format!("protocol {text:?} is not TCP, UDP or SCTP"));
    }
    protocol
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::toolkit::ProblemKind;
    use crate::net::Target;
    use crate::source::yaml::parse_documents;

    fn object(kind: &str, name: &str, spec: &str) -> DecodedPolicy {
        let body: String = spec.lines().map(|l| format!("  {l}\n")).collect();
        let text = format!(
            "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n{body}"
        );
        let doc = parse_documents(&text, 0).unwrap().remove(0);
        decode(&doc, kind == "BaselineAdminNetworkPolicy")
    }

    fn anp(spec: &str) -> DecodedPolicy {
        object("AdminNetworkPolicy", "p", spec)
    }

    fn banp(spec: &str) -> DecodedPolicy {
        object("BaselineAdminNetworkPolicy", "default", spec)
    }

    fn messages(p: &DecodedPolicy) -> Vec<&str> {
        p.problems.iter().map(|p| p.message.as_str()).collect()
    }

    fn imds() -> Target {
        Target::defaults()[0]
    }

    fn reaches(rule: &PolicyRule, t: &Target) -> bool {
        rule.destinations.addresses.contains(t.addr) && rule.ports.contains(t.protocol, t.port)
    }

    fn only_spec(p: &DecodedPolicy) -> &PolicySpec {
        assert!(!p.rejected, "{:?}", messages(p));
        assert_eq!(p.specs.len(), 1);
        &p.specs[0]
    }

    const DENY_METADATA: &str = "priority: 10\nsubject:\n  namespaces: {}\negress:\n- name: deny-metadata\n  action: Deny\n  to:\n  - networks: [169.254.169.254/32, fd00:ec2::254/128]\n";

    #[test]
    fn admin_policy_denies_metadata_in_order() {
        let p = anp(DENY_METADATA);
        let spec = only_spec(&p);
        assert_eq!(spec.engine, Engine::AdminNetworkPolicy);
        assert_eq!(
            spec.placement,
            Placement {
                layer: Layer::Admin,
                tier: DEFAULT_TIER.into(),
                order: Some(10.0),
            }
        );
        assert!(spec.ordered && spec.governs_egress && !spec.isolates);
        assert!(!spec.selects.own_namespace_only);
        assert!(spec.selects.any_of[0].namespaces.selects_all());
        assert!(spec.selects.any_of[0].pods.selects_all());
        let rule = &spec.rules[0];
        assert_eq!(rule.action, Action::Deny);
        assert_eq!(
            rule.name.to_string(),
            "egress rule 1 \"deny-metadata\" (Deny)"
        );
        assert_eq!(
            rule.via,
            Via::Described("networks 169.254.169.254/32, fd00:ec2::254/128".into())
        );
        assert!(reaches(rule, &imds()) && reaches(rule, &Target::defaults()[1]));
        assert_eq!(rule.span.start.line, 10);
        assert!(p.problems.is_empty(), "{:?}", messages(&p));
    }

    #[test]
    fn actions_and_labels() {
        let p = anp(
            "priority: 0\nsubject: {namespaces: {}}\negress:\n- action: Pass\n  to: [{networks: [0.0.0.0/0]}]\n- action: Allow\n  to: [{namespaces: {}}]\n",
        );
        let rules = &only_spec(&p).rules;
        assert_eq!(rules[0].action, Action::Pass);
        assert_eq!(rules[0].name.to_string(), "egress rule 1 (Pass)");
        assert_eq!(rules[1].name.to_string(), "egress rule 2 (Allow)");
        assert!(
            rules[1].destinations.addresses.is_empty(),
            "namespaces are pods"
        );
        let bad = anp(
            "priority: 0\nsubject: {namespaces: {}}\negress:\n- action: Drop\n  to: [{namespaces: {}}]\n",
        );
        assert!(bad.rejected);
        let pass =
            banp("subject: {namespaces: {}}\negress:\n- action: Pass\n  to: [{namespaces: {}}]\n");
        assert!(pass.rejected, "a baseline policy has no Pass");
    }

    #[test]
    fn baseline_policy_sits_after_network_policies() {
        let p = banp(
            "subject:\n  pods:\n    namespaceSelector: {matchLabels: {team: a}}\n    podSelector: {matchLabels: {app: web}}\negress:\n- action: Deny\n  to: [{networks: [169.254.0.0/16]}]\n",
        );
        let spec = only_spec(&p);
        assert_eq!(spec.engine, Engine::BaselineAdminNetworkPolicy);
        assert_eq!(spec.placement.layer, Layer::Baseline);
        assert!(spec.ordered && !spec.isolates && spec.governs_egress);
        let pair = &spec.selects.any_of[0];
        assert_eq!(pair.namespaces.requirements[0].key, "team");
        assert_eq!(pair.pods.requirements[0].key, "app");
        assert!(reaches(&spec.rules[0], &imds()));
        let misnamed = object(
            "BaselineAdminNetworkPolicy",
            "baseline",
            "subject: {namespaces: {}}\n",
        );
        assert!(misnamed.rejected);
        assert!(messages(&misnamed)[0].contains("\"default\""));
        let priority = banp("priority: 3\nsubject: {namespaces: {}}\n");
        assert_eq!(priority.problems[0].kind, ProblemKind::UnknownField);
    }

    #[test]
    fn no_egress_rules_govern_nothing() {
        let p = anp(
            "priority: 5\nsubject: {namespaces: {}}\ningress:\n- action: Deny\n  from: [{namespaces: {}}]\n",
        );
        assert!(!only_spec(&p).governs_egress);
    }

    #[test]
    fn ports() {
        let ports = |list: &str| {
            let p = anp(&format!(
                "priority: 1\nsubject: {{namespaces: {{}}}}\negress:\n- action: Allow\n  to: [{{networks: [0.0.0.0/0]}}]\n  ports: {list}\n"
            ));
            (
                p.rejected,
                p.specs.first().map(|s| s.rules[0].ports.describe()),
            )
        };
        assert_eq!(
            ports("[{portNumber: {port: 80}}]"),
            (false, Some("TCP 80".into())),
            "protocol defaults to TCP"
        );
        assert_eq!(
            ports(
                "[{portNumber: {protocol: UDP, port: 53}}, {portRange: {start: 1000, end: 2000}}]"
            ),
            (false, Some("TCP 1000-2000; UDP 53".into()))
        );
        assert_eq!(
            ports("[{namedPort: http}]"),
            (true, Some("no port".into())),
            "namedPort with a networks peer is refused, and never matches anyway"
        );
        assert!(ports("[{portRange: {start: 90, end: 80}}]").0);
        assert!(ports("[{portNumber: {port: 0}}]").0);
        assert!(ports("[{portNumber: {port: 80}, portRange: {start: 1, end: 2}}]").0);
        assert!(ports("[]").0);
        let odd = anp(
            "priority: 1\nsubject: {namespaces: {}}\negress:\n- action: Allow\n  to: [{networks: [0.0.0.0/0]}]\n  ports: [{portNumber: {protocol: tcp, port: 80}}]\n",
        );
        assert!(!odd.rejected);
        assert!(odd.specs[0].rules[0].unknowable.is_some());
        let every = anp(
            "priority: 1\nsubject: {namespaces: {}}\negress:\n- action: Allow\n  to: [{networks: [0.0.0.0/0]}]\n",
        );
        assert!(
            reaches(&only_spec(&every).rules[0], &imds()),
            "no ports: every port"
        );
    }

    #[test]
    fn peers() {
        let rule = |peer: &str, action: &str| {
            let p = anp(&format!(
                "priority: 1\nsubject: {{namespaces: {{}}}}\negress:\n- action: {action}\n  to: [{peer}]\n"
            ));
            (
                p.rejected,
                p.specs.iter().next().map(|s| s.rules[0].clone()),
            )
        };
        let (_, nodes) = rule("{nodes: {}}", "Allow");
        assert!(nodes.unwrap().destinations.addresses.is_empty());
        let (_, pods) = rule("{pods: {namespaceSelector: {}, podSelector: {}}}", "Allow");
        assert!(pods.unwrap().destinations.addresses.is_empty());
        let (rejected, domains) = rule(
            "{domainNames: [\"*.Example.com\", metadata.google.internal.]}",
            "Allow",
        );
        assert!(!rejected);
        let domains = domains.unwrap();
        assert_eq!(
            domains.destinations.hostnames,
            [
                HostnameMatch::Pattern("**.example.com".into()),
                HostnameMatch::Name("metadata.google.internal".into())
            ]
        );
        assert!(domains.unknowable.is_none());
        let (_, deny_domains) = rule("{domainNames: [example.com]}", "Deny");
        assert!(deny_domains.unwrap().unknowable.is_some());
        assert!(rule("{networks: [10.0.0.0/8], namespaces: {}}", "Deny").0);
        assert!(rule("{}", "Deny").0);
        assert!(
            rule("{cidr: 10.0.0.0/8}", "Deny").0,
            "an unknown field alone leaves no peer"
        );
        assert!(rule("{networks: [\"::ffff:1.2.3.4/128\"]}", "Deny").0);
        assert!(rule("{networks: [10.0.0.0/8, 10.0.0.0/8]}", "Deny").0);
        assert!(rule("{networks: [not-a-cidr]}", "Deny").0);
        assert!(rule("{networks: []}", "Deny").0);
        assert!(rule("{domainNames: [\"a*.example.com\"]}", "Allow").0);
        assert!(rule("{pods: {podSelector: {}}}", "Allow").0);
        let banp_domains = banp(
            "subject: {namespaces: {}}\negress:\n- action: Allow\n  to: [{domainNames: [example.com]}]\n",
        );
        assert!(
            banp_domains
                .problems
                .iter()
                .any(|p| p.kind == ProblemKind::UnknownField && p.message.contains("domainNames"))
        );
        assert!(
            banp_domains.rejected,
            "without domainNames the peer is empty"
        );
    }

    #[test]
    fn required_fields_and_limits() {
        for (spec, want) in [
            ("subject: {namespaces: {}}\n", "priority is required"),
            ("priority: 1001\nsubject: {namespaces: {}}\n", "0 to 1000"),
            ("priority: 1\n", "subject is required"),
            ("priority: 1\nsubject: {}\n", "exactly one"),
            (
                "priority: 1\nsubject: {namespaces: {}, pods: {namespaceSelector: {}, podSelector: {}}}\n",
                "exactly one",
            ),
            (
                "priority: 1\nsubject: {namespaces: {}}\negress:\n- to: [{namespaces: {}}]\n",
                "needs an action",
            ),
            (
                "priority: 1\nsubject: {namespaces: {}}\negress:\n- action: Deny\n",
                "at least one `to`",
            ),
            (
                "priority: 1\nsubject: {namespaces: {matchLabels: {a: 1}}}\n",
                "expected a string",
            ),
        ] {
            let p = anp(spec);
            assert!(p.rejected, "{spec}");
            assert!(
                messages(&p).iter().any(|m| m.contains(want)),
                "{spec}: {:?}",
                messages(&p)
            );
        }
        let many: String = (0..101)
            .map(|_| "- action: Deny\n  to: [{namespaces: {}}]\n")
            .collect();
        let p = anp(&format!(
            "priority: 1\nsubject: {{namespaces: {{}}}}\negress:\n{many}"
        ));
        assert!(p.rejected);
        let no_spec = parse_documents("kind: AdminNetworkPolicy\nmetadata: {name: x}\n", 0)
            .unwrap()
            .remove(0);
        assert!(decode(&no_spec, false).rejected);
    }

    #[test]
    fn unknown_fields_are_reported() {
        let p = anp("priority: 1\nsubject: {namespaces: {}}\negres: []\n");
        assert_eq!(p.problems[0].kind, ProblemKind::UnknownField);
        assert!(p.problems[0].message.contains("egres"));
        assert!(!p.rejected);
        let p = anp(
            "priority: 1\nsubject: {namespaces: {}}\negress:\n- action: Deny\n  to: [{networks: [10.0.0.0/8]}]\n  port: []\n",
        );
        assert!(p.problems[0].message.contains("\"port\""));
    }

    #[test]
    fn malformed_input_never_panics() {
        for spec in [
            "3\n",
            "priority: x\nsubject: []\negress: {}\n",
            "priority: 1\nsubject: {pods: 3}\negress: [3, {action: []}, {action: Deny, to: 3}, {action: Deny, to: [3, {networks: 3}, {domainNames: [3]}]}]\n",
            "priority: 1\nsubject: {namespaces: {}}\negress: [{action: Deny, to: [{namespaces: {}}], ports: [3, {portNumber: 3}, {portRange: {start: x}}]}]\n",
        ] {
            let p = anp(spec);
            assert!(p.rejected, "{spec}");
        }
    }
}
