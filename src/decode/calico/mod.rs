//! Calico `projectcalico.org/v3` (and `crd.projectcalico.org/v1`) NetworkPolicy,
//! GlobalNetworkPolicy, Tier, NetworkSet and GlobalNetworkSet, decoded into the engine form
//! with Calico's validation and defaults.
//!
//! Semantics follow Calico's resource reference (docs.tigera.io, "Network policy", "Global
//! network policy", "Tier", "Global network set"): rules run in order and the first Allow or
//! Deny decides, Pass leaves the tier, Log goes on; a policy without `types` is Ingress, plus
//! Egress iff it has egress rules, and Egress alone when it has no ingress rules; `order`
//! absent sorts last; a tier's `defaultAction` (Deny unless Pass) applies to traffic its
//! policies select but no rule decides.

pub mod selector;

use super::selector::{LabelSelector, Operator, Requirement};
use super::spec::{
    Action, DEFAULT_TIER, DEFAULT_TIER_ORDER, DecodedPolicy, Engine, HostnameMatch, Layer,
    NetworkSetSpec, Placement, PolicyRule, PolicySpec, RuleDestinations, RuleName, SelectorPair,
    Selects, ServiceName, ServiceRef, TierSpec, Via,
};
use super::toolkit::{self, Decoder, expect_map, expect_string, optional_seq};
use super::workload::SERVICE_ACCOUNT_LABEL;
use crate::net::{IpSet, PortSet, Protocol, RangeSet};
use crate::source::yaml::{Node, Scalar, Value};
use ipnet::IpNet;
use selector::{Context, Dnf, Expr, always, and, parse, to_dnf};
use std::net::IpAddr;
use std::sync::Arc;

const SPEC_FIELDS: &[&str] = &[
    "tier",
    "order",
    "selector",
    "types",
    "ingress",
    "egress",
    "serviceAccountSelector",
    "performanceHints",
];
/// Fields only a GlobalNetworkPolicy has.
const GLOBAL_SPEC_FIELDS: &[&str] = &[
    "namespaceSelector",
    "doNotTrack",
    "preDNAT",
    "applyOnForward",
];

/// Decodes a Calico policy object (`global` for GlobalNetworkPolicy).
pub fn decode(root: &Node, global: bool) -> DecodedPolicy {
    let mut cx = Cx {
        d: Decoder::default(),
        unsupported: Vec::new(),
        global,
        in_ingress: false,
    };
    toolkit::check_object(root, &["spec", "status"], &mut cx.d);
    let spec = decode_spec(root.get("spec").filter(|n| !n.is_null()), &mut cx);
    let not_evaluated = (!cx.unsupported.is_empty()).then(|| cx.unsupported.join("; "));
    DecodedPolicy {
        specs: if not_evaluated.is_some() {
            Arc::from([])
        } else {
            Arc::from([spec])
        },
        rejected: cx.d.is_rejected(),
        problems: cx.d.problems,
        not_evaluated,
    }
}

/// Decoding state of one policy.
struct Cx {
    d: Decoder,
    /// Why the policy cannot be evaluated exactly (each reason once).
    unsupported: Vec<String>,
    global: bool,
    /// Decoding ingress rules, which only need to be valid: their selectors do not matter.
    in_ingress: bool,
}

impl Cx {
    fn unsupported(&mut self, reason: String) {
        if !self.in_ingress && !self.unsupported.contains(&reason) {
            self.unsupported.push(reason);
        }
    }
}

/// Where `global()` may appear in a selector field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum GlobalUse {
    /// A policy's selectors and a rule's `selector`: Calico refuses it.
    Refused,
    /// A rule's `namespaceSelector`: only as the whole selector.
    Alone,
    /// A rule's `notSelector`: Calico does not check.
    Unchecked,
}

/// A selector field: its text for messages and its DNF (or the negation's).
struct SelectorField {
    text: String,
    dnf: Dnf,
}

/// Decodes a selector field. Syntax errors are problems at the node (Calico refuses the
/// policy); selectors without an exact reading make the policy not evaluated. Either way the
/// DNF returned is `all()`, which nothing downstream uses.
fn selector_field(
    node: &Node,
    field: &str,
    context: Context,
    negated: bool,
    global_use: GlobalUse,
    cx: &mut Cx,
) -> Option<SelectorField> {
    if node.is_null() {
        return None;
    }
    let text = expect_string(node, &mut cx.d)?;
    if text.trim_matches([' ', '\t']).is_empty() {
        return None;
    }
    if selector::nesting(&text) > selector::MAX_NESTING {
        cx.unsupported(format!(
            "{field}: parentheses nest deeper than {}",
            selector::MAX_NESTING
        ));
        return Some(SelectorField {
            text,
            dnf: always(),
        });
    }
    let expr = match parse(&text) {
        Ok(expr) => expr,
        Err(error) => {
            cx.d.invalid(
                node,
                format!("{field} {text:?} is not a valid selector: {error}"),
            );
            return Some(SelectorField {
                text,
                dnf: always(),
            });
        }
    };
    match global_use {
        GlobalUse::Refused if expr.mentions_global() => cx.d.invalid(
            node,
            format!("{field}: global() can only be used in a rule's namespaceSelector"),
        ),
        GlobalUse::Alone if expr.mentions_global() && expr != Expr::Global => cx.d.invalid(
            node,
            format!("{field}: global() cannot be combined with other selectors"),
        ),
        _ => {}
    }
    let dnf = match to_dnf(&expr, context, negated) {
        Ok(dnf) => dnf,
        Err(why) => {
            cx.unsupported(format!("{field} {text:?}: {}", why.0));
            always()
        }
    };
    Some(SelectorField { text, dnf })
}

fn to_pairs(dnf: &Dnf) -> Vec<SelectorPair> {
    dnf.iter()
        .map(|c| SelectorPair {
            namespaces: LabelSelector {
                requirements: c.namespaces.clone(),
            },
            pods: LabelSelector {
                requirements: c.endpoints.clone(),
            },
        })
        .collect()
}

/// ANDs DNFs; a DNF too large to hold makes the policy not evaluated.
fn and_all(parts: &[&Dnf], cx: &mut Cx) -> Dnf {
    let mut acc = always();
    for part in parts {
        match and(&acc, part) {
            Ok(next) => acc = next,
            Err(why) => {
                cx.unsupported(why.0);
                return always();
            }
        }
    }
    acc
}

/// A float field (`order`); YAML integers count.
fn number(node: &Node, d: &mut Decoder) -> Option<f64> {
    let value = match (node.scalar(), &node.value) {
        (Some(Scalar::Int(i)), _) => Some(i as f64),
        (Some(Scalar::Float), Value::Scalar { text, .. }) => text
            .replace('_', "")
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite()),
        _ => None,
    };
    if value.is_none() {
        d.invalid(
            node,
            format!("expected a number, found {}", node.type_name()),
        );
    }
    value
}

fn boolean(node: &Node, d: &mut Decoder) -> bool {
    match node.scalar() {
        Some(Scalar::Bool(b)) => b,
        Some(Scalar::Null) => false,
        _ => {
            d.invalid(
                node,
                format!("expected a boolean, found {}", node.type_name()),
            );
            false
        }
    }
}

