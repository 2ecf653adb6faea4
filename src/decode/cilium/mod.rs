//! Cilium `cilium.io/v2` CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy.
//!
//! Semantics follow Cilium's documentation and its policy API (`pkg/policy/api`):
//! * a policy selecting a pod puts it into default deny for egress when the rule has a
//!   non-empty `egress` or `egressDeny` list, unless `enableDefaultDeny.egress: false` ("If
//!   not specified, the default is true for each traffic direction that has rules, and false
//!   otherwise"; `Rule.Sanitize` and the repository's `len(r.Egress) > 0 || len(r.EgressDeny) >
//!   0` check): so `egress: []` or `egress:` with no value isolates nothing;
//! * "Deny policies take precedence over allow policies, regardless of whether they are a
//!   Cilium Network Policy, a Clusterwide Cilium Network Policy or even a Kubernetes Network
//!   Policy" (security/policy/deny), and allows are unioned;
//! * a rule with `toPorts` (or `icmps`) and no L3 peer applies "to any layer 3 destination"
//!   (security/policy/layer4), while an empty non-nil `toEndpoints` selects nothing (CRD field
//!   doc); a rule with neither (`{}`) matches nothing but still counts as an egress section;
//! * `world` "is identical to allowing to CIDR 0.0.0.0/0" (security/policy/layer3), and CIDR
//!   rules apply to destinations outside the cluster, which is where metadata endpoints are.

use super::selector::{LabelSelector, Operator, Requirement, decode_selector_with};
use super::spec::{
    Action, CIDR_GROUP_NAME, DecodedPolicy, Engine, HostnameMatch, NetworkSetSpec, Placement,
    PolicyRule, PolicySpec, RuleDestinations, RuleName, SelectorPair, Selects, ServiceName,
    ServiceRef, Via,
};
use super::toolkit::{
    Decoder, check_object, expect_cidr, expect_map, expect_seq, expect_string, optional_seq,
};
use super::workload::SERVICE_ACCOUNT_LABEL;
use crate::net::{IpSet, PortSet, Protocol};
use crate::source::yaml::{Node, Scalar};
use ipnet::IpNet;
use std::collections::BTreeSet;

/// What one rule (`spec` or an entry of `specs`) turns into.
enum RuleOutcome {
    Spec(PolicySpec),
    /// The rule is decoded and validated but cannot be evaluated, for this reason.
    NotEvaluated(String),
    /// Too broken to say anything (the problems say why).
    Broken,
}

/// Decodes a Cilium policy object (`clusterwide` for CiliumClusterwideNetworkPolicy).
pub fn decode(root: &Node, clusterwide: bool) -> DecodedPolicy {
    let mut d = Decoder::default();
    check_object(root, &["spec", "specs", "status"], &mut d);
    // Each rule with the `specs` entry it is, if it is one.
    let mut rules: Vec<(Option<usize>, &Node)> = Vec::new();
    if let Some(spec) = root.get("spec").filter(|n| !n.is_null()) {
        rules.push((None, spec));
    }
    for (i, item) in optional_seq(root.get("specs"), &mut d)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        rules.push((Some(i), item));
    }
    if rules.is_empty() {
        // Cilium's ErrEmptyCNP: the agent refuses a policy with neither.
        d.invalid(root, "a Cilium policy needs `spec` or `specs`".into());
    }
    let mut specs = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    for (specs_entry, node) in rules {
        match decode_rule(node, specs_entry, clusterwide, &mut d) {
            RuleOutcome::Spec(spec) => specs.push(spec),
            RuleOutcome::NotEvaluated(reason) => {
                if !reasons.contains(&reason) {
                    reasons.push(reason);
                }
            }
            RuleOutcome::Broken => {}
        }
    }
    DecodedPolicy {
        specs: specs.into(),
        rejected: d.is_rejected(),
        problems: d.problems,
        not_evaluated: (!reasons.is_empty()).then(|| reasons.join("; ")),
    }
}

const RULE_FIELDS: &[&str] = &[
    "endpointSelector",
    "nodeSelector",
    "ingress",
    "ingressDeny",
    "egress",
    "egressDeny",
    "enableDefaultDeny",
    "labels",
    "description",
    "log",
];

fn decode_rule(
    node: &Node,
    specs_entry: Option<usize>,
    clusterwide: bool,
    d: &mut Decoder,
) -> RuleOutcome {
    let Some(entries) = expect_map(node, d) else {
        return RuleOutcome::Broken;
    };
    for (key, _) in entries {
        if !RULE_FIELDS.contains(&key.key_text().unwrap_or_default()) {
            d.unknown_field(key);
        }
    }
    let mut sections = 0;
    for name in ["ingress", "ingressDeny"] {
        if let Some((_, value)) = present(node, name) {
            sections += optional_seq(Some(value), d).map_or(0, <[Node]>::len);
        }
    }
    let (rules, egress_lists) = decode_egress_sections(node, specs_entry, d);
    sections += egress_lists;
    if sections == 0 {
        // `Rule.Validate`: "rule must have at least one of Ingress, IngressDeny, Egress,
        // EgressDeny"; the CRD requires one of the keys too.
        d.invalid(
            node,
            "a Cilium rule needs a non-empty ingress, ingressDeny, egress or egressDeny".into(),
        );
    }
    let isolates = match present(node, "enableDefaultDeny") {
        Some((_, value)) => decode_default_deny(value, d),
        None => true,
    };
    if let Some((_, value)) = present(node, "description") {
        expect_string(value, d);
    }
    if let Some((_, value)) = present(node, "labels") {
        expect_seq(value, d);
    }
    let selector = match rule_selector(node, clusterwide, d) {
        Ok(selector) => selector,
        Err(outcome) => return outcome,
    };
    RuleOutcome::Spec(PolicySpec {
        engine: Engine::Cilium,
        placement: Placement::native(),
        ordered: false,
        selects: Selects {
            own_namespace_only: !clusterwide,
            any_of: endpoint_pair(&selector, !clusterwide).into_iter().collect(),
        },
        governs_egress: egress_lists > 0,
        isolates,
        rules,
    })
}

/// A rule's field with its key, unless absent or null.
fn present<'a>(node: &'a Node, name: &str) -> Option<(&'a Node, &'a Node)> {
    node.entry(name).filter(|(_, v)| !v.is_null())
}

/// The rules of `egress` and `egressDeny`, and how many items the two lists hold.
fn decode_egress_sections(
    node: &Node,
    specs_entry: Option<usize>,
    d: &mut Decoder,
) -> (Vec<PolicyRule>, usize) {
    let mut rules = Vec::new();
    let mut egress_lists = 0;
    for (name, action) in [("egress", Action::Allow), ("egressDeny", Action::Deny)] {
        let items = optional_seq(present(node, name).map(|(_, v)| v), d).unwrap_or_default();
        egress_lists += items.len();
        for (i, item) in items.iter().enumerate() {
            let name = RuleName {
                specs_entry,
                ..RuleName::new(name, i + 1)
            };
            if let Some(rule) = decode_egress_rule(item, action, name, d) {
                rules.push(rule);
            }
        }
    }
    (rules, egress_lists)
}