/// A DNS-1123 label, which a tier name must be.
fn is_tier_name(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn decode_spec(node: Option<&Node>, cx: &mut Cx) -> PolicySpec {
    let global = cx.global;
    let mut placement = Placement {
        layer: Layer::NetworkPolicy,
        tier: DEFAULT_TIER.to_string(),
        order: None,
    };
    let (mut pods, mut namespaces) = (always(), always());
    let mut types: Option<Vec<String>> = None;
    let (mut has_egress, mut rules) = (false, Vec::new());
    // The host-endpoint switches that are on, with their keys.
    let mut host: Vec<(&str, &Node)> = Vec::new();
    let entries = match node {
        Some(node) => expect_map(node, &mut cx.d).unwrap_or_default(),
        None => &[],
    };
    for (key, value) in entries {
        let name = key.key_text().unwrap_or_default();
        let known = SPEC_FIELDS.contains(&name) || (global && GLOBAL_SPEC_FIELDS.contains(&name));
        if !known {
            cx.d.unknown_field(key);
            continue;
        }
        match name {
            "tier" if !value.is_null() => {
                if let Some(tier) = decode_tier_name(value, cx) {
                    placement.tier = tier;
                }
            }
            "order" if !value.is_null() => placement.order = number(value, &mut cx.d),
            "selector" => {
                if let Some(dnf) = policy_selector(value, name, Context::Pods, cx) {
                    pods = dnf;
                }
            }
            "namespaceSelector" => {
                if let Some(dnf) = policy_selector(value, name, Context::Namespaces, cx) {
                    namespaces = dnf;
                }
            }
            "serviceAccountSelector" => check_service_account_selector(value, cx),
            "types" => types = decode_types(value, cx),
            "ingress" => validate_ingress_rules(value, cx),
            "egress" => {
                // Rules that fail to decode still make the policy Egress by default.
                let items = optional_seq(Some(value), &mut cx.d).unwrap_or_default();
                has_egress = !items.is_empty();
                for (i, rule) in items.iter().enumerate() {
                    rules.extend(decode_rule(rule, true, i, cx));
                }
            }
            "doNotTrack" | "preDNAT" | "applyOnForward" if boolean(value, &mut cx.d) => {
                host.push((name, key));
            }
            "performanceHints" => check_performance_hints(value, cx),
            _ => {}
        }
    }
    check_host_flags(&host, has_egress, &types, cx);
    // Calico's default types: Ingress, plus Egress iff there are egress rules (Egress alone
    // when there are no ingress rules); either way Egress iff egress rules are present.
    let governs_egress = match types.filter(|t| !t.is_empty()) {
        Some(t) => t.iter().any(|name| name == "Egress"),
        None => has_egress,
    };
    PolicySpec {
        engine: Engine::Calico,
        placement,
        ordered: true,
        selects: selects(&namespaces, &pods, cx),
        governs_egress,
        isolates: true,
        rules,
    }
}

/// A policy's `tier`, when it names one (a name Calico refuses is a problem too).
fn decode_tier_name(value: &Node, cx: &mut Cx) -> Option<String> {
    let tier = expect_string(value, &mut cx.d)?;
    if !tier.is_empty() && !is_tier_name(&tier) {
        cx.d.invalid(
            value,
            format!("tier {tier:?} is not a valid tier name (lower-case letters, digits and '-')"),
        );
    }
    (!tier.is_empty()).then_some(tier)
}

/// A policy's `selector` or `namespaceSelector`, as a DNF.
fn policy_selector(value: &Node, field: &str, context: Context, cx: &mut Cx) -> Option<Dnf> {
    selector_field(value, field, context, false, GlobalUse::Refused, cx).map(|s| s.dnf)
}

fn check_service_account_selector(value: &Node, cx: &mut Cx) {
    let field = "serviceAccountSelector";
    if let Some(s) = selector_field(value, field, Context::Pods, false, GlobalUse::Refused, cx)
        && s.dnf != always()
    {
        cx.unsupported(format!(
            "serviceAccountSelector {:?}: the pods it selects depend on service-account labels, which are not read",
            s.text
        ));
    }
}

/// Ingress rules only need to be valid: their selectors do not matter.
fn validate_ingress_rules(value: &Node, cx: &mut Cx) {
    let items = optional_seq(Some(value), &mut cx.d).unwrap_or_default();
    cx.in_ingress = true;
    for (i, rule) in items.iter().enumerate() {
        decode_rule(rule, false, i, cx);
    }
    cx.in_ingress = false;
}

fn check_performance_hints(value: &Node, cx: &mut Cx) {
    for item in optional_seq(Some(value), &mut cx.d).unwrap_or_default() {
        if let Some(hint) = expect_string(item, &mut cx.d)
            && hint != "AssumeNeededOnEveryNode"
        {
            cx.d.invalid(
                item,
                format!("performance hint {hint:?} is not AssumeNeededOnEveryNode"),
            );
        }
    }
}

/// The pods a policy selects: a namespaced policy in its own namespace, a global one in the
/// namespaces its `namespaceSelector` picks.
fn selects(namespaces: &Dnf, pods: &Dnf, cx: &mut Cx) -> Selects {
    if cx.global {
        Selects {
            own_namespace_only: false,
            any_of: to_pairs(&and_all(&[namespaces, pods], cx)),
        }
    } else {
        Selects {
            own_namespace_only: true,
            any_of: to_pairs(pods),
        }
    }
}

fn decode_types(value: &Node, cx: &mut Cx) -> Option<Vec<String>> {
    let items = optional_seq(Some(value), &mut cx.d)?;
    let mut names: Vec<String> = Vec::new();
    for item in items {
        let Some(name) = expect_string(item, &mut cx.d) else {
            continue;
        };
        if name != "Ingress" && name != "Egress" {
            cx.d.invalid(
                item,
                format!("policy type {name:?} is not Ingress or Egress"),
            );
        } else if names.contains(&name) {
            cx.d.invalid(item, format!("policy type {name:?} is listed twice"));
        }
        names.push(name);
    }
    Some(names)
}

/// `doNotTrack`, `preDNAT` and `applyOnForward` make a GlobalNetworkPolicy apply to host
/// endpoints' traffic, which imds-lint does not model; Calico also checks how they combine.
fn check_host_flags(
    host: &[(&str, &Node)],
    has_egress: bool,
    types: &Option<Vec<String>>,
    cx: &mut Cx,
) {
    let at = |field: &str| host.iter().find(|(f, _)| *f == field).map(|(_, key)| *key);
    let (do_not_track, pre_dnat, apply_on_forward) = (
        at("doNotTrack").is_some(),
        at("preDNAT").is_some(),
        at("applyOnForward").is_some(),
    );
    if do_not_track
        && pre_dnat
        && let Some(node) = at("preDNAT")
    {
        cx.d.invalid(node, "preDNAT and doNotTrack cannot both be true".into());
    }
    if pre_dnat
        && (has_egress
            || types
                .as_ref()
                .is_some_and(|t| t.iter().any(|n| n == "Egress")))
        && let Some(node) = at("preDNAT")
    {
        cx.d.invalid(
            node,
            "a preDNAT policy cannot have egress rules or the Egress type".into(),
        );
    }
    if (do_not_track || pre_dnat)
        && !apply_on_forward
        && let Some(node) = at(if pre_dnat { "preDNAT" } else { "doNotTrack" })
    {
        cx.d.invalid(
            node,
            "applyOnForward must be true if either preDNAT or doNotTrack is true".into(),
        );
    }
    let set: Vec<&str> = host.iter().map(|(f, _)| *f).collect();
    if !set.is_empty() {
        cx.unsupported(format!(
            "{} makes this a host-endpoint policy, which is not evaluated",
            set.join(" and ")
        ));
    }
}

/// An IP protocol as Calico names or numbers it.
fn decode_protocol(node: &Node, field: &str, d: &mut Decoder) -> Option<u8> {
    let number = |n: i64| u8::try_from(n).ok().filter(|&n| n >= 1);
    let parsed = match node.scalar() {
        Some(Scalar::Int(n)) => number(n),
        Some(Scalar::Str(name)) => match name {
            "TCP" | "tcp" => Some(6),
            "UDP" | "udp" => Some(17),
            "ICMP" | "icmp" => Some(1),
            "ICMPv6" | "icmpv6" => Some(58),
            "SCTP" | "sctp" => Some(132),
            "UDPLite" | "udplite" => Some(136),
            other => other.parse::<i64>().ok().and_then(number),
        },
        _ => None,
    };
    if parsed.is_none() {
        d.invalid(
            node,
            format!(
                "{field}: expected TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number 1-255, found {}",
                node.as_str()
                    .map_or_else(|| node.type_name().to_string(), |s| format!("{s:?}"))
            ),
        );
    }
    parsed
}

/// The protocols imds-lint tracks ports for.
fn port_protocol(number: u8) -> Option<Protocol> {
    match number {
        6 => Some(Protocol::Tcp),
        17 => Some(Protocol::Udp),
        132 => Some(Protocol::Sctp),
        _ => None,
    }
}

/// Every port of a protocol (none for protocols without ports).
fn every_port(number: u8) -> PortSet {
    port_protocol(number).map_or_else(PortSet::empty, |p| PortSet::range(p, 0, u16::MAX))
}

/// One entry of `ports` / `notPorts`.
#[derive(Debug, Clone, PartialEq)]
enum Port {
    Range(u16, u16),
    /// A named port is a container port of the destination pod: never a metadata endpoint.
    Named,
}

fn decode_port(node: &Node, d: &mut Decoder) -> Option<Port> {
    let port = |n: i64| u16::try_from(n).ok();
    match node.scalar() {
        Some(Scalar::Int(n)) => {
            let p = port(n);
            if p.is_none() {
                d.invalid(node, format!("port {n} is outside 0-65535"));
            }
            p.map(|p| Port::Range(p, p))
        }
        Some(Scalar::Str(text)) => {
            let parsed = if let Some((lo, hi)) = text.split_once(':') {
                match (lo.parse::<u16>(), hi.parse::<u16>()) {
                    (Ok(lo), Ok(hi)) if lo <= hi => Some(Port::Range(lo, hi)),
                    _ => None,
                }
            } else if let Ok(n) = text.parse::<u16>() {
                Some(Port::Range(n, n))
            } else if !text.is_empty()
                && text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                Some(Port::Named)
            } else {
                None
            };
            if parsed.is_none() {
                d.invalid(
                    node,
                    format!("{text:?} is not a port, a \"min:max\" range or a port name"),
                );
            }
            parsed
        }
        _ => {
            d.invalid(
                node,
                format!(
                    "port: expected a number or a string, found {}",
                    node.type_name()
                ),
            );
            None
        }
    }
}