/// The pods a rule selects (`endpointSelector`), or what the rule is instead: refused, or a
/// host policy (`nodeSelector`).
fn rule_selector(
    node: &Node,
    clusterwide: bool,
    d: &mut Decoder,
) -> Result<LabelSelector, RuleOutcome> {
    let host = present(node, "nodeSelector");
    let pods = present(node, "endpointSelector");
    if let Some((key, value)) = host {
        decode_selector_with(Some(value), d, false);
        if !clusterwide {
            // `CiliumNetworkPolicy.Parse`: "rule cannot have NodeSelector".
            d.invalid(
                key,
                "nodeSelector is only allowed in a CiliumClusterwideNetworkPolicy".into(),
            );
        }
    }
    match (pods, host) {
        (Some((key, _)), Some(_)) => {
            d.invalid(
                key,
                "a rule cannot have both endpointSelector and nodeSelector".into(),
            );
            Err(RuleOutcome::Broken)
        }
        // Refused above: nothing more to say about it.
        (None, Some(_)) if !clusterwide => Err(RuleOutcome::Broken),
        (None, Some(_)) => Err(RuleOutcome::NotEvaluated(
            "host policy (nodeSelector): applies to nodes, not pods".into(),
        )),
        (None, None) => {
            d.invalid(
                node,
                "a rule needs an endpointSelector or a nodeSelector".into(),
            );
            Err(RuleOutcome::Broken)
        }
        (Some((_, value)), None) => Ok(decode_selector_with(Some(value), d, false)),
    }
}

/// `enableDefaultDeny`: whether the rule puts its pods into default deny for egress.
fn decode_default_deny(node: &Node, d: &mut Decoder) -> bool {
    let mut egress = true;
    for (key, value) in expect_map(node, d).unwrap_or_default() {
        match key.key_text().unwrap_or_default() {
            name @ ("egress" | "ingress") => match value.scalar() {
                Some(Scalar::Bool(b)) => {
                    if name == "egress" {
                        egress = b;
                    }
                }
                Some(Scalar::Null) => {}
                _ => d.invalid(
                    value,
                    format!(
                        "enableDefaultDeny.{name}: expected a boolean, found {}",
                        value.type_name()
                    ),
                ),
            },
            _ => d.unknown_field(key),
        }
    }
    egress
}

/// The label Cilium gives every pod for its namespace's name.
const POD_NAMESPACE_LABEL: &str = "io.kubernetes.pod.namespace";
/// The label Cilium gives every pod for its service account's name; it becomes a requirement
/// on imds-lint's [`SERVICE_ACCOUNT_LABEL`].
const SERVICE_ACCOUNT_KEY: &str = "io.cilium.k8s.policy.serviceaccount";
/// The label Cilium gives every pod for its cluster's name, and that name's default.
const CLUSTER_LABEL: &str = "io.cilium.k8s.policy.cluster";
const DEFAULT_CLUSTER_NAME: &str = "default";
/// Cilium copies a namespace's labels onto its pods under this prefix.
const NAMESPACE_LABELS_PREFIX: &str = "io.cilium.k8s.namespace.labels.";

/// Splits a Cilium endpoint selector into namespace and pod requirements. Keys may carry a
/// label source (`k8s:app`, `any:app`); a pod's labels all come from `k8s`, so a key of
/// another source (`reserved:host`) is kept whole and never matches a pod label, which is
/// right: such a key selects a special identity, never a pod, unless negated. The service
/// account key becomes imds-lint's synthetic label. `None` when the selector selects no pod.
fn endpoint_pair(selector: &LabelSelector, namespaced: bool) -> Option<SelectorPair> {
    let mut pair = SelectorPair::default();
    for r in &selector.requirements {
        let key = match r.key.split_once(':') {
            Some(("k8s" | "any", key)) => key,
            Some(_) => {
                pair.pods.requirements.push(r.clone());
                continue;
            }
            None => r.key.as_str(),
        };
        let with_key = |key: &str| Requirement {
            key: key.to_string(),
            ..r.clone()
        };
        if key == POD_NAMESPACE_LABEL {
            // A namespaced policy's selector always gets its own namespace: Cilium replaces a
            // `matchLabels` namespace entry (ParseToCiliumRule), and `own_namespace_only`
            // already says so.
            let from_match_labels = r.operator == Operator::In && r.values.len() == 1;
            if !(namespaced && from_match_labels) {
                pair.namespaces
                    .requirements
                    .push(with_key("kubernetes.io/metadata.name"));
            }
        } else if let Some(label) = key.strip_prefix(NAMESPACE_LABELS_PREFIX) {
            pair.namespaces.requirements.push(with_key(label));
        } else if key == SERVICE_ACCOUNT_KEY {
            // Every pod has a service account: decided here, so that no pod class "without a
            // service account" is ever considered.
            match r.operator {
                Operator::Exists => {}
                Operator::DoesNotExist => return None,
                Operator::In | Operator::NotIn => {
                    pair.pods.requirements.push(with_key(SERVICE_ACCOUNT_LABEL))
                }
            }
        } else if key == SERVICE_ACCOUNT_LABEL {
            // imds-lint's own key is no label a pod can carry: the requirement sees it absent.
            if !r.matches(&Default::default()) {
                return None;
            }
        } else if key == CLUSTER_LABEL {
            // Every pod carries its cluster's name; `default` is Cilium's default
            // `cluster-name`, and `io.cilium.k8s.policy.cluster: default` is a common way to
            // say "every pod". A requirement the default name fails selects no pod.
            let labels = [(key.to_string(), DEFAULT_CLUSTER_NAME.to_string())].into();
            if !r.matches(&labels) {
                return None;
            }
        } else {
            pair.pods.requirements.push(with_key(key));
        }
    }
    Some(pair)
}

const EGRESS_FIELDS: &[&str] = &[
    "toEndpoints",
    "toRequires",
    "toCIDR",
    "toCIDRSet",
    "toEntities",
    "toServices",
    "toGroups",
    "toNodes",
    "toPorts",
    "icmps",
];
/// Fields only `egress` rules have; `egressDeny` rules lack them.
const ALLOW_ONLY_FIELDS: &[&str] = &["toFQDNs", "authentication"];
/// The L3 peers, of which a rule may use one kind (`EgressCommonRule.Validate`).
const L3_FIELDS: &[&str] = &[
    "toCIDR",
    "toCIDRSet",
    "toEndpoints",
    "toEntities",
    "toServices",
    "toFQDNs",
    "toGroups",
    "toNodes",
];

/// Where a rule's peers lead, gathered field by field.
struct Peers {
    addresses: IpSet,
    hostnames: Vec<HostnameMatch>,
    cidr_groups: Vec<LabelSelector>,
    services: Vec<ServiceRef>,
    via: Vec<String>,
    unknowable: Option<String>,
}

fn decode_egress_rule(
    node: &Node,
    action: Action,
    name: RuleName,
    d: &mut Decoder,
) -> Option<PolicyRule> {
    // A null item is refused like any non-object: the CRD wants objects.
    let entries = expect_map(node, d)?;
    let mut peers = Peers {
        addresses: IpSet::empty(),
        hostnames: Vec::new(),
        cidr_groups: Vec::new(),
        services: Vec::new(),
        via: Vec::new(),
        unknowable: None,
    };
    let mut l3_used: Vec<&str> = Vec::new();
    let (mut empty_endpoints, mut requires) = (false, false);
    let (mut to_ports, mut icmps) = (None, None);
    for (key, value) in entries {
        let name = key.key_text().unwrap_or_default();
        let known = EGRESS_FIELDS.contains(&name)
            || (action == Action::Allow && ALLOW_ONLY_FIELDS.contains(&name));
        if !known {
            d.unknown_field(key);
            continue;
        }
        if value.is_null() {
            continue;
        }
        if name == "authentication" {
            expect_map(value, d);
            continue;
        }
        let Some(items) = expect_seq(value, d) else {
            continue;
        };
        if L3_FIELDS.contains(&name) && !items.is_empty() {
            l3_used.push(name);
        }
        match name {
            "toPorts" => to_ports = Some(items),
            "icmps" => icmps = Some(items),
            "toEndpoints" if items.is_empty() => empty_endpoints = true,
            "toRequires" if !items.is_empty() => {
                requires = true;
                decode_peers(name, items, &mut peers, d);
            }
            _ => decode_peers(name, items, &mut peers, d),
        }
    }
    let to_ports = to_ports.filter(|p| !p.is_empty());
    let icmps = icmps.filter(|i| !i.is_empty());
    check_combinations(node, &l3_used, to_ports.is_some() && icmps.is_some(), d);
    if l3_used.is_empty() {
        let has_l4 = to_ports.is_some() || icmps.is_some();
        without_l3_peer(empty_endpoints, requires, has_l4, &mut peers);
    }
    let ports = rule_ports(icmps, to_ports, action, &mut peers.via, d);
    Some(PolicyRule {
        action,
        name,
        number: None,
        span: node.span,
        destinations: RuleDestinations {
            addresses: peers.addresses,
            hostnames: peers.hostnames,
            labelled: Vec::new(),
            labelled_in_own_namespace: false,
            labelled_within: None,
            cidr_groups: peers.cidr_groups,
            services: peers.services,
        },
        ports,
        senders: None,
        unknowable: peers.unknowable,
        via: Via::Described(peers.via.join(", ")),
    })
}

/// Cilium refuses a rule with two kinds of L3 peer, or with both `toPorts` and `icmps`.
fn check_combinations(node: &Node, l3_used: &[&str], ports_and_icmps: bool, d: &mut Decoder) {
    if let [first, second, ..] = l3_used[..] {
        d.invalid(
            node,
            format!("combining {first} and {second} in one rule is not supported by Cilium"),
        );
    }
    if ports_and_icmps {
        d.invalid(
            node,
            "icmps may only be present without toPorts: define a separate rule".into(),
        );
    }
}

/// What a rule without an L3 peer reaches.
fn without_l3_peer(empty_endpoints: bool, requires: bool, has_l4: bool, peers: &mut Peers) {
    if empty_endpoints {
        peers.via.push("toEndpoints [] (selects nothing)".into());
    } else if requires {
        // `AllowsWildcarding` is false with toRequires: it grants nothing by itself.
    } else if has_l4 {
        // "nil ToEndpoints is implicitly treated as a wildcard selector if ToPorts are
        // also specified" (CRD field doc); the L4 docs say "to any layer 3 destination".
        peers.addresses = IpSet::all();
        peers.via.push("no L3 peer (every destination)".into());
    } else {
        peers.via.push("empty rule (matches nothing)".into());
    }
}

/// The ports a rule's `icmps` and `toPorts` match, saying how in `via`.
fn rule_ports(
    icmps: Option<&[Node]>,
    to_ports: Option<&[Node]>,
    action: Action,
    via: &mut Vec<String>,
    d: &mut Decoder,
) -> PortSet {
    let mut ports = PortSet::all();
    if let Some(items) = icmps {
        for item in items {
            decode_icmp_rule(item, d);
        }
        ports = PortSet::empty();
        via.push("icmps (ICMP only, no TCP/UDP/SCTP port)".into());
    }
    if let Some(items) = to_ports {
        let mut l7 = false;
        ports = PortSet::empty();
        for item in items {
            let (set, has_l7) = decode_port_rule(item, action, d);
            ports = ports.union(&set);
            l7 |= has_l7;
        }
        if l7 {
            via.push("L7 rules on toPorts (the connection itself is allowed)".into());
        }
    }
    ports
}

/// One L3 field of an egress rule.
fn decode_peers(name: &str, items: &[Node], peers: &mut Peers, d: &mut Decoder) {
    match name {
        "toCIDR" => {
            let nets: Vec<IpNet> = items.iter().filter_map(|i| expect_cidr(i, d)).collect();
            for net in &nets {
                peers.addresses = peers.addresses.union(&IpSet::from_net(net));
            }
            let shown: Vec<String> = nets.iter().map(ToString::to_string).collect();
            peers.via.push(format!("toCIDR {}", shown.join(", ")));
        }
        "toCIDRSet" => {
            for item in items {
                decode_cidr_rule(item, peers, d);
            }
        }
        "toEntities" => {
            for item in items {
                let Some(entity) = expect_string(item, d) else {
                    continue;
                };
                match entity_addresses(&entity) {
                    Some(addresses) => {
                        peers.addresses = peers.addresses.union(&addresses);
                        peers.via.push(format!("toEntities {entity}"));
                    }
                    None => d.invalid(item, format!("unsupported entity {entity:?}")),
                }
            }
        }
        "toFQDNs" => {
            for item in items {
                decode_fqdn(item, peers, d);
            }
        }
        "toEndpoints" | "toRequires" | "toNodes" => {
            let mut in_cluster = false;
            for item in items {
                let selector = decode_selector_with(Some(item), d, false);
                match reserved_entity(&selector).filter(|_| name == "toEndpoints") {
                    // A selector on a reserved label selects that entity's identity.
                    Some(Some(entity)) => {
                        let addresses = entity_addresses(&entity).unwrap_or_default();
                        peers.addresses = peers.addresses.union(&addresses);
                        peers.via.push(format!("{name} reserved:{entity}"));
                    }
                    // Reserved and other labels together: no identity has both.
                    Some(None) => {}
                    None => in_cluster = true,
                }
            }
            if in_cluster {
                peers
                    .via
                    .push(format!("{name} (in-cluster, no metadata address)"));
            }
        }
        "toServices" => {
            for item in items {
                if let Some(service) = decode_service(item, d) {
                    let shown = match &service.name {
                        ServiceName::Name(n) => n.clone(),
                        ServiceName::Labels(_) => "by labels".into(),
                    };
                    let shown = match &service.namespace {
                        Some(ns) => format!("{ns}/{shown}"),
                        None => shown,
                    };
                    peers.via.push(format!("toServices {shown}"));
                    peers.services.push(service);
                }
            }
        }
        "toGroups" => {
            for item in items {
                expect_map(item, d);
            }
            peers.unknowable = Some("toGroups: cloud security groups resolve at run time".into());
            peers.via.push("toGroups".into());
        }
        _ => {}
    }
}