/// Parses a CIDR or a bare address (a host), as Calico accepts both.
fn parse_net(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

/// A list of nets: the nodes' nets (bad ones reported and skipped).
fn decode_nets(value: &Node, field: &str, d: &mut Decoder) -> Vec<(IpNet, Node)> {
    let mut nets = Vec::new();
    for item in optional_seq(Some(value), d).unwrap_or_default() {
        let Some(text) = expect_string(item, d) else {
            continue;
        };
        match parse_net(&text) {
            Some(net) => nets.push((net, item.clone())),
            None => d.invalid(item, format!("{field}: {text:?} is not a valid CIDR")),
        }
    }
    nets
}

/// The source or destination of a rule.
#[derive(Default)]
struct Entity {
    nets: Option<Vec<(IpNet, Node)>>,
    not_nets: Vec<(IpNet, Node)>,
    selector: Option<SelectorField>,
    namespace_selector: Option<SelectorField>,
    not_selector: Option<SelectorField>,
    ports: Vec<(Port, Node)>,
    not_ports: Vec<(Port, Node)>,
    /// The first non-empty `ports` or `notPorts` key, for messages.
    ports_key: Option<Node>,
    service_accounts: bool,
    /// `serviceAccounts.names`: the endpoint's service account is one of these (empty: any).
    service_account_names: Vec<String>,
    /// `serviceAccounts.selector` on the service accounts' own labels, which are not read.
    service_account_selector: Option<String>,
    /// `namespace/name` of `services`, and its key.
    services: Option<String>,
    /// The Service `services` names.
    service_ref: Option<ServiceRef>,
    services_key: Option<Node>,
    domains: Vec<String>,
}

fn decode_entity(node: &Node, field: &str, source: bool, cx: &mut Cx) -> Entity {
    let mut entity = Entity::default();
    if node.is_null() {
        return entity;
    }
    let Some(entries) = expect_map(node, &mut cx.d) else {
        return entity;
    };
    // A source is a pod of the policy; a destination that can be a metadata address is a
    // network set.
    let endpoints = if source {
        Context::Pods
    } else {
        Context::NetworkSets
    };
    for (key, value) in entries {
        let name = key.key_text().unwrap_or_default();
        let path = format!("{field}.{name}");
        match name {
            "nets" => entity.nets = Some(decode_nets(value, &path, &mut cx.d)),
            "notNets" => entity.not_nets = decode_nets(value, &path, &mut cx.d),
            "selector" => {
                entity.selector =
                    selector_field(value, &path, endpoints, false, GlobalUse::Refused, cx)
            }
            "namespaceSelector" => {
                entity.namespace_selector = selector_field(
                    value,
                    &path,
                    Context::Namespaces,
                    false,
                    GlobalUse::Alone,
                    cx,
                )
            }
            // Negated here: the DNF of the endpoints it lets through.
            "notSelector" => {
                entity.not_selector =
                    selector_field(value, &path, endpoints, true, GlobalUse::Unchecked, cx)
            }
            "ports" | "notPorts" => {
                let ports = decode_ports(value, cx);
                if !ports.is_empty() {
                    entity.ports_key.get_or_insert_with(|| key.clone());
                }
                if name == "ports" {
                    entity.ports = ports;
                } else {
                    entity.not_ports = ports;
                }
            }
            "serviceAccounts" if !value.is_null() => {
                decode_service_accounts(value, &path, &mut entity, cx)
            }
            "services" => {
                entity.services_key = Some(key.clone());
                if let Some((services, service_ref)) = decode_services(value, &path, cx) {
                    entity.services = Some(services);
                    entity.service_ref = service_ref;
                }
            }
            "serviceAccounts" => {}
            "domains" => {
                for item in optional_seq(Some(value), &mut cx.d).unwrap_or_default() {
                    entity.domains.extend(expect_string(item, &mut cx.d));
                }
            }
            _ => cx.d.unknown_field(key),
        }
    }
    check_services_alone(&entity, field, cx);
    entity
}

fn decode_ports(value: &Node, cx: &mut Cx) -> Vec<(Port, Node)> {
    optional_seq(Some(value), &mut cx.d)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| Some((decode_port(p, &mut cx.d)?, p.clone())))
        .collect()
}

/// An entity's `serviceAccounts`: `names` and a `selector` on the accounts' own labels.
fn decode_service_accounts(value: &Node, path: &str, entity: &mut Entity, cx: &mut Cx) {
    let Some(entries) = expect_map(value, &mut cx.d) else {
        return;
    };
    for (k, v) in entries {
        match k.key_text().unwrap_or_default() {
            "names" => {
                for item in optional_seq(Some(v), &mut cx.d).unwrap_or_default() {
                    entity
                        .service_account_names
                        .extend(expect_string(item, &mut cx.d));
                }
            }
            "selector" => {
                let path = format!("{path}.selector");
                entity.service_account_selector =
                    selector_field(v, &path, Context::Pods, false, GlobalUse::Refused, cx)
                        .filter(|s| s.dnf != always())
                        .map(|s| s.text);
            }
            _ => cx.d.unknown_field(k),
        }
    }
    entity.service_accounts = true;
}

/// An entity's `services` as `namespace/name` (or `name`), and the Service it names;
/// `None` when it is not a mapping.
fn decode_services(value: &Node, path: &str, cx: &mut Cx) -> Option<(String, Option<ServiceRef>)> {
    let entries = expect_map(value, &mut cx.d)?;
    let (mut svc, mut ns) = (String::new(), String::new());
    for (k, v) in entries {
        match k.key_text().unwrap_or_default() {
            "name" => svc = expect_string(v, &mut cx.d).unwrap_or_default(),
            "namespace" => ns = expect_string(v, &mut cx.d).unwrap_or_default(),
            _ => cx.d.unknown_field(k),
        }
    }
    if svc.is_empty() {
        cx.d.invalid(value, format!("{path}: must name a service"));
    }
    let service_ref = (!svc.is_empty()).then(|| ServiceRef {
        namespace: (!ns.is_empty()).then(|| ns.clone()),
        name: ServiceName::Name(svc.clone()),
        ports_from_endpoints: true,
    });
    let shown = if ns.is_empty() {
        svc
    } else {
        format!("{ns}/{svc}")
    };
    Some((shown, service_ref))
}

/// Calico refuses `services` together with the entity's other matches.
fn check_services_alone(entity: &Entity, field: &str, cx: &mut Cx) {
    let (Some(services), Some(key)) = (&entity.services, &entity.services_key) else {
        return;
    };
    let clash = [
        (entity.selector.is_some(), "selector"),
        (entity.not_selector.is_some(), "notSelector"),
        (entity.namespace_selector.is_some(), "namespaceSelector"),
        (entity.nets.as_ref().is_some_and(|n| !n.is_empty()), "nets"),
        (!entity.not_nets.is_empty(), "notNets"),
        (entity.service_accounts, "serviceAccounts"),
    ];
    for (_, other) in clash.iter().filter(|(set, _)| *set) {
        cx.d.invalid(
            key,
            format!("{field}.services ({services}) cannot be combined with {field}.{other}"),
        );
    }
}

const RULE_FIELDS: &[&str] = &[
    "action",
    "ipVersion",
    "protocol",
    "notProtocol",
    "icmp",
    "notICMP",
    "source",
    "destination",
    "http",
    "metadata",
];

/// A rule's fields as read, before they are checked against each other.
#[derive(Default)]
struct RuleFields<'n> {
    action: Option<Action>,
    ip_version: Option<i64>,
    protocol: Option<u8>,
    not_protocol: Option<u8>,
    /// Each protocol field's value, to check against `ipVersion`.
    protocol_nodes: Vec<(Option<u8>, &'n Node)>,
    /// `icmp` and `notICMP`, by name, at their keys.
    icmp: Vec<(&'n str, &'n Node)>,
    /// The `http` key, when given.
    http: Option<&'n Node>,
    source: Entity,
    destination: Entity,
}

/// Decodes one rule; ingress rules are validated only. `None` when the rule has no meaning.
fn decode_rule(node: &Node, egress: bool, index: usize, cx: &mut Cx) -> Option<PolicyRule> {
    let entries = expect_map(node, &mut cx.d)?;
    let fields = read_rule_fields(entries, egress, cx);
    let Some(action) = fields.action else {
        if node.get("action").is_none_or(Node::is_null) {
            let direction = if egress { "egress" } else { "ingress" };
            cx.d.invalid(
                node,
                format!(
                    "{direction} rule {}: action is required (Allow, Deny, Log or Pass)",
                    index + 1
                ),
            );
        }
        return None;
    };
    check_protocol_versions(&fields.protocol_nodes, fields.ip_version, cx);
    check_rule(
        (fields.protocol, fields.not_protocol, fields.ip_version),
        &fields.icmp,
        &fields.source,
        &fields.destination,
        cx,
    );
    check_direction(
        egress,
        action,
        fields.http,
        &fields.source,
        &fields.destination,
        cx,
    );
    egress.then(|| egress_rule(node, index, action, &fields, cx))
}

/// Reads each field of a rule, reporting unknown ones and those invalid on their own.
fn read_rule_fields<'n>(entries: &'n [(Node, Node)], egress: bool, cx: &mut Cx) -> RuleFields<'n> {
    let mut fields = RuleFields::default();
    for (key, value) in entries {
        let name = key.key_text().unwrap_or_default();
        if !RULE_FIELDS.contains(&name) {
            cx.d.unknown_field(key);
            continue;
        }
        if value.is_null() {
            continue;
        }
        match name {
            "action" => fields.action = decode_action(value, cx).or(fields.action),
            "ipVersion" => match value.scalar() {
                Some(Scalar::Int(v @ (4 | 6))) => fields.ip_version = Some(v),
                _ => cx.d.invalid(value, "ipVersion must be 4 or 6".into()),
            },
            "protocol" => {
                fields.protocol = decode_protocol(value, "protocol", &mut cx.d);
                fields.protocol_nodes.push((fields.protocol, value));
            }
            "notProtocol" => {
                fields.not_protocol = decode_protocol(value, "notProtocol", &mut cx.d);
                fields.protocol_nodes.push((fields.not_protocol, value));
            }
            "icmp" | "notICMP" => {
                check_icmp_fields(value, cx);
                fields.icmp.push((name, key));
            }
            "source" => fields.source = decode_entity(value, "source", egress, cx),
            "destination" => {
                fields.destination = decode_entity(value, "destination", false, cx);
            }
            "http" => fields.http = Some(key),
            _ => {}
        }
    }
    fields
}

/// The egress rule at `node`, already checked, as the model sees it.
fn egress_rule(
    node: &Node,
    index: usize,
    action: Action,
    fields: &RuleFields,
    cx: &mut Cx,
) -> PolicyRule {
    let ports = rule_ports(fields.protocol, fields.not_protocol, &fields.destination);
    let (destinations, via, mut unknowable) =
        destinations(&fields.destination, fields.ip_version, cx);
    let senders = senders(&fields.source, &mut unknowable, cx);
    PolicyRule {
        action,
        name: RuleName {
            action: Some(action),
            ..RuleName::new("egress", index + 1)
        },
        number: None,
        span: node.span,
        destinations,
        ports,
        senders,
        unknowable: (!unknowable.is_empty()).then(|| unknowable.join("; ")),
        via: Via::Described(via),
    }
}

/// A rule's `action`; `None` (with a problem if it is not a string naming one) otherwise.
fn decode_action(value: &Node, cx: &mut Cx) -> Option<Action> {
    let text = expect_string(value, &mut cx.d)?;
    match text.as_str() {
        "Allow" => Some(Action::Allow),
        "Deny" => Some(Action::Deny),
        "Log" => Some(Action::Log),
        "Pass" => Some(Action::Pass),
        _ => {
            cx.d.invalid(
                value,
                format!("action {text:?} is not Allow, Deny, Log or Pass"),
            );
            None
        }
    }
}

/// An `icmp` or `notICMP` match: `type` and `code`, 0-255.
fn check_icmp_fields(value: &Node, cx: &mut Cx) {
    let Some(fields) = expect_map(value, &mut cx.d) else {
        return;
    };
    for (k, v) in fields {
        match k.key_text().unwrap_or_default() {
            "type" | "code" => {
                if !matches!(v.scalar(), Some(Scalar::Int(0..=255))) {
                    cx.d.invalid(v, "ICMP type and code are 0-255".into());
                }
            }
            _ => cx.d.unknown_field(k),
        }
    }
}

/// ICMP and ICMPv6 need the matching `ipVersion`.
fn check_protocol_versions(
    protocol_nodes: &[(Option<u8>, &Node)],
    ip_version: Option<i64>,
    cx: &mut Cx,
) {
    for (p, at) in protocol_nodes {
        match (p, ip_version) {
            (Some(1), Some(6)) => {
                cx.d.invalid(at, "protocol ICMP requires ipVersion 4".into())
            }
            (Some(58), Some(4)) => {
                cx.d.invalid(at, "protocol ICMPv6 requires ipVersion 6".into())
            }
            _ => {}
        }
    }
}

/// Matches Calico allows in one direction only: `http` on ingress Allow rules, `services`
/// on the remote side.
fn check_direction(
    egress: bool,
    action: Action,
    http: Option<&Node>,
    source: &Entity,
    destination: &Entity,
    cx: &mut Cx,
) {
    if let Some(key) = http {
        if egress {
            cx.d.invalid(key, "http matches are not allowed in egress rules".into());
        } else if action != Action::Allow {
            cx.d.invalid(key, "http matches are only valid on Allow rules".into());
        }
    }
    if egress && let Some(key) = &source.services_key {
        cx.d.invalid(
            key,
            "source.services is not allowed in an egress rule".into(),
        );
    }
    if !egress && let Some(key) = &destination.services_key {
        cx.d.invalid(
            key,
            "destination.services is not allowed in an ingress rule".into(),
        );
    }
}

/// Calico's checks across the fields of a rule.
fn check_rule(
    (protocol, not_protocol, ip_version): (Option<u8>, Option<u8>, Option<i64>),
    icmp: &[(&str, &Node)],
    source: &Entity,
    destination: &Entity,
    cx: &mut Cx,
) {
    for (entity, field) in [(source, "source"), (destination, "destination")] {
        let Some(key) = &entity.ports_key else {
            continue;
        };
        let all_named = entity
            .ports
            .iter()
            .chain(&entity.not_ports)
            .all(|(p, _)| *p == Port::Named);
        let refused = match protocol {
            None => !all_named,
            Some(p) => port_protocol(p).is_none(),
        };
        if refused {
            cx.d.invalid(
                key,
                format!("{field}: rules that specify ports must set protocol to TCP, UDP or SCTP"),
            );
        }
    }
    if let Some(key) = &destination.services_key
        && destination.ports_key.is_some()
    {
        cx.d.invalid(
            key,
            "ports and notPorts cannot be specified with services".into(),
        );
    }
    for (field, key) in icmp {
        let proto = if *field == "icmp" {
            protocol
        } else {
            not_protocol.or(protocol)
        };
        if !matches!(proto, Some(1 | 58)) {
            cx.d.invalid(key, format!("{field} requires protocol ICMP or ICMPv6"));
        }
    }
    let (mut v4, mut v6) = (false, false);
    for entity in [source, destination] {
        for (net, node) in entity.nets.iter().flatten().chain(&entity.not_nets) {
            let is_v4 = matches!(net, IpNet::V4(_));
            if ip_version.is_some_and(|v| (v == 4) != is_v4) {
                cx.d.invalid(node, format!("{net} does not match the rule's ipVersion"));
            } else if (is_v4 && v6) || (!is_v4 && v4) {
                cx.d.invalid(node, "a rule may not mix IPv4 and IPv6 CIDRs".into());
            }
            v4 |= is_v4;
            v6 |= !is_v4;
        }
    }
}