/// A `toServices` entry: `k8sService` (`serviceName`, `namespace`) or `k8sServiceSelector`
/// (`selector`, `namespace`). A Service with a selector sends to pods; one without, to the
/// addresses of its endpoints (Cilium turns them into CIDRs).
fn decode_service(node: &Node, d: &mut Decoder) -> Option<ServiceRef> {
    let entries = expect_map(node, d)?;
    let mut found = None;
    for (key, value) in entries {
        let namespace = |d: &mut Decoder| {
            value
                .get("namespace")
                .and_then(|n| expect_string(n, d))
                .filter(|n| !n.is_empty())
        };
        match key.key_text().unwrap_or_default() {
            "k8sService" => {
                let name = value.get("serviceName").and_then(|n| expect_string(n, d));
                let namespace = namespace(d);
                found = name.map(|name| ServiceRef {
                    namespace,
                    name: ServiceName::Name(name),
                    ports_from_endpoints: false,
                });
            }
            "k8sServiceSelector" => {
                let selector = decode_selector_with(value.get("selector"), d, false);
                found = Some(ServiceRef {
                    namespace: namespace(d),
                    name: ServiceName::Labels(selector),
                    ports_from_endpoints: false,
                });
            }
            _ => {}
        }
    }
    found
}

/// The entity an endpoint selector on reserved labels (`reserved:world`) selects: `None` for
/// a selector on no reserved label, `Some(None)` for one no identity matches (two reserved
/// labels, or a reserved label and another).
fn reserved_entity(selector: &LabelSelector) -> Option<Option<String>> {
    let positive = |r: &&Requirement| matches!(r.operator, Operator::In | Operator::Exists);
    let reserved = |r: &Requirement| {
        let key = r.key.strip_prefix("any:").unwrap_or(&r.key);
        key.strip_prefix("reserved:").map(str::to_string)
    };
    let requirements = &selector.requirements;
    let entities: BTreeSet<String> = requirements
        .iter()
        .filter(positive)
        .filter_map(reserved)
        .collect();
    if entities.is_empty() {
        return None;
    }
    let others = requirements
        .iter()
        .filter(positive)
        .any(|r| reserved(r).is_none());
    if others || entities.len() > 1 {
        return Some(None);
    }
    Some(entities.into_iter().next())
}

/// `world` is every address outside the cluster ("identical to allowing to CIDR 0.0.0.0/0");
/// the other entities are in-cluster identities. `None` for an unknown entity.
fn entity_addresses(entity: &str) -> Option<IpSet> {
    let family = |cidr: &str| {
        cidr.parse::<IpNet>()
            .map(|n| IpSet::from_net(&n))
            .unwrap_or_default()
    };
    match entity {
        "world" | "all" => Some(IpSet::all()),
        "world-ipv4" => Some(family("0.0.0.0/0")),
        "world-ipv6" => Some(family("::/0")),
        "cluster" | "host" | "remote-node" | "kube-apiserver" | "health" | "init" | "ingress"
        | "unmanaged" | "none" => Some(IpSet::empty()),
        _ => None,
    }
}

/// One `toCIDRSet` entry: `cidr` with `except`, or a CiliumCIDRGroup reference.
fn decode_cidr_rule(node: &Node, peers: &mut Peers, d: &mut Decoder) {
    let Some(entries) = expect_map(node, d) else {
        return;
    };
    let (mut cidr, mut excepts, mut group) = (None, Vec::new(), Vec::new());
    for (key, value) in entries {
        match key.key_text().unwrap_or_default() {
            "cidr" => cidr = Some(value),
            "except" => excepts.extend(optional_seq(Some(value), d).unwrap_or_default()),
            "cidrGroupRef" => {
                if let Some(name) = expect_string(value, d) {
                    group.push((
                        format!("cidrGroupRef {name}"),
                        LabelSelector {
                            requirements: vec![Requirement {
                                key: CIDR_GROUP_NAME.into(),
                                operator: Operator::In,
                                values: vec![name],
                            }],
                        },
                    ));
                }
            }
            "cidrGroupSelector" => group.push((
                "cidrGroupSelector".into(),
                decode_selector_with(Some(value), d, false),
            )),
            _ => d.unknown_field(key),
        }
    }
    if usize::from(cidr.is_some()) + group.len() != 1 {
        d.invalid(
            node,
            "a toCIDRSet entry needs exactly one of cidr, cidrGroupRef or cidrGroupSelector".into(),
        );
        return;
    }
    if let Some((via, selector)) = group.pop() {
        peers.cidr_groups.push(selector);
        peers.via.push(format!("toCIDRSet {via}"));
        return;
    }
    let Some(cidr) = cidr.and_then(|c| expect_cidr(c, d)) else {
        return;
    };
    let mut except = Vec::new();
    for e in excepts {
        let Some(net) = expect_cidr(e, d) else {
            continue;
        };
        // `CIDRRule.Validate`: the allowed prefix must contain each exception's address.
        if !cidr.contains(&net.network()) {
            d.invalid(e, format!("except {net} is not inside cidr {cidr}"));
            continue;
        }
        except.push(net);
    }
    peers.addresses = peers.addresses.union(&IpSet::from_block(&cidr, &except));
    let mut via = format!("toCIDRSet {cidr}");
    if !except.is_empty() {
        let shown: Vec<String> = except.iter().map(ToString::to_string).collect();
        via.push_str(&format!(" except {}", shown.join(", ")));
    }
    peers.via.push(via);
}

/// One `toFQDNs` entry: exactly one of `matchName` and `matchPattern`. Names are kept
/// lowercase without the trailing dot Cilium adds.
fn decode_fqdn(node: &Node, peers: &mut Peers, d: &mut Decoder) {
    let Some(entries) = expect_map(node, d) else {
        return;
    };
    let mut found = Vec::new();
    for (key, value) in entries {
        let name = key.key_text().unwrap_or_default();
        let pattern = match name {
            "matchName" => false,
            "matchPattern" => true,
            _ => {
                d.unknown_field(key);
                continue;
            }
        };
        let Some(text) = expect_string(value, d) else {
            continue;
        };
        let allowed = |b: u8| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') || (pattern && b == b'*')
        };
        if text.is_empty()
            || text.len() > 255
            || !text.bytes().all(allowed)
            || text.contains("..")
            || text.starts_with('.')
        {
            d.invalid(
                value,
                format!(
                    "{name} {text:?} is not a valid DNS name{}",
                    if pattern { " pattern" } else { "" }
                ),
            );
            continue;
        }
        let normal = text.trim_end_matches('.').to_ascii_lowercase();
        peers.via.push(format!("toFQDNs {name} {normal}"));
        found.push(if pattern {
            HostnameMatch::Pattern(normal)
        } else {
            HostnameMatch::Name(normal)
        });
    }
    if found.len() != 1 {
        d.invalid(
            node,
            "a toFQDNs entry needs exactly one of matchName and matchPattern".into(),
        );
    }
    peers.hostnames.extend(found);
}

/// One `icmps` entry, validated only: ICMP never reaches a TCP/UDP/SCTP port.
fn decode_icmp_rule(node: &Node, d: &mut Decoder) {
    for (key, value) in expect_map(node, d).unwrap_or_default() {
        if key.key_text() != Some("fields") {
            d.unknown_field(key);
            continue;
        }
        let fields = optional_seq(Some(value), d).unwrap_or_default();
        if fields.len() > 40 {
            d.invalid(value, "too many ICMP fields, the max is 40".into());
        }
        for field in fields {
            for (k, v) in expect_map(field, d).unwrap_or_default() {
                match k.key_text().unwrap_or_default() {
                    "family" => {
                        if let Some(f) = expect_string(v, d).filter(|f| f != "IPv4" && f != "IPv6")
                        {
                            d.invalid(v, format!("ICMP family {f:?} is not IPv4 or IPv6"));
                        }
                    }
                    "type" => {}
                    _ => d.unknown_field(k),
                }
            }
        }
    }
}

/// `PortRule` fields beyond `ports`; only allow rules have them.
const PORT_RULE_L7_FIELDS: &[&str] = &[
    "rules",
    "serverNames",
    "listener",
    "terminatingTLS",
    "originatingTLS",
];

/// One `toPorts` entry: the ports it names, and whether it adds L7 rules.
fn decode_port_rule(node: &Node, action: Action, d: &mut Decoder) -> (PortSet, bool) {
    let Some(entries) = expect_map(node, d) else {
        return (PortSet::empty(), false);
    };
    let (mut ports, mut l7) = (PortSet::empty(), false);
    for (key, value) in entries {
        let name = key.key_text().unwrap_or_default();
        if name == "ports" {
            let items = optional_seq(Some(value), d).unwrap_or_default();
            if items.len() > 40 {
                d.invalid(value, "too many ports, the max is 40".into());
            }
            for item in items {
                ports = ports.union(&decode_port(item, d));
            }
        } else if action == Action::Allow && PORT_RULE_L7_FIELDS.contains(&name) {
            l7 |= !value.is_null();
        } else {
            d.unknown_field(key);
        }
    }
    (ports, l7)
}

/// One `ports` entry: `port` is a string (`"80"`, `"0"` for every port, or a name),
/// `endPort` a number, `protocol` TCP, UDP, SCTP, VRRP, IGMP or ANY (the default).
fn decode_port(node: &Node, d: &mut Decoder) -> PortSet {
    let Some(entries) = expect_map(node, d) else {
        return PortSet::empty();
    };
    let (mut port, mut end_port, mut protocols) = (None, None, Protocol::ALL.to_vec());
    for (key, value) in entries {
        match key.key_text().unwrap_or_default() {
            "port" => port = Some(value),
            "endPort" => end_port = Some(value),
            "protocol" => {
                let text = if value.is_null() {
                    String::new()
                } else {
                    expect_string(value, d).unwrap_or_default()
                };
                protocols = match text.as_str() {
                    "" | "ANY" => Protocol::ALL.to_vec(),
                    "VRRP" | "IGMP" => Vec::new(),
                    other => match Protocol::parse(other) {
                        Some(p) => vec![p],
                        None => {
                            d.invalid(
                                value,
                                format!(
                                    "protocol {other:?} is not TCP, UDP, SCTP, VRRP, IGMP or ANY"
                                ),
                            );
                            Vec::new()
                        }
                    },
                };
            }
            _ => d.unknown_field(key),
        }
    }
    let Some(port) = port.filter(|p| !p.is_null()) else {
        d.invalid(node, "port must be specified".into());
        return PortSet::empty();
    };
    let Some(text) = expect_string(port, d) else {
        return PortSet::empty();
    };
    let end = match end_port.filter(|e| !e.is_null()).map(|e| (e, e.scalar())) {
        None => None,
        Some((_, Some(Scalar::Int(v)))) if (0..=65535).contains(&v) => Some(v as u16),
        Some((e, _)) => {
            d.invalid(e, "endPort must be a number from 0 to 65535".into());
            return PortSet::empty();
        }
    };
    let (lo, hi) = if text.bytes().all(|b| b.is_ascii_digit()) && !text.is_empty() {
        match text.parse::<u16>() {
            // Port 0 is every port of the protocol.
            Ok(0) => (0, u16::MAX),
            Ok(lo) => (lo, end.filter(|&e| e > lo).unwrap_or(lo)),
            Err(_) => {
                d.invalid(port, format!("port {text:?} is outside 0-65535"));
                return PortSet::empty();
            }
        }
    } else {
        if !is_port_name(&text) {
            d.invalid(
                port,
                format!("{text:?} is neither a port number nor a port name"),
            );
        }
        // A named port is a container port of the destination pod; a metadata endpoint is
        // not a pod.
        return PortSet::empty();
    };
    protocols.into_iter().fold(PortSet::empty(), |acc, p| {
        acc.union(&PortSet::range(p, lo, hi))
    })
}