/// The destination ports and protocols a rule matches.
fn rule_ports(protocol: Option<u8>, not_protocol: Option<u8>, destination: &Entity) -> PortSet {
    let mut base = protocol.map_or_else(PortSet::all, every_port);
    if let Some(p) = not_protocol {
        base = base.difference(&every_port(p));
    }
    let on_protocol = |ports: &[(Port, Node)]| {
        ports.iter().fold(PortSet::empty(), |acc, (port, _)| {
            match (port, protocol.and_then(port_protocol)) {
                (Port::Range(lo, hi), Some(p)) => acc.union(&PortSet::range(p, *lo, *hi)),
                _ => acc,
            }
        })
    };
    if !destination.ports.is_empty() {
        // Intersection: the listed ports minus everything outside `base`.
        base = on_protocol(&destination.ports).difference(&PortSet::all().difference(&base));
    }
    base.difference(&on_protocol(&destination.not_ports))
}

fn list_nets(nets: &[(IpNet, Node)]) -> String {
    nets.iter()
        .map(|(n, _)| n.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The addresses `nets`, `notNets` and `ipVersion` leave, noting the fields used in `via`.
fn rule_addresses(dest: &Entity, ip_version: Option<i64>, via: &mut Vec<String>) -> IpSet {
    let mut addresses = match &dest.nets {
        Some(nets) => {
            via.push(format!("destination.nets {}", list_nets(nets)));
            nets.iter()
                .fold(IpSet::empty(), |acc, (n, _)| acc.union(&IpSet::from_net(n)))
        }
        None => IpSet::all(),
    };
    if !dest.not_nets.is_empty() {
        via.push(format!("destination.notNets {}", list_nets(&dest.not_nets)));
        for (n, _) in &dest.not_nets {
            addresses = addresses.difference(&IpSet::from_net(n));
        }
    }
    match ip_version {
        Some(4) => addresses.v6 = RangeSet::empty(),
        Some(6) => addresses.v4 = RangeSet::empty(),
        _ => {}
    }
    addresses
}

/// A `domains` entry: `*` makes it a pattern.
fn hostname_match(domain: &str) -> HostnameMatch {
    if domain.contains('*') {
        HostnameMatch::Pattern(domain.to_string())
    } else {
        HostnameMatch::Name(domain.to_string())
    }
}

/// Where an egress rule sends traffic, how to say so, and what of it cannot be known.
fn destinations(
    dest: &Entity,
    ip_version: Option<i64>,
    cx: &mut Cx,
) -> (RuleDestinations, String, Vec<String>) {
    let mut via = Vec::new();
    let mut unknowable = Vec::new();
    let mut addresses = rule_addresses(dest, ip_version, &mut via);
    let restricted = dest.nets.is_some() || !dest.not_nets.is_empty() || ip_version.is_some();
    for (field, s) in [
        ("selector", &dest.selector),
        ("namespaceSelector", &dest.namespace_selector),
        ("notSelector", &dest.not_selector),
    ] {
        if let Some(s) = s {
            via.push(format!("destination.{field} {}", s.text));
        }
    }
    let mut labelled = Vec::new();
    let mut labelled_within = None;
    let mut hostnames = Vec::new();
    let mut services = Vec::new();
    if let Some(shown) = &dest.services {
        // A Service with a selector sends to pods; one without, to its endpoints' addresses.
        via.push(format!("destination.services {shown}"));
        addresses = IpSet::empty();
        services.extend(dest.service_ref.clone());
    } else if dest.service_accounts {
        via.push("destination.serviceAccounts".into());
        addresses = IpSet::empty();
    } else if !dest.domains.is_empty() {
        via.push(format!("destination.domains {}", dest.domains.join(", ")));
        hostnames = dest.domains.iter().map(|d| hostname_match(d)).collect();
        addresses = IpSet::empty();
    } else if dest.selector.is_some() || dest.namespace_selector.is_some() {
        // Calico ANDs every match of a rule: with a selector, the destination must be an
        // endpoint it selects, whose address must also be inside nets, outside notNets and
        // of ipVersion. Of endpoints, only network sets can hold a metadata address, so the
        // selected sets go to `labelled`, restricted to the rule's addresses.
        labelled = to_pairs(&labelled_dnf(dest, cx));
        labelled_within = restricted.then(|| addresses.clone());
        addresses = IpSet::empty();
    }
    if dest.not_selector.is_some() {
        unknowable.push(
            "destination.notSelector: the network sets whose addresses it excludes are not evaluated"
                .to_string(),
        );
    }
    let via = if via.is_empty() {
        "no destination (every address)".to_string()
    } else {
        via.join(" and ")
    };
    (
        RuleDestinations {
            addresses,
            hostnames,
            labelled,
            labelled_in_own_namespace: !cx.global && dest.namespace_selector.is_none(),
            labelled_within,
            cidr_groups: Vec::new(),
            services,
        },
        via,
        unknowable,
    )
}

/// The (namespace, network set) pairs a destination `selector` / `namespaceSelector` picks.
/// Without a namespaceSelector, a namespaced policy looks in its own namespace (Calico
/// reference, EntityRule.namespaceSelector) and a global one everywhere.
fn labelled_dnf(dest: &Entity, cx: &mut Cx) -> Dnf {
    let all = always();
    let selector = dest.selector.as_ref().map_or(&all, |s| &s.dnf);
    // Without one, a namespaced policy's own namespace: `labelled_in_own_namespace` says so,
    // since the object's `metadata.namespace` may be overridden where it lands (kustomize).
    let namespaces = dest.namespace_selector.as_ref().map_or(&all, |s| &s.dnf);
    and_all(&[namespaces, selector], cx)
}

/// Which of the policy's pods an egress rule applies to, from its `source`.
fn senders(
    source: &Entity,
    unknowable: &mut Vec<String>,
    cx: &mut Cx,
) -> Option<Vec<SelectorPair>> {
    let mut parts: Vec<&Dnf> = Vec::new();
    for s in [
        &source.selector,
        &source.namespace_selector,
        &source.not_selector,
    ]
    .into_iter()
    .flatten()
    {
        parts.push(&s.dnf);
    }
    // `serviceAccounts.names`, a requirement on the pod's service account like
    // `projectcalico.org/serviceaccount in {...}`.
    let by_name: Dnf = vec![selector::Conjunction {
        namespaces: Vec::new(),
        endpoints: vec![Requirement {
            key: SERVICE_ACCOUNT_LABEL.to_string(),
            operator: Operator::In,
            values: source.service_account_names.clone(),
        }],
    }];
    if !source.service_account_names.is_empty() {
        parts.push(&by_name);
    }
    for (set, what) in [
        (
            source.nets.is_some() || !source.not_nets.is_empty(),
            "source nets and notNets (pod addresses)",
        ),
        (
            source.service_account_selector.is_some(),
            "source.serviceAccounts.selector (service-account labels)",
        ),
        (
            !source.ports.is_empty() || !source.not_ports.is_empty(),
            "source ports (the sending port)",
        ),
    ] {
        if set {
            unknowable.push(format!("{what} cannot be known from the repository"));
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(to_pairs(&and_all(&parts, cx)))
}

/// Decodes a Calico Tier.
pub fn decode_tier(root: &Node) -> TierSpec {
    let mut d = Decoder::default();
    let spec = root.get("spec");
    let order = spec
        .and_then(|s| s.get("order"))
        .filter(|n| !n.is_null())
        .and_then(|n| number(n, &mut d));
    // Calico pins the default tier's order.
    let is_default = root
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Node::as_str)
        == Some(DEFAULT_TIER);
    let default_action = match spec
        .and_then(|s| s.get("defaultAction"))
        .and_then(Node::as_str)
    {
        Some("Pass") => Action::Pass,
        _ => Action::Deny,
    };
    TierSpec {
        order: order.or(is_default.then_some(DEFAULT_TIER_ORDER)),
        default_action,
    }
}

/// Decodes a Calico NetworkSet or GlobalNetworkSet.
pub fn decode_network_set(root: &Node) -> NetworkSetSpec {
    let labels = super::string_map(root.get("metadata").and_then(|m| m.get("labels")));
    let nets = root
        .get("spec")
        .and_then(|s| s.get("nets"))
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|n| parse_net(n.as_str()?))
        .fold(IpSet::empty(), |acc, n| acc.union(&IpSet::from_net(&n)));
    NetworkSetSpec { labels, nets }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::labels::Labels;
    use crate::decode::toolkit::ProblemKind;
    use crate::net::Target;
    use crate::source::yaml::parse_documents;
    use selector::NAMESPACE_NAME_LABEL;

    fn object(kind: &str, meta: &str, spec: &str) -> Node {
        let text = format!(
            "apiVersion: projectcalico.org/v3\nkind: {kind}\nmetadata:\n{}spec:\n{}",
            meta.lines().map(|l| format!("  {l}\n")).collect::<String>(),
            spec.lines().map(|l| format!("  {l}\n")).collect::<String>()
        );
        parse_documents(&text, 0).unwrap().remove(0)
    }

    fn gnp(spec: &str) -> DecodedPolicy {
        decode(&object("GlobalNetworkPolicy", "name: p\n", spec), true)
    }

    fn np(spec: &str) -> DecodedPolicy {
        decode(
            &object("NetworkPolicy", "name: p\nnamespace: team\n", spec),
            false,
        )
    }

    fn spec(e: &DecodedPolicy) -> &PolicySpec {
        assert!(e.not_evaluated.is_none(), "{:?}", e.not_evaluated);
        &e.specs[0]
    }

    fn messages(e: &DecodedPolicy) -> Vec<&str> {
        e.problems.iter().map(|p| p.message.as_str()).collect()
    }

    fn imds() -> Target {
        Target::defaults()[0]
    }

    /// Whether the rule matches the target by address and port (labelled sets aside).
    fn hits(rule: &PolicyRule, target: &Target) -> bool {
        rule.destinations.addresses.contains(target.addr)
            && rule.ports.contains(target.protocol, target.port)
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn selects(s: &Selects, namespace: &str, pod: &[(&str, &str)]) -> bool {
        let ns = labels(&[(NAMESPACE_NAME_LABEL, namespace)]);
        s.any_of
            .iter()
            .any(|p| p.namespaces.matches(&ns) && p.pods.matches(&labels(pod)))
    }

    #[test]
    fn canonical_global_deny_then_allow() {
        let e = gnp(
            "order: 1\nselector: all()\ntypes: [Egress]\negress:\n- action: Deny\n  destination:\n    nets: [169.254.169.254/32]\n- action: Allow\n",
        );
        assert!(!e.rejected && e.problems.is_empty(), "{:?}", e.problems);
        let s = spec(&e);
        assert_eq!(s.engine, Engine::Calico);
        assert_eq!(
            s.placement,
            Placement {
                layer: Layer::NetworkPolicy,
                tier: "default".into(),
                order: Some(1.0)
            }
        );
        assert!(s.ordered && s.isolates && s.governs_egress);
        assert!(!s.selects.own_namespace_only);
        assert!(selects(&s.selects, "anything", &[("app", "x")]));
        assert_eq!(s.rules.len(), 2);
        let (deny, allow) = (&s.rules[0], &s.rules[1]);
        assert_eq!(deny.action, Action::Deny);
        assert_eq!(deny.name.to_string(), "egress rule 1 (Deny)");
        assert_eq!(
            deny.via,
            Via::Described("destination.nets 169.254.169.254/32".into())
        );
        assert!(hits(deny, &imds()));
        assert!(
            !hits(deny, &Target::defaults()[1]),
            "IPv6 metadata is not in the net"
        );
        assert_eq!(deny.span.start.line, 10);
        assert_eq!(deny.senders, None);
        assert_eq!(deny.unknowable, None);
        assert_eq!(allow.action, Action::Allow);
        assert_eq!(allow.name.to_string(), "egress rule 2 (Allow)");
        assert_eq!(
            allow.via,
            Via::Described("no destination (every address)".into())
        );
        assert!(hits(allow, &imds()) && allow.ports == PortSet::all());
    }

    #[test]
    fn namespaced_policy_selects_in_its_namespace() {
        let e = np("selector: app == 'web'\ntier: security\norder: 2.5\negress:\n- action: Pass\n");
        let s = spec(&e);
        assert!(s.selects.own_namespace_only);
        assert!(selects(&s.selects, "team", &[("app", "web")]));
        assert!(!selects(&s.selects, "team", &[("app", "db")]));
        assert_eq!(s.placement.tier, "security");
        assert_eq!(s.placement.order, Some(2.5));
        assert_eq!(s.rules[0].action, Action::Pass);
        let s = spec(&np("egress:\n- action: Log\n")).clone();
        assert!(selects(&s.selects, "team", &[]), "no selector: all()");
        assert_eq!(s.placement.order, None);
    }

    #[test]
    fn global_policy_pairs_namespace_and_pod_selectors() {
        let e = gnp(
            "namespaceSelector: team == 'a' || projectcalico.org/name == 'ops'\nselector: has(app) && projectcalico.org/orchestrator == 'k8s'\ntypes: [Egress]\n",
        );
        let s = spec(&e);
        let ns = |team: &str, name: &str| labels(&[("team", team), (NAMESPACE_NAME_LABEL, name)]);
        let hit = |n: &Labels, pod: &[(&str, &str)]| {
            s.selects
                .any_of
                .iter()
                .any(|p| p.namespaces.matches(n) && p.pods.matches(&labels(pod)))
        };
        assert!(hit(&ns("a", "x"), &[("app", "1")]));
        assert!(hit(&ns("b", "ops"), &[("app", "1")]));
        assert!(!hit(&ns("b", "x"), &[("app", "1")]));
        assert!(!hit(&ns("a", "x"), &[]));
        let s = spec(&gnp("selector: projectcalico.org/namespace in {'dev'}\n")).clone();
        assert!(selects(&s.selects, "dev", &[]));
        assert!(!selects(&s.selects, "prod", &[]));
    }

    #[test]
    fn types_default_to_egress_iff_egress_rules() {
        assert!(!spec(&gnp("selector: all()\n")).governs_egress);
        assert!(!spec(&gnp("ingress:\n- action: Allow\n")).governs_egress);
        assert!(spec(&gnp("egress:\n- action: Allow\n")).governs_egress);
        assert!(spec(&gnp("ingress:\n- action: Allow\negress:\n- action: Deny\n")).governs_egress);
        assert!(!spec(&gnp("types: [Ingress]\negress:\n- action: Deny\n")).governs_egress);
        assert!(spec(&gnp("types: [Egress]\n")).governs_egress);
        let no_spec = decode(
            &parse_documents("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\n", 0)
                .unwrap()
                .remove(0),
            true,
        );
        assert!(!spec(&no_spec).governs_egress);
    }

    #[test]
    fn protocols_and_ports() {
        let rule = |r: &str| spec(&gnp(&format!("egress:\n- action: Allow\n{r}"))).rules[0].clone();
        let web = rule("  protocol: TCP\n  destination:\n    ports: [80, '8000:8080', http]\n");
        assert!(web.ports.contains(Protocol::Tcp, 80) && web.ports.contains(Protocol::Tcp, 8080));
        assert!(!web.ports.contains(Protocol::Tcp, 443) && !web.ports.contains(Protocol::Udp, 80));
        let not80 = rule("  protocol: 6\n  destination:\n    notPorts: [80]\n");
        assert!(
            !not80.ports.contains(Protocol::Tcp, 80) && not80.ports.contains(Protocol::Tcp, 81)
        );
        let udp = rule("  notProtocol: TCP\n");
        assert!(!udp.ports.contains(Protocol::Tcp, 80) && udp.ports.contains(Protocol::Udp, 53));
        let icmp = rule("  protocol: ICMP\n");
        assert!(
            icmp.ports.is_empty(),
            "ICMP never carries a TCP metadata request"
        );
        let named = rule("  destination:\n    ports: [http]\n");
        assert!(
            named.ports.is_empty(),
            "named ports never match a metadata target"
        );
        let same = rule("  protocol: UDP\n  notProtocol: UDP\n");
        assert!(same.ports.is_empty());
    }

    #[test]
    fn ip_version_and_not_nets_shape_addresses() {
        let rule = |r: &str| spec(&gnp(&format!("egress:\n- action: Allow\n{r}"))).rules[0].clone();
        let v6 = rule("  ipVersion: 6\n");
        assert!(!hits(&v6, &imds()) && hits(&v6, &Target::defaults()[1]));
        let except = rule("  destination:\n    notNets: [169.254.0.0/16]\n");
        assert!(!hits(&except, &imds()));
        assert!(
            except
                .destinations
                .addresses
                .contains("10.0.0.1".parse().unwrap())
        );
        assert_eq!(
            except.via,
            Via::Described("destination.notNets 169.254.0.0/16".into())
        );
        let host = rule("  destination:\n    nets: [169.254.169.254]\n");
        assert!(hits(&host, &imds()), "a bare address is a host");
    }

    #[test]
    fn service_accounts_select_pods_by_name() {
        let batch = labels(&[(SERVICE_ACCOUNT_LABEL, "batch")]);
        let web = labels(&[(SERVICE_ACCOUNT_LABEL, "web")]);
        let p =
            np("selector: projectcalico.org/serviceaccount == 'batch'\negress:\n- action: Allow\n");
        let pods = &spec(&p).selects.any_of[0].pods;
        assert!(pods.matches(&batch) && !pods.matches(&web));
        let senders = |source: &str| {
            let p = np(&format!(
                "egress:\n- action: Allow\n  source:\n    serviceAccounts: {source}\n"
            ));
            spec(&p).rules[0].clone()
        };
        let by_name = senders("{names: [batch, cron]}");
        let pair = &by_name.senders.as_ref().unwrap()[0];
        assert!(pair.pods.matches(&batch) && !pair.pods.matches(&web));
        assert_eq!(by_name.unknowable, None);
        // The service accounts' own labels are not read: the rule stays unknowable, and
        // names still narrow it.
        let by_label = senders("{names: [batch], selector: \"role == 'jobs'\"}");
        assert!(
            by_label
                .unknowable
                .unwrap()
                .contains("serviceAccounts.selector")
        );
        assert!(!by_label.senders.unwrap()[0].pods.matches(&web));
        let any = senders("{}");
        assert_eq!((any.senders, any.unknowable), (None, None));
        let p = gnp("serviceAccountSelector: role == 'admin'\negress:\n- action: Allow\n");
        assert!(p.not_evaluated.unwrap().contains("service-account labels"));
    }

    #[test]
    fn selectors_pick_network_sets_and_senders() {
        let rule = |policy: &DecodedPolicy| spec(policy).rules[0].clone();
        let g = rule(&gnp(
            "egress:\n- action: Deny\n  destination:\n    selector: role == 'metadata'\n",
        ));
        assert!(g.destinations.addresses.is_empty());
        assert_eq!(g.destinations.labelled.len(), 1);
        assert!(g.destinations.labelled[0].namespaces.selects_all());
        assert!(
            g.destinations.labelled[0]
                .pods
                .matches(&labels(&[("role", "metadata")]))
        );
        assert_eq!(g.unknowable, None);
        assert!(!g.destinations.labelled_in_own_namespace);
        // A namespaced policy looks in its own namespace unless told otherwise: which one is
        // known only where the policy lands.
        let n = rule(&np(
            "egress:\n- action: Deny\n  destination:\n    selector: role == 'metadata'\n",
        ));
        assert!(n.destinations.labelled_in_own_namespace);
        let told = rule(&np(
            "egress:\n- action: Deny\n  destination:\n    selector: role == 'metadata'\n    namespaceSelector: all()\n",
        ));
        assert!(!told.destinations.labelled_in_own_namespace);
        let global = rule(&np(
            "egress:\n- action: Deny\n  destination:\n    selector: role == 'metadata'\n    namespaceSelector: global()\n",
        ));
        let pair = &global.destinations.labelled[0];
        assert!(pair.namespaces.matches(&labels(&[])), "global sets only");
        assert!(
            !pair
                .namespaces
                .matches(&labels(&[(NAMESPACE_NAME_LABEL, "team")]))
        );
        // Selector and nets: the sets' addresses inside the nets.
        let both = rule(&gnp(
            "egress:\n- action: Deny\n  destination:\n    selector: role == 'm'\n    nets: [169.254.0.0/16]\n",
        ));
        assert!(both.destinations.addresses.is_empty());
        assert!(both.unknowable.is_none());
        assert_eq!(
            both.destinations
                .labelled_within
                .as_ref()
                .map(|w| w.describe()),
            Some("169.254.0.0/16".to_string())
        );
        assert_eq!(
            both.via,
            Via::Described(
                "destination.nets 169.254.0.0/16 and destination.selector role == 'm'".into()
            )
        );
        // Pods only.
        let sa = rule(&gnp(
            "egress:\n- action: Allow\n  destination:\n    serviceAccounts: {names: [api]}\n",
        ));
        assert!(sa.destinations.addresses.is_empty() && sa.destinations.labelled.is_empty());
        let svc = rule(&gnp(
            "egress:\n- action: Allow\n  destination:\n    services: {name: api, namespace: web}\n",
        ));
        assert!(svc.destinations.addresses.is_empty());
        assert_eq!(
            svc.via,
            Via::Described("destination.services web/api".into())
        );
        let dns = rule(&gnp(
            "egress:\n- action: Allow\n  destination:\n    domains: [metadata.google.internal, '*.example.com']\n",
        ));
        assert_eq!(
            dns.destinations.hostnames,
            vec![
                HostnameMatch::Name("metadata.google.internal".into()),
                HostnameMatch::Pattern("*.example.com".into())
            ]
        );
        // Sources restrict the senders; unknowable sources are flagged.
        let src = rule(&np(
            "egress:\n- action: Deny\n  source:\n    selector: app == 'web'\n    notSelector: canary == 'true'\n",
        ));
        let senders = src.senders.unwrap();
        let sends = |pod: &[(&str, &str)]| senders.iter().any(|p| p.pods.matches(&labels(pod)));
        assert!(sends(&[("app", "web")]));
        assert!(!sends(&[("app", "web"), ("canary", "true")]));
        assert!(!sends(&[("app", "db")]));
        let nets = rule(&np(
            "egress:\n- action: Deny\n  source:\n    nets: [10.0.0.0/8]\n",
        ));
        assert!(nets.unknowable.unwrap().contains("source nets"));
        let not_sel = rule(&gnp(
            "egress:\n- action: Deny\n  destination:\n    notSelector: has(x)\n",
        ));
        assert!(
            not_sel
                .unknowable
                .as_deref()
                .unwrap_or_default()
                .contains("notSelector")
        );
        assert!(hits(&not_sel, &imds()));
    }

    #[test]
    fn unsupported_selectors_and_host_policies_are_not_evaluated() {
        for (spec_text, want) in [
            ("selector: app contains 'web'\n", "\"contains\""),
            (
                "egress:\n- action: Deny\n  destination:\n    selector: name starts with 'md'\n",
                "starts with",
            ),
            (
                "serviceAccountSelector: role == 'admin'\n",
                "service-account labels",
            ),
            ("selector: pcsa.role == 'x'\n", "service-account"),
            (
                "preDNAT: true\napplyOnForward: true\ningress: []\n",
                "preDNAT",
            ),
            ("doNotTrack: true\napplyOnForward: true\n", "host-endpoint"),
            ("applyOnForward: true\n", "applyOnForward"),
        ] {
            let e = gnp(spec_text);
            let why = e.not_evaluated.clone().unwrap_or_default();
            assert!(why.contains(want), "{spec_text}: {why:?}");
            assert!(e.specs.is_empty());
            assert!(!e.rejected, "{spec_text}: {:?}", e.problems);
        }
        let factors: Vec<String> = (0..9)
            .map(|i| format!("(a{i} == 'x' || b{i} == 'x')"))
            .collect();
        let e = gnp(&format!("selector: \"{}\"\n", factors.join(" && ")));
        assert!(e.not_evaluated.unwrap().contains("more than 256"));
        let deep = format!("{}has(a){}", "(".repeat(500), ")".repeat(500));
        let e = gnp(&format!("selector: \"{deep}\"\n"));
        assert!(e.not_evaluated.unwrap().contains("nest deeper"));
        assert!(!e.rejected);
        // Ingress selectors do not matter for egress, but syntax still does.
        assert!(
            spec(&gnp(
                "ingress:\n- action: Allow\n  source:\n    selector: a starts with 'x'\n"
            ))
            .rules
            .is_empty()
        );
    }

    #[test]
    fn calico_refusals_are_invalid() {
        let cases = [
            ("selector: app = 'web'\n", "not a valid selector"),
            ("selector: \"app == 'web' &&\"\n", "not a valid selector"),
            ("egress:\n- destination: {}\n", "action is required"),
            ("egress:\n- action: allow\n", "not Allow, Deny, Log or Pass"),
            (
                "egress:\n- action: Allow\n  protocol: HTTP\n",
                "expected TCP",
            ),
            (
                "egress:\n- action: Allow\n  protocol: 256\n",
                "expected TCP",
            ),
            (
                "egress:\n- action: Allow\n  destination:\n    nets: [10.0.0.0/33]\n",
                "not a valid CIDR",
            ),
            (
                "egress:\n- action: Allow\n  destination:\n    ports: [80]\n",
                "must set protocol",
            ),
            (
                "egress:\n- action: Allow\n  protocol: ICMP\n  destination:\n    ports: [80]\n",
                "must set protocol",
            ),
            (
                "egress:\n- action: Allow\n  protocol: TCP\n  destination:\n    ports: ['90:80']\n",
                "not a port",
            ),
            (
                "egress:\n- action: Allow\n  protocol: TCP\n  destination:\n    ports: [70000]\n",
                "outside 0-65535",
            ),
            (
                "egress:\n- action: Allow\n  ipVersion: 4\n  destination:\n    nets: ['fd00::/8']\n",
                "ipVersion",
            ),
            (
                "egress:\n- action: Allow\n  ipVersion: 5\n",
                "ipVersion must be 4 or 6",
            ),
            (
                "egress:\n- action: Allow\n  destination:\n    nets: [10.0.0.0/8]\n    notNets: ['fd00::/8']\n",
                "mix IPv4 and IPv6",
            ),
            (
                "egress:\n- action: Allow\n  destination:\n    selector: global()\n",
                "global() can only",
            ),
            (
                "egress:\n- action: Allow\n  destination:\n    namespaceSelector: global() || has(a)\n",
                "cannot be combined",
            ),
            ("selector: global()\n", "global() can only"),
            (
                "egress:\n- action: Allow\n  destination:\n    services: {name: api}\n    selector: has(a)\n",
                "cannot be combined",
            ),
            (
                "egress:\n- action: Allow\n  protocol: TCP\n  destination:\n    services: {name: api}\n    ports: [80]\n",
                "cannot be specified with services",
            ),
            (
                "egress:\n- action: Allow\n  source:\n    services: {name: api}\n",
                "not allowed in an egress rule",
            ),
            (
                "egress:\n- action: Allow\n  http: {methods: [GET]}\n",
                "not allowed in egress",
            ),
            (
                "egress:\n- action: Allow\n  icmp: {type: 8}\n",
                "requires protocol ICMP",
            ),
            (
                "egress:\n- action: Allow\n  protocol: ICMP\n  ipVersion: 6\n",
                "requires ipVersion 4",
            ),
            ("types: [Egres]\n", "not Ingress or Egress"),
            ("types: [Egress, Egress]\n", "listed twice"),
            ("order: high\n", "expected a number"),
            ("tier: Security\n", "not a valid tier name"),
            ("preDNAT: true\n", "applyOnForward must be true"),
            (
                "preDNAT: true\napplyOnForward: true\negress:\n- action: Allow\n",
                "preDNAT policy cannot",
            ),
            (
                "ingress:\n- action: Allow\n  destination:\n    nets: [nonsense]\n",
                "not a valid CIDR",
            ),
        ];
        for (spec_text, want) in cases {
            let e = gnp(spec_text);
            assert!(e.rejected, "{spec_text}: {:?}", messages(&e));
            assert!(
                messages(&e).iter().any(|m| m.contains(want)),
                "{spec_text}: {:?}",
                messages(&e)
            );
        }
        // Named ports need no protocol.
        assert!(!gnp("egress:\n- action: Allow\n  destination:\n    ports: [http]\n").rejected);
    }

    #[test]
    fn malformed_shapes_are_refused_without_panicking() {
        for spec_text in [
            "[]\n",
            "egress: {}\n",
            "egress: [null]\n",
            "egress: [7]\n",
            "egress:\n- action: [Allow]\n",
            "egress:\n- action: Allow\n  destination: []\n",
            "egress:\n- action: Allow\n  destination:\n    nets: 10.0.0.0/8\n",
            "egress:\n- action: Allow\n  destination:\n    ports: [{port: 80}]\n",
            "egress:\n- action: Allow\n  destination:\n    services: [api]\n",
            "egress:\n- action: Allow\n  icmp: 8\n",
            "selector: 5\n",
            "selector: {matchLabels: {app: web}}\n",
            "types: Egress\n",
            "order: [1]\n",
            "order: '1'\n",
            "tier: {}\n",
            "doNotTrack: maybe\n",
        ] {
            let e = gnp(spec_text);
            assert!(e.rejected, "{spec_text}: {:?}", messages(&e));
        }
    }

    #[test]
    fn selector_errors_point_at_the_selector() {
        let e = gnp("egress:\n- action: Deny\n  destination:\n    selector: role == metadata\n");
        assert!(e.rejected);
        assert_eq!(e.problems[0].span.start.line, 9);
        assert!(
            e.problems[0].message.contains("destination.selector"),
            "{:?}",
            e.problems
        );
    }

    #[test]
    fn unknown_fields_are_reported() {
        let e = np(
            "selector: all()\nnamespaceSelector: all()\negress:\n- action: Deny\n  destination:\n    net: [169.254.169.254/32]\n",
        );
        let unknown: Vec<&str> = e
            .problems
            .iter()
            .filter(|p| p.kind == ProblemKind::UnknownField)
            .map(|p| p.message.as_str())
            .collect();
        assert_eq!(unknown.len(), 2, "{unknown:?}");
        assert!(
            unknown[0].contains("namespaceSelector"),
            "only global policies have it"
        );
        assert!(unknown[1].contains("\"net\""));
        assert!(!e.rejected);
    }

    #[test]
    fn tiers_and_network_sets() {
        let tier = decode_tier(&object(
            "Tier",
            "name: security\n",
            "order: 100\ndefaultAction: Pass\n",
        ));
        assert_eq!(
            tier,
            TierSpec {
                order: Some(100.0),
                default_action: Action::Pass
            }
        );
        let tier = decode_tier(&object("Tier", "name: platform\n", "{}\n"));
        assert_eq!(
            tier,
            TierSpec {
                order: None,
                default_action: Action::Deny
            }
        );
        let default = decode_tier(&object("Tier", "name: default\n", "{}\n"));
        assert_eq!(default.order, Some(DEFAULT_TIER_ORDER));
        let set = decode_network_set(&object(
            "GlobalNetworkSet",
            "name: imds\nlabels: {role: metadata}\n",
            "nets: [169.254.169.254/32, 'fd00:ec2::254', bad]\n",
        ));
        assert_eq!(set.labels, labels(&[("role", "metadata")]));
        assert!(set.nets.contains(imds().addr));
        assert!(set.nets.contains(Target::defaults()[1].addr));
        assert!(!set.nets.contains("10.0.0.1".parse().unwrap()));
    }
}