/// A port name as Cilium's CRD accepts it: letters, digits and single dashes, with a letter.
fn is_port_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && s.bytes().any(|b| b.is_ascii_alphabetic())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// Decodes a CiliumCIDRGroup: its labels, with its name under [`CIDR_GROUP_NAME`], and
/// `externalCIDRs`.
pub fn decode_cidr_group(root: &Node) -> NetworkSetSpec {
    let mut d = Decoder::default();
    let metadata = root.get("metadata");
    let mut labels = super::string_map(metadata.and_then(|m| m.get("labels")));
    if let Some(name) = metadata.and_then(|m| m.get("name")).and_then(Node::as_str) {
        labels.insert(CIDR_GROUP_NAME.into(), name.to_string());
    }
    let nets = optional_seq(
        root.get("spec").and_then(|s| s.get("externalCIDRs")),
        &mut d,
    )
    .unwrap_or_default()
    .iter()
    .filter_map(|c| expect_cidr(c, &mut d))
    .fold(IpSet::empty(), |acc, net| acc.union(&IpSet::from_net(&net)));
    NetworkSetSpec { labels, nets }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::labels::Labels;
    use crate::decode::spec::{DEFAULT_TIER, Layer, NATIVE_ORDER};
    use crate::decode::toolkit::ProblemKind;
    use crate::net::Target;
    use crate::source::yaml::parse_documents;

    fn object(kind: &str, body: &str) -> DecodedPolicy {
        let text = format!(
            "apiVersion: cilium.io/v2\nkind: {kind}\nmetadata:\n  name: p\n  namespace: web\n{body}"
        );
        let doc = parse_documents(&text, 0).unwrap().remove(0);
        decode(&doc, kind == "CiliumClusterwideNetworkPolicy")
    }

    /// A CiliumNetworkPolicy with this `spec` body (indented for you).
    fn cnp(spec: &str) -> DecodedPolicy {
        object("CiliumNetworkPolicy", &indent_spec(spec))
    }

    fn ccnp(spec: &str) -> DecodedPolicy {
        object("CiliumClusterwideNetworkPolicy", &indent_spec(spec))
    }

    fn indent_spec(spec: &str) -> String {
        let body: String = spec.lines().map(|l| format!("  {l}\n")).collect();
        format!("spec:\n{body}")
    }

    fn messages(p: &DecodedPolicy) -> Vec<&str> {
        p.problems.iter().map(|p| p.message.as_str()).collect()
    }

    fn imds() -> Target {
        Target::defaults()[0]
    }

    fn imds6() -> Target {
        Target::defaults()[1]
    }

    /// Whether a rule matches a target by address and port.
    fn reaches(rule: &PolicyRule, t: &Target) -> bool {
        rule.destinations.addresses.contains(t.addr) && rule.ports.contains(t.protocol, t.port)
    }

    fn only_spec(p: &DecodedPolicy) -> &PolicySpec {
        assert!(!p.rejected, "{:?}", messages(p));
        assert_eq!(p.specs.len(), 1, "{:?}", p.not_evaluated);
        &p.specs[0]
    }

    #[test]
    fn to_entities_world_reaches_metadata_and_isolates() {
        let p = cnp("endpointSelector: {}\negress:\n- toEntities: [world]\n");
        let spec = only_spec(&p);
        assert_eq!(spec.engine, Engine::Cilium);
        assert_eq!(
            spec.placement,
            Placement {
                layer: Layer::NetworkPolicy,
                tier: DEFAULT_TIER.into(),
                order: Some(NATIVE_ORDER),
            }
        );
        assert!(!spec.ordered && spec.governs_egress && spec.isolates);
        assert!(spec.selects.own_namespace_only);
        let rule = &spec.rules[0];
        assert_eq!(rule.action, Action::Allow);
        assert_eq!(rule.name.to_string(), "egress rule 1");
        assert_eq!(rule.via, Via::Described("toEntities world".into()));
        assert_eq!(rule.span.start.line, 9);
        assert!(reaches(rule, &imds()) && reaches(rule, &imds6()));
        assert!(p.problems.is_empty(), "{:?}", messages(&p));
    }

    #[test]
    fn in_cluster_entities_and_world_families() {
        for entity in [
            "cluster",
            "host",
            "remote-node",
            "kube-apiserver",
            "health",
            "init",
            "ingress",
            "unmanaged",
            "none",
        ] {
            let p = cnp(&format!(
                "endpointSelector: {{}}\negress:\n- toEntities: [{entity}]\n"
            ));
            assert!(
                !reaches(&only_spec(&p).rules[0], &imds()),
                "{entity} reaches no external address"
            );
        }
        let v4 = cnp("endpointSelector: {}\negress:\n- toEntities: [world-ipv4]\n");
        let rule = &only_spec(&v4).rules[0];
        assert!(reaches(rule, &imds()) && !reaches(rule, &imds6()));
        let v6 = cnp("endpointSelector: {}\negress:\n- toEntities: [world-ipv6]\n");
        let rule = &only_spec(&v6).rules[0];
        assert!(!reaches(rule, &imds()) && reaches(rule, &imds6()));
        let all = cnp("endpointSelector: {}\negress:\n- toEntities: [all]\n");
        assert!(reaches(&only_spec(&all).rules[0], &imds()));
        let bad = cnp("endpointSelector: {}\negress:\n- toEntities: [internet]\n");
        assert!(bad.rejected);
        assert!(messages(&bad)[0].contains("unsupported entity"));
    }

    #[test]
    fn egress_deny_only_isolates_and_denies() {
        let p = cnp("endpointSelector: {}\negressDeny:\n- toCIDR: [169.254.169.254/32]\n");
        let spec = only_spec(&p);
        assert!(spec.governs_egress && spec.isolates);
        let rule = &spec.rules[0];
        assert_eq!(rule.action, Action::Deny);
        assert_eq!(rule.name.to_string(), "egressDeny rule 1");
        assert_eq!(rule.via, Via::Described("toCIDR 169.254.169.254/32".into()));
        assert!(reaches(rule, &imds()) && !reaches(rule, &imds6()));
    }

    #[test]
    fn enable_default_deny_false_isolates_nothing_but_keeps_rules() {
        let p = ccnp(
            "endpointSelector: {}\nenableDefaultDeny:\n  egress: false\negressDeny:\n- toCIDR: [169.254.169.254/32]\n",
        );
        let spec = only_spec(&p);
        assert!(spec.governs_egress && !spec.isolates);
        assert!(!spec.selects.own_namespace_only);
        assert_eq!(spec.rules.len(), 1);
        let p = cnp(
            "endpointSelector: {}\nenableDefaultDeny: {ingress: false}\negress:\n- toEntities: [world]\n",
        );
        assert!(only_spec(&p).isolates, "only the egress flag counts");
        let p = cnp("endpointSelector: {}\nenableDefaultDeny: {egress: nope}\negress:\n- {}\n");
        assert!(p.rejected);
    }

    #[test]
    fn empty_sections_and_empty_rules() {
        // `egress: []` is no egress section: the rule governs nothing there.
        let p = cnp("endpointSelector: {}\ningress:\n- {}\negress: []\n");
        assert!(!only_spec(&p).governs_egress);
        // No non-empty section at all: Cilium refuses the rule.
        let p = cnp("endpointSelector: {}\negress:\n");
        assert!(p.rejected);
        assert!(messages(&p)[0].contains("needs a non-empty"));
        // `egress: [{}]` isolates and its rule matches nothing.
        assert!(
            cnp("endpointSelector: {}\negress:\n-\n").rejected,
            "a null rule"
        );
        let p = cnp("endpointSelector: {}\negress:\n- {}\n");
        let spec = only_spec(&p);
        assert!(spec.governs_egress && spec.isolates);
        assert!(spec.rules[0].destinations.addresses.is_empty());
        assert_eq!(
            spec.rules[0].via,
            Via::Described("empty rule (matches nothing)".into())
        );
    }

    #[test]
    fn to_ports_without_l3_reaches_every_destination_on_any_protocol() {
        let p = cnp("endpointSelector: {}\negress:\n- toPorts:\n  - ports:\n    - port: \"80\"\n");
        let rule = &only_spec(&p).rules[0];
        assert!(reaches(rule, &imds()) && reaches(rule, &imds6()));
        assert_eq!(
            rule.via,
            Via::Described("no L3 peer (every destination)".into())
        );
        // An omitted protocol is ANY: TCP, UDP and SCTP.
        assert_eq!(rule.ports.describe(), "TCP 80; UDP 80; SCTP 80");
        let tcp443 = cnp(
            "endpointSelector: {}\negress:\n- toPorts:\n  - ports:\n    - {port: \"443\", protocol: TCP}\n",
        );
        assert!(!reaches(&only_spec(&tcp443).rules[0], &imds()));
    }

    #[test]
    fn port_forms() {
        let ports = |entry: &str| {
            let p = cnp(&format!(
                "endpointSelector: {{}}\negress:\n- toPorts:\n  - ports:\n    - {entry}\n"
            ));
            (
                p.rejected,
                p.specs.first().map(|s| s.rules[0].ports.describe()),
            )
        };
        assert_eq!(
            ports("{port: \"0\", protocol: TCP}"),
            (false, Some("all TCP".into()))
        );
        assert_eq!(
            ports("{port: \"1\", endPort: 1024, protocol: UDP}"),
            (false, Some("UDP 1-1024".into()))
        );
        assert_eq!(
            ports("{port: http, protocol: TCP}"),
            (false, Some("no port".into())),
            "a named port never matches a metadata endpoint"
        );
        assert_eq!(
            ports("{port: \"80\", protocol: VRRP}"),
            (false, Some("no port".into()))
        );
        assert!(ports("{port: 80, protocol: TCP}").0, "port is a string");
        assert!(ports("{port: \"80\", protocol: tcp}").0, "protocol enum");
        assert!(ports("{port: \"70000\"}").0);
        assert!(ports("{protocol: TCP}").0, "port is required");
    }

    #[test]
    fn icmps_reach_no_port_and_exclude_to_ports() {
        let p = cnp(
            "endpointSelector: {}\negress:\n- icmps:\n  - fields:\n    - {type: 8, family: IPv4}\n",
        );
        let rule = &only_spec(&p).rules[0];
        assert!(rule.ports.is_empty());
        assert!(matches!(&rule.via, Via::Described(how) if how.contains("icmps")));
        let both = cnp(
            "endpointSelector: {}\negress:\n- icmps:\n  - fields: [{type: 8}]\n  toPorts:\n  - ports: [{port: \"80\"}]\n",
        );
        assert!(both.rejected);
    }

    #[test]
    fn l7_rules_still_let_the_connection_through() {
        let p = cnp(
            "endpointSelector: {}\negress:\n- toCIDR: [169.254.169.254/32]\n  toPorts:\n  - ports: [{port: \"80\", protocol: TCP}]\n    rules:\n      http: [{method: GET}]\n",
        );
        let rule = &only_spec(&p).rules[0];
        assert!(reaches(rule, &imds()));
        assert!(
            matches!(&rule.via, Via::Described(how) if how.contains("L7 rules")),
            "{:?}",
            rule.via
        );
        let deny = cnp(
            "endpointSelector: {}\negressDeny:\n- toPorts:\n  - ports: [{port: \"80\"}]\n    rules: {}\n",
        );
        assert_eq!(deny.problems[0].kind, ProblemKind::UnknownField);
    }

    #[test]
    fn cidr_sets_with_except_and_groups() {
        let p = cnp(
            "endpointSelector: {}\negress:\n- toCIDRSet:\n  - cidr: 0.0.0.0/0\n    except: [169.254.169.254/32]\n",
        );
        let rule = &only_spec(&p).rules[0];
        assert!(!reaches(rule, &imds()));
        assert!(
            rule.destinations
                .addresses
                .contains("8.8.8.8".parse().unwrap())
        );
        assert_eq!(
            rule.via,
            Via::Described("toCIDRSet 0.0.0.0/0 except 169.254.169.254/32".into())
        );
        let group =
            cnp("endpointSelector: {}\negress:\n- toCIDRSet:\n  - cidrGroupRef: metadata\n");
        let rule = &only_spec(&group).rules[0];
        assert!(
            rule.unknowable.is_none(),
            "groups are resolved where the policy lands"
        );
        let named = |name: &str| Labels::from([(CIDR_GROUP_NAME.to_string(), name.to_string())]);
        assert!(rule.destinations.cidr_groups[0].matches(&named("metadata")));
        assert!(!rule.destinations.cidr_groups[0].matches(&named("other")));
        assert_eq!(
            rule.via,
            Via::Described("toCIDRSet cidrGroupRef metadata".into())
        );
        let outside = cnp(
            "endpointSelector: {}\negress:\n- toCIDRSet:\n  - cidr: 10.0.0.0/8\n    except: [192.168.0.0/16]\n",
        );
        assert!(outside.rejected);
        let bad = cnp("endpointSelector: {}\negress:\n- toCIDR: [169.254.169.254]\n");
        assert!(bad.rejected, "toCIDR entries are CIDRs");
        let both = cnp(
            "endpointSelector: {}\negress:\n- toCIDRSet:\n  - {cidr: 10.0.0.0/8, cidrGroupRef: x}\n",
        );
        assert!(both.rejected);
    }

    #[test]
    fn to_services_name_services_by_name_or_labels() {
        let p = cnp(
            "endpointSelector: {}\negress:\n- toServices:\n  - k8sService: {serviceName: a, namespace: ns}\n  - k8sServiceSelector: {selector: {matchLabels: {x: z}}}\n",
        );
        let rule = &only_spec(&p).rules[0];
        let services = &rule.destinations.services;
        assert_eq!(services.len(), 2);
        assert_eq!(services[0].namespace.as_deref(), Some("ns"));
        assert_eq!(services[0].name, ServiceName::Name("a".into()));
        assert!(matches!(&services[1].name, ServiceName::Labels(s) if s.requirements.len() == 1));
        assert!(rule.destinations.addresses.is_empty());
        assert!(!services[0].ports_from_endpoints);
    }

    #[test]
    fn endpoint_selectors_on_reserved_labels_are_entities() {
        let addresses = |selector: &str| {
            let p = cnp(&format!(
                "endpointSelector: {{}}\negress:\n- toEndpoints: [{selector}]\n"
            ));
            only_spec(&p).rules[0].destinations.addresses.clone()
        };
        assert_eq!(
            addresses("{matchLabels: {'reserved:world': ''}}"),
            IpSet::all()
        );
        let exists = "{matchExpressions: [{key: 'reserved:world-ipv4', operator: Exists}]}";
        let v4 = addresses(exists);
        assert!(v4.contains("169.254.169.254".parse().unwrap()));
        assert!(!v4.contains("fd00:ec2::254".parse().unwrap()));
        assert!(addresses("{matchLabels: {'reserved:host': ''}}").is_empty());
        // No identity has both a reserved label and another.
        assert!(addresses("{matchLabels: {'reserved:world': '', app: x}}").is_empty());
        assert!(addresses("{matchLabels: {app: x}}").is_empty());
    }

    #[test]
    fn to_groups_are_unknowable() {
        let p = cnp(
            "endpointSelector: {}\negress:\n- toGroups:\n  - aws:\n      securityGroupsIds: [sg-1]\n",
        );
        assert!(only_spec(&p).rules[0].unknowable.is_some());
    }

    #[test]
    fn in_cluster_peers_reach_no_address() {
        for peer in [
            "toEndpoints: [{}]",
            "toNodes: [{}]",
            "toServices: [{k8sService: {serviceName: x, namespace: ns}}]",
        ] {
            let p = cnp(&format!(
                "endpointSelector: {{}}\negress:\n- {peer}\n  toPorts:\n  - ports: [{{port: \"80\"}}]\n"
            ));
            let rule = &only_spec(&p).rules[0];
            assert!(rule.destinations.addresses.is_empty(), "{peer}");
            assert!(!rule.ports.is_empty());
        }
        let requires = cnp(
            "endpointSelector: {}\negress:\n- toRequires: [{}]\n  toPorts:\n  - ports: [{port: \"80\"}]\n",
        );
        assert!(
            only_spec(&requires).rules[0]
                .destinations
                .addresses
                .is_empty(),
            "toRequires grants nothing by itself"
        );
        let none = cnp(
            "endpointSelector: {}\negress:\n- toEndpoints: []\n  toPorts:\n  - ports: [{port: \"80\"}]\n",
        );
        assert!(
            only_spec(&none).rules[0].destinations.addresses.is_empty(),
            "an empty toEndpoints selects nothing"
        );
        let mixed =
            cnp("endpointSelector: {}\negress:\n- toEndpoints: [{}]\n  toCIDR: [10.0.0.0/8]\n");
        assert!(mixed.rejected);
        assert!(messages(&mixed)[0].contains("combining"));
    }

    #[test]
    fn fqdns_become_hostnames() {
        let p = cnp(
            "endpointSelector: {}\negress:\n- toFQDNs:\n  - matchName: Metadata.Google.Internal.\n  - matchPattern: \"*.internal\"\n",
        );
        let rule = &only_spec(&p).rules[0];
        assert_eq!(
            rule.destinations.hostnames,
            [
                HostnameMatch::Name("metadata.google.internal".into()),
                HostnameMatch::Pattern("*.internal".into())
            ]
        );
        assert!(rule.destinations.addresses.is_empty());
        let both = cnp(
            "endpointSelector: {}\negress:\n- toFQDNs:\n  - {matchName: a.b, matchPattern: c}\n",
        );
        assert!(both.rejected);
        let deny = cnp("endpointSelector: {}\negressDeny:\n- toFQDNs:\n  - matchName: a.b\n");
        assert_eq!(deny.problems[0].kind, ProblemKind::UnknownField);
    }

    #[test]
    fn specs_give_one_engine_spec_each() {
        let p = object(
            "CiliumNetworkPolicy",
            "specs:\n- endpointSelector: {matchLabels: {app: a}}\n  egress:\n  - toEntities: [world]\n- endpointSelector: {matchLabels: {app: b}}\n  egressDeny:\n  - toEntities: [world]\n  enableDefaultDeny: {egress: false}\n",
        );
        assert_eq!(p.specs.len(), 2);
        assert_eq!(
            p.specs[0].rules[0].name.to_string(),
            "specs[0] egress rule 1"
        );
        assert_eq!(
            p.specs[1].rules[0].name.to_string(),
            "specs[1] egressDeny rule 1"
        );
        assert!(p.specs[0].isolates && !p.specs[1].isolates);
        let none = object("CiliumNetworkPolicy", "");
        assert!(none.rejected);
    }

    #[test]
    fn host_policies_are_not_evaluated() {
        let p = ccnp("nodeSelector: {}\negress:\n- toEntities: [world]\n");
        assert!(p.specs.is_empty() && !p.rejected);
        assert!(p.not_evaluated.as_deref().unwrap().contains("host policy"));
        let namespaced = cnp("nodeSelector: {}\negress:\n- toEntities: [world]\n");
        assert!(namespaced.rejected);
        let both = ccnp("nodeSelector: {}\nendpointSelector: {}\negress:\n- {}\n");
        assert!(both.rejected);
        let neither = cnp("egress:\n- {}\n");
        assert!(neither.rejected);
    }

    #[test]
    fn endpoint_selector_keys() {
        let p = ccnp(
            "endpointSelector:\n  matchLabels:\n    k8s:app: web\n    any:tier: front\n    k8s:io.kubernetes.pod.namespace: shop\n    io.cilium.k8s.namespace.labels.team: a\n  matchExpressions:\n  - {key: reserved:host, operator: DoesNotExist}\negress:\n- {}\n",
        );
        let pair = &only_spec(&p).selects.any_of[0];
        let keys = |s: &LabelSelector| -> Vec<String> {
            s.requirements.iter().map(|r| r.key.clone()).collect()
        };
        assert_eq!(keys(&pair.pods), ["app", "tier", "reserved:host"]);
        assert_eq!(
            keys(&pair.namespaces),
            ["kubernetes.io/metadata.name", "team"]
        );
        assert_eq!(pair.namespaces.requirements[0].values, ["shop"]);
        assert_eq!(pair.pods.requirements[2].operator, Operator::DoesNotExist);
        // A reserved label selects no pod.
        let host = ccnp("endpointSelector: {matchLabels: {reserved:host: \"\"}}\negress:\n- {}\n");
        let pods = &only_spec(&host).selects.any_of[0].pods;
        assert!(!pods.matches(&[("host".to_string(), String::new())].into()));
        // A namespaced policy always applies in its own namespace.
        let own = cnp(
            "endpointSelector: {matchLabels: {io.kubernetes.pod.namespace: other}}\negress:\n- {}\n",
        );
        let spec = only_spec(&own);
        assert!(spec.selects.own_namespace_only);
        assert!(spec.selects.any_of[0].namespaces.selects_all());
    }

    #[test]
    fn service_account_and_cluster_selectors() {
        let sa = cnp(
            "endpointSelector: {matchLabels: {io.cilium.k8s.policy.serviceaccount: batch, k8s:app: x}}\negress:\n- {}\n",
        );
        let pods = &only_spec(&sa).selects.any_of[0].pods;
        assert_eq!(pods.requirements[0].key, SERVICE_ACCOUNT_LABEL);
        assert_eq!(pods.requirements[0].values, ["batch"]);
        let pod = |account: &str| -> Labels {
            [
                ("app".to_string(), "x".to_string()),
                (SERVICE_ACCOUNT_LABEL.to_string(), account.to_string()),
            ]
            .into()
        };
        assert!(pods.matches(&pod("batch")) && !pods.matches(&pod("web")));
        let not_in = cnp(
            "endpointSelector:\n  matchExpressions:\n  - {key: k8s:io.cilium.k8s.policy.serviceaccount, operator: NotIn, values: [web]}\negress:\n- {}\n",
        );
        let pods = &only_spec(&not_in).selects.any_of[0].pods;
        assert!(pods.matches(&pod("batch")) && !pods.matches(&pod("web")));
        let exists = |operator: &str| {
            cnp(&format!(
                "endpointSelector:\n  matchExpressions:\n  - {{key: io.cilium.k8s.policy.serviceaccount, operator: {operator}}}\negress:\n- {{}}\n"
            ))
        };
        assert!(
            only_spec(&exists("Exists")).selects.any_of[0]
                .pods
                .selects_all()
        );
        assert!(only_spec(&exists("DoesNotExist")).selects.any_of.is_empty());
        // imds-lint's synthetic key is no pod label: a selector naming it sees it absent.
        let forged =
            cnp("endpointSelector: {matchLabels: {'@serviceaccount': batch}}\negress:\n- {}\n");
        assert!(only_spec(&forged).selects.any_of.is_empty());
        let absent = cnp(
            "endpointSelector:\n  matchExpressions:\n  - {key: '@serviceaccount', operator: DoesNotExist}\negress:\n- {}\n",
        );
        assert!(only_spec(&absent).selects.any_of[0].pods.selects_all());
        let cluster = ccnp(
            "endpointSelector: {matchLabels: {io.cilium.k8s.policy.cluster: default}}\negress:\n- {}\n",
        );
        assert!(only_spec(&cluster).selects.any_of[0].pods.selects_all());
        let other = ccnp(
            "endpointSelector: {matchLabels: {io.cilium.k8s.policy.cluster: east}}\negress:\n- {}\n",
        );
        assert!(only_spec(&other).selects.any_of.is_empty());
    }

    #[test]
    fn unknown_fields_are_reported() {
        let p = cnp("endpointSelector: {}\negres:\n- {}\ningress:\n- {}\n");
        assert_eq!(p.problems[0].kind, ProblemKind::UnknownField);
        assert!(p.problems[0].message.contains("egres"));
        assert!(!p.rejected);
        let p = cnp("endpointSelector: {}\negress:\n- toCIDRs: [0.0.0.0/0]\n");
        assert!(p.problems[0].message.contains("toCIDRs"));
        assert_eq!(p.problems[0].span.start.line, 9);
        let p = object(
            "CiliumNetworkPolicy",
            "spec:\n  endpointSelector: {}\n  egress: [{}]\nstatuss: {}\n",
        );
        assert!(p.problems[0].message.contains("statuss"));
    }

    #[test]
    fn malformed_input_never_panics() {
        for body in [
            "spec: 3\n",
            "spec: []\n",
            "specs: {}\n",
            "specs: [3, null]\n",
            "spec:\n  endpointSelector: []\n  egress: {}\n",
            "spec:\n  endpointSelector: {}\n  egress: [3, [], {toPorts: 3}, {toPorts: [3, {ports: 3}, {ports: [3, {port: []}]}]}]\n",
            "spec:\n  endpointSelector: {}\n  egress: [{toCIDRSet: [3, {except: 3}]}, {toFQDNs: [3, {}]}, {icmps: [3, {fields: 3}]}]\n",
        ] {
            let p = object("CiliumNetworkPolicy", body);
            assert!(p.rejected, "{body}");
        }
    }
}
