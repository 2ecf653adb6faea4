//! The precedence chain: which rule decides a packet from a pod to a target, across
//! AdminNetworkPolicies, the tiers of the NetworkPolicy layer (Calico's, with native and
//! Cilium policies in the default tier) and BaselineAdminNetworkPolicies. Pure.
//!
//! Within a tier, policies run by ascending order, ties broken by name. An ordered policy
//! (Calico, AdminNetworkPolicy) decides with its first matching rule: Allow and Deny end the
//! walk, Pass skips to the next tier, Log goes on. Neighbouring unordered policies of equal
//! order (native, Cilium) act as one: a matching deny anywhere wins, else any matching allow.
//! When no rule of a tier matched and a policy of it isolates the pod, the tier's default
//! action applies (Deny; Pass for the admin tiers and Calico tiers that say so). Past every
//! tier, traffic is allowed.

mod regions;

pub use regions::{Region, RegionBy, Symbolic};

use crate::decode::labels::Labels;
use crate::decode::selector::LabelSelector;
use crate::decode::spec::{
    Action, DEFAULT_TIER, DEFAULT_TIER_ORDER, HostnameMatch, Layer, PolicyRule, SelectorPair,
    ServiceName,
};
use crate::model::{Model, NamespaceKey, PolicyId, RuleRef};
use crate::net::{IpSet, PortSet, Target};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;

/// What decided a packet.
#[derive(Debug, Clone, PartialEq)]
pub enum DecidedBy {
    /// Matching rules: the first of an ordered policy, or every match of a deny-wins group.
    Rules(Vec<RuleRef>),
    /// No rule of the tier matched and these policies of it isolate the pod.
    TierEnd {
        tier: String,
        isolated_by: Vec<PolicyId>,
    },
    /// No tier decided: the default allow.
    DefaultAllow,
}

/// A step of the walk that did not end it.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub rule: RuleRef,
    /// Pass or Log.
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub by: DecidedBy,
    /// Pass and Log rules met before the decision, in order.
    pub steps: Vec<Step>,
}

/// Where a tier sits, and what it does with traffic no rule of it matched.
#[derive(Debug, Clone, PartialEq)]
struct Tier {
    layer: Layer,
    order: Option<f64>,
    name: String,
    default_action: Action,
}

/// A rule as it applies in one namespace.
#[derive(Debug, Clone)]
struct MemberRule<'m> {
    rule: RuleRef,
    action: Action,
    addresses: Cow<'m, IpSet>,
    hostnames: &'m [HostnameMatch],
    ports: &'m PortSet,
    /// Indices into [`Chain::selectors`]; `None`: every pod the policy selects.
    senders: Option<Vec<usize>>,
    unknowable: bool,
}

/// A policy (or one part of it) that applies in one namespace.
#[derive(Debug, Clone)]
struct Member<'m> {
    policy: PolicyId,
    tier: usize,
    order: Option<f64>,
    name: &'m str,
    ordered: bool,
    isolates: bool,
    /// Indices into [`Chain::selectors`]: the pod is selected when any matches.
    pods: Vec<usize>,
    rules: Vec<MemberRule<'m>>,
}

/// Every policy that applies in one namespace, in the order a cluster evaluates them.
#[derive(Debug, Clone)]
pub struct Chain<'m> {
    /// The pod-label selectors the members use; a pod is described by which of them match.
    pub selectors: Vec<&'m LabelSelector>,
    /// Each selector's index in `selectors`, while the chain is built.
    selector_index: HashMap<&'m LabelSelector, usize>,
    tiers: Vec<Tier>,
    members: Vec<Member<'m>>,
}

/// Namespace labels as selectors see them: with `kubernetes.io/metadata.name`.
pub fn namespace_labels(model: &Model, key: &NamespaceKey) -> Labels {
    let mut labels = model
        .namespaces
        .get(key)
        .map(|ns| ns.labels.clone())
        .unwrap_or_default();
    labels.insert("kubernetes.io/metadata.name".into(), key.name.clone());
    labels
}

fn order_cmp(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Policies of engines other than native NetworkPolicy that take part in egress: usually
/// none, so namespaces are decided by the native union alone.
pub fn engine_policies(model: &Model) -> Vec<PolicyId> {
    model
        .policies_with_ids()
        .filter(|(_, p)| !p.is_native() && p.governs_egress())
        .map(|(id, _)| id)
        .collect()
}

/// Those of `engine` (from [`engine_policies`]) that can apply in namespace `key`.
pub fn engine_policies_in(model: &Model, engine: &[PolicyId], key: &NamespaceKey) -> Vec<PolicyId> {
    if engine.is_empty() {
        return Vec::new();
    }
    let labels = namespace_labels(model, key);
    engine
        .iter()
        .copied()
        .filter(|&id| {
            let p = model.policy(id);
            p.cluster == key.cluster
                && (p.namespace.is_empty() || p.namespace == key.name)
                && p.egress_specs().any(|(_, spec)| {
                    spec.selects
                        .any_of
                        .iter()
                        .any(|pair| pair.namespaces.matches(&labels) && pair.pods.is_satisfiable())
                })
        })
        .collect()
}

impl<'m> Chain<'m> {
    /// The chain of namespace `key`: the egress specs of `policies` (the native Egress
    /// policies of the namespace, then other engines' policies from [`engine_policies_in`])
    /// whose selectors can match it.
    pub fn build(model: &'m Model, key: &NamespaceKey, policies: &[PolicyId]) -> Chain<'m> {
        let labels = namespace_labels(model, key);
        let mut chain = Chain {
            selectors: Vec::new(),
            selector_index: HashMap::new(),
            tiers: Vec::new(),
            members: Vec::new(),
        };
        for &id in policies {
            let policy = model.policy(id);
            for (s, spec) in policy.egress_specs() {
                if spec.selects.own_namespace_only && policy.namespace != key.name {
                    continue;
                }
                let pods = chain.pod_selectors(&spec.selects.any_of, &labels);
                if pods.is_empty() {
                    continue;
                }
                let tier = chain.tier(model, key, spec.placement.layer, &spec.placement.tier);
                let rules = spec
                    .rules
                    .iter()
                    .enumerate()
                    .map(|(r, rule)| MemberRule {
                        rule: id.spec(s).rule(r),
                        action: rule.action,
                        addresses: rule_addresses(model, key, policy, rule),
                        hostnames: &rule.destinations.hostnames,
                        ports: &rule.ports,
                        senders: rule
                            .senders
                            .as_ref()
                            .map(|pairs| chain.pod_selectors(pairs, &labels)),
                        unknowable: rule.unknowable.is_some(),
                    })
                    .collect();
                chain.members.push(Member {
                    policy: id,
                    tier,
                    order: spec.placement.order,
                    name: &policy.name,
                    ordered: spec.ordered,
                    isolates: spec.isolates,
                    pods,
                    rules,
                });
            }
        }
        let tiers = &chain.tiers;
        chain.members.sort_by(|a, b| {
            let (ta, tb) = (&tiers[a.tier], &tiers[b.tier]);
            ta.layer
                .cmp(&tb.layer)
                .then(order_cmp(ta.order, tb.order))
                .then(ta.name.cmp(&tb.name))
                .then(order_cmp(a.order, b.order))
                .then(a.name.cmp(b.name))
        });
        chain
    }

    fn selector(&mut self, selector: &'m LabelSelector) -> usize {
        // A map, not a search: a namespace may have thousands of policies.
        *self.selector_index.entry(selector).or_insert_with(|| {
            self.selectors.push(selector);
            self.selectors.len() - 1
        })
    }

    /// The pod selectors of the pairs whose namespace side matches this namespace. One that
    /// no pod satisfies is kept, as the native union keeps it when it looks for unselected
    /// pods, so that both describe those pods alike.
    fn pod_selectors(&mut self, pairs: &'m [SelectorPair], labels: &Labels) -> Vec<usize> {
        pairs
            .iter()
            .filter(|pair| pair.namespaces.matches(labels))
            .map(|pair| self.selector(&pair.pods))
            .collect()
    }

    fn tier(&mut self, model: &Model, key: &NamespaceKey, layer: Layer, name: &str) -> usize {
        if let Some(i) = self
            .tiers
            .iter()
            .position(|t| t.layer == layer && t.name == name)
        {
            return i;
        }
        let (order, default_action) = match layer {
            // An admin tier with no matching rule hands over to the next layer.
            Layer::Admin | Layer::Baseline => (None, Action::Pass),
            Layer::NetworkPolicy => {
                match model.tiers.get(&(key.cluster.clone(), name.to_string())) {
                    Some(tier) => (tier.order, tier.default_action),
                    None if name == DEFAULT_TIER => (Some(DEFAULT_TIER_ORDER), Action::Deny),
                    None => (None, Action::Deny),
                }
            }
        };
        self.tiers.push(Tier {
            layer,
            order,
            name: name.to_string(),
            default_action,
        });
        self.tiers.len() - 1
    }

    /// The chain as far as it can decide packets to `target`: rules that cannot match it are
    /// dropped, and so are policies left with no rule, unless their isolation can still end
    /// the walk. Fewer selectors then split pods into classes, and the decisions for `target`
    /// are the same.
    pub fn for_target(&self, target: &Target) -> Chain<'m> {
        let mut reduced = Chain {
            selectors: self.selectors.clone(),
            selector_index: HashMap::new(),
            tiers: self.tiers.clone(),
            members: Vec::new(),
        };
        // Tiers where a policy isolates every pod: others' isolation adds nothing there.
        let isolated_everywhere: Vec<usize> = self
            .members
            .iter()
            .filter(|m| m.isolates && m.pods.iter().any(|&s| self.selectors[s].selects_all()))
            .map(|m| m.tier)
            .collect();
        for m in &self.members {
            let rules: Vec<MemberRule> = m
                .rules
                .iter()
                .filter(|r| reaches(r, target))
                .cloned()
                .collect();
            let isolation_matters = m.isolates
                && self.tiers[m.tier].default_action == Action::Deny
                && (!isolated_everywhere.contains(&m.tier)
                    || m.pods.iter().any(|&s| self.selectors[s].selects_all()));
            if rules.is_empty() && !isolation_matters {
                continue;
            }
            reduced.members.push(Member { rules, ..m.clone() });
        }
        reduced
    }

    /// The selectors some member or rule uses.
    pub fn used_selectors(&self) -> Vec<usize> {
        let mut used: Vec<usize> = self
            .members
            .iter()
            .flat_map(|m| {
                m.pods
                    .iter()
                    .chain(m.rules.iter().flat_map(|r| r.senders.iter().flatten()))
            })
            .copied()
            .collect();
        used.sort_unstable();
        used.dedup();
        used
    }

    /// Whether member `m` selects a pod, given which selectors match it.
    fn selects(&self, m: &Member, pod: &dyn Fn(usize) -> bool) -> bool {
        m.pods.iter().any(|&s| pod(s))
    }

    /// The policies that select a pod, each once, in chain order.
    pub fn selecting(&self, pod: &dyn Fn(usize) -> bool) -> Vec<PolicyId> {
        let mut out: Vec<PolicyId> = Vec::new();
        for m in &self.members {
            if self.selects(m, pod) && !out.contains(&m.policy) {
                out.push(m.policy);
            }
        }
        out
    }

    /// Whether some policy that selects the pod isolates it: traffic none of its tier's rules
    /// match is denied.
    pub fn isolates(&self, pod: &dyn Fn(usize) -> bool) -> bool {
        self.members.iter().any(|m| {
            m.isolates && self.tiers[m.tier].default_action == Action::Deny && self.selects(m, pod)
        })
    }

    /// Decides a packet from a pod (told by which selectors match it) to `target`.
    pub fn decide(&self, pod: &dyn Fn(usize) -> bool, target: &Target) -> Decision {
        let mut steps = Vec::new();
        let mut start = 0;
        while start < self.members.len() {
            let tier = self.members[start].tier;
            let end = self.members[start..]
                .iter()
                .position(|m| m.tier != tier)
                .map_or(self.members.len(), |n| start + n);
            let members: Vec<&Member> = self.members[start..end]
                .iter()
                .filter(|m| self.selects(m, pod))
                .collect();
            start = end;
            match self.decide_in_tier(&members, pod, target, &mut steps) {
                TierResult::Decided(allowed, rules) => {
                    return Decision {
                        allowed,
                        by: DecidedBy::Rules(rules),
                        steps,
                    };
                }
                TierResult::Passed => continue,
                TierResult::NoMatch => {}
            }
            let isolated_by: Vec<PolicyId> = members
                .iter()
                .filter(|m| m.isolates)
                .map(|m| m.policy)
                .collect();
            let tier = &self.tiers[tier];
            if !isolated_by.is_empty() && tier.default_action == Action::Deny {
                return Decision {
                    allowed: false,
                    by: DecidedBy::TierEnd {
                        tier: tier.name.clone(),
                        isolated_by,
                    },
                    steps,
                };
            }
        }
        Decision {
            allowed: true,
            by: DecidedBy::DefaultAllow,
            steps,
        }
    }

    fn decide_in_tier(
        &self,
        members: &[&Member],
        pod: &dyn Fn(usize) -> bool,
        target: &Target,
        steps: &mut Vec<Step>,
    ) -> TierResult {
        let mut i = 0;
        while i < members.len() {
            let m = members[i];
            if m.ordered {
                i += 1;
                for r in &m.rules {
                    if !matches(r, pod, target) {
                        continue;
                    }
                    match r.action {
                        Action::Allow => return TierResult::Decided(true, vec![r.rule]),
                        Action::Deny => return TierResult::Decided(false, vec![r.rule]),
                        Action::Pass => {
                            steps.push(Step {
                                rule: r.rule,
                                action: Action::Pass,
                            });
                            return TierResult::Passed;
                        }
                        Action::Log => steps.push(Step {
                            rule: r.rule,
                            action: Action::Log,
                        }),
                    }
                }
                continue;
            }
            // Unordered neighbours of equal order decide together: deny wins, allows union.
            let group_end = members[i..]
                .iter()
                .position(|n| n.ordered || order_cmp(n.order, m.order) != Ordering::Equal)
                .map_or(members.len(), |n| i + n);
            let group = &members[i..group_end];
            i = group_end;
            let matching = |action: Action| -> Vec<RuleRef> {
                group
                    .iter()
                    .flat_map(|g| &g.rules)
                    .filter(|r| r.action == action && matches(r, pod, target))
                    .map(|r| r.rule)
                    .collect()
            };
            let denies = matching(Action::Deny);
            if !denies.is_empty() {
                return TierResult::Decided(false, denies);
            }
            let allows = matching(Action::Allow);
            if !allows.is_empty() {
                return TierResult::Decided(true, allows);
            }
        }
        TierResult::NoMatch
    }
}

enum TierResult {
    Decided(bool, Vec<RuleRef>),
    Passed,
    NoMatch,
}

/// Whether a rule matches a packet to `target` from a pod. A part that cannot be known makes
/// an Allow match and a Deny not, so the verdict never looks safer than it is.
fn matches(rule: &MemberRule, pod: &dyn Fn(usize) -> bool, target: &Target) -> bool {
    let sender = rule
        .senders
        .as_ref()
        .is_none_or(|s| s.iter().any(|&i| pod(i)));
    sender && reaches(rule, target) && (!rule.unknowable || rule.action == Action::Allow)
}

/// Whether a rule's destinations and ports cover `target`, whoever sends.
fn reaches(rule: &MemberRule, target: &Target) -> bool {
    let destination = rule.addresses.contains(target.addr)
        || rule.hostnames.iter().any(|h| {
            target
                .hostnames()
                .iter()
                .any(|name| hostname_matches(h, name))
        });
    destination && rule.ports.contains(target.protocol, target.port)
}

/// Cilium `matchPattern`: `*` alone matches every name; elsewhere it matches characters
/// within one DNS label.
fn hostname_matches(rule: &HostnameMatch, name: &str) -> bool {
    let canonical = |s: &str| s.trim_end_matches('.').to_ascii_lowercase();
    let name = canonical(name);
    match rule {
        HostnameMatch::Name(n) => canonical(n) == name,
        HostnameMatch::Pattern(p) if p.trim() == "*" => true,
        HostnameMatch::Pattern(p) => {
            let pattern = canonical(p);
            match pattern.strip_prefix("**.") {
                // `**.` stands for one or more whole labels.
                Some(rest) => name
                    .match_indices('.')
                    .any(|(i, _)| i > 0 && glob_label(rest.as_bytes(), &name.as_bytes()[i + 1..])),
                None => glob_label(pattern.as_bytes(), name.as_bytes()),
            }
        }
    }
}

fn glob_label(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len())
            .take_while(|&n| n == 0 || name[n - 1] != b'.')
            .any(|n| glob_label(rest, &name[n..])),
        Some((c, rest)) => name.first() == Some(c) && glob_label(rest, &name[1..]),
    }
}

/// The addresses a rule sends to in namespace `key`: its own, plus the nets of the Calico
/// network sets its label selectors pick. A GlobalNetworkSet has no namespace, so only a pair
/// whose namespace side accepts an empty label set (empty, or `global()`) picks it.
fn rule_addresses<'m>(
    model: &'m Model,
    key: &NamespaceKey,
    policy: &crate::model::Policy,
    rule: &'m PolicyRule,
) -> Cow<'m, IpSet> {
    let destinations = &rule.destinations;
    if destinations.labelled.is_empty()
        && destinations.cidr_groups.is_empty()
        && destinations.services.is_empty()
    {
        return Cow::Borrowed(&destinations.addresses);
    }
    let groups = model
        .cidr_groups
        .iter()
        .filter(|g| g.cluster == key.cluster)
        .filter(|g| {
            destinations
                .cidr_groups
                .iter()
                .any(|s| s.matches(&g.spec.labels))
        })
        .fold(IpSet::empty(), |acc, g| acc.union(&g.spec.nets));
    // A cluster-wide policy has no namespace of its own; its rules then look everywhere.
    let home = if policy.namespace.is_empty() {
        None
    } else {
        Some(policy.namespace.as_str())
    };
    let mut picked_nets = IpSet::empty();
    for set in model
        .network_sets
        .iter()
        .filter(|s| s.cluster == key.cluster)
    {
        if destinations.labelled_in_own_namespace && home.is_some_and(|home| set.namespace != home)
        {
            continue;
        }
        let namespace_labels = if set.namespace.is_empty() {
            Labels::default()
        } else {
            namespace_labels(
                model,
                &NamespaceKey {
                    cluster: key.cluster.clone(),
                    name: set.namespace.clone(),
                },
            )
        };
        let picked = destinations.labelled.iter().any(|pair| {
            pair.namespaces.matches(&namespace_labels) && pair.pods.matches(&set.spec.labels)
        });
        if picked {
            picked_nets = picked_nets.union(&set.spec.nets);
        }
    }
    if let Some(within) = &destinations.labelled_within {
        picked_nets = picked_nets.difference(&IpSet::all().difference(within));
    }
    let services = service_addresses(model, key, home, rule);
    Cow::Owned(
        destinations
            .addresses
            .union(&picked_nets)
            .union(&groups)
            .union(&services),
    )
}

/// Services every cluster has, which send to no metadata address whether or not the
/// repository declares them: the cluster DNS (its pods) and the API server.
const WELL_KNOWN_SERVICES: [(&str, &str); 2] =
    [("kube-system", "kube-dns"), ("default", "kubernetes")];

/// The addresses the Services a rule names send to, in namespace `key`'s cluster: the
/// endpoints of those without a selector (a Service with one sends to pods). A Service
/// without a selector whose endpoints the repository does not hold, or lists by name, cannot
/// be known: an Allow then counts every address, a Deny none, like the other unknowables. So
/// can a Service the repository does not declare, except the two every cluster has
/// ([`WELL_KNOWN_SERVICES`]). `home` is the policy's namespace (`None` for a cluster-wide
/// policy, whose references without a namespace look everywhere).
fn service_addresses(
    model: &Model,
    key: &NamespaceKey,
    home: Option<&str>,
    rule: &PolicyRule,
) -> IpSet {
    let allow = rule.action == Action::Allow;
    let mut addresses = IpSet::empty();
    for wanted in &rule.destinations.services {
        // The endpoints' ports are the rule's: not known to cover a given port for a Deny.
        if wanted.ports_from_endpoints && !allow {
            continue;
        }
        let namespace = wanted.namespace.as_deref().or(home);
        let named = |s: &&crate::model::Service| {
            s.cluster == key.cluster
                && namespace.is_none_or(|ns| s.namespace == ns)
                && match &wanted.name {
                    ServiceName::Name(name) => &s.name == name,
                    ServiceName::Labels(selector) => selector.matches(&s.labels),
                }
        };
        let well_known = match (&wanted.name, namespace) {
            (ServiceName::Name(name), Some(ns)) => WELL_KNOWN_SERVICES.contains(&(ns, name)),
            _ => false,
        };
        if allow && !well_known && !model.services.iter().any(|s| named(&s)) {
            return IpSet::all();
        }
        for service in model
            .services
            .iter()
            .filter(named)
            .filter(|s| !s.selects_pods)
        {
            let mut known = false;
            for endpoints in model.service_endpoints.iter().filter(|e| {
                e.cluster == key.cluster
                    && e.namespace == service.namespace
                    && e.service == service.name
            }) {
                known |= !endpoints.by_name;
                if endpoints.by_name {
                    known = false;
                    break;
                }
                addresses = addresses.union(&endpoints.addresses);
            }
            if !known {
                if allow {
                    return IpSet::all();
                }
                continue;
            }
        }
    }
    addresses
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::{NamespaceVerdict, analyze};
    use crate::decode::spec::{
        Engine, EngineKind, NATIVE_ORDER, Placement, PolicySpec, RuleDestinations, RuleName,
        Selects, Via,
    };
    use crate::lint_text;
    use crate::model::{Location, Model, Policy};
    use crate::source::yaml::Span;

    const NS: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns, labels: {team: a}}\n";
    const DENY_ALL: &str = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: ns}\nspec: {podSelector: {}, policyTypes: [Egress]}\n";
    const ALLOW_ALL: &str = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow, namespace: ns}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{}]\n";

    fn rule(action: Action, cidr: &str) -> PolicyRule {
        let net: ipnet::IpNet = cidr.parse().expect("cidr");
        PolicyRule {
            action,
            name: RuleName {
                action: Some(action),
                ..RuleName::new("egress", 1)
            },
            number: None,
            span: Span::default(),
            destinations: RuleDestinations {
                addresses: IpSet::from_net(&net),
                hostnames: Vec::new(),
                labelled: Vec::new(),
                labelled_in_own_namespace: false,
                labelled_within: None,
                cidr_groups: Vec::new(),
                services: Vec::new(),
            },
            ports: PortSet::all(),
            senders: None,
            unknowable: None,
            via: Via::Described(format!("to {cidr}")),
        }
    }

    fn spec(
        engine: Engine,
        layer: Layer,
        order: Option<f64>,
        rules: Vec<PolicyRule>,
    ) -> PolicySpec {
        PolicySpec {
            engine,
            placement: Placement {
                layer,
                tier: DEFAULT_TIER.into(),
                order,
            },
            ordered: engine != Engine::Cilium,
            selects: Selects {
                own_namespace_only: false,
                any_of: vec![SelectorPair::default()],
            },
            governs_egress: true,
            isolates: matches!(engine, Engine::Cilium | Engine::Calico),
            rules,
        }
    }

    fn with(kind: &str, name: &str, spec: PolicySpec) -> Policy {
        Policy {
            kind: kind.into(),
            name: name.into(),
            cluster: None,
            namespace: String::new(),
            location: Location::new(0, Span::default()),
            engine_kind: Some(match spec.engine {
                Engine::Cilium => EngineKind::CiliumClusterwideNetworkPolicy,
                Engine::Calico => EngineKind::CalicoGlobalNetworkPolicy,
                Engine::AdminNetworkPolicy => EngineKind::AdminNetworkPolicy,
                Engine::BaselineAdminNetworkPolicy => EngineKind::BaselineAdminNetworkPolicy,
                Engine::NetworkPolicy => unreachable!("a native policy comes from YAML"),
            }),
            specs: vec![spec].into(),
            problems: Vec::new(),
            rejected: false,
            suppression: None,
            transformed: Vec::new(),
        }
    }

    /// The verdict of namespace `ns` with native `yaml` and other engines' `policies`, and
    /// the model it is about.
    fn verdict_in(yaml: &str, policies: Vec<Policy>) -> (NamespaceVerdict, Model) {
        let mut model = lint_text(&format!("{NS}{yaml}")).model;
        model.policies.extend(policies);
        let analysis = analyze(&model, &Target::defaults());
        let verdict = analysis
            .namespaces
            .into_iter()
            .find(|n| n.name == "ns")
            .expect("ns");
        (verdict, model)
    }

    fn verdict(yaml: &str, policies: Vec<Policy>) -> NamespaceVerdict {
        verdict_in(yaml, policies).0
    }

    /// How each opening of the verdict reaches its targets.
    fn vias(v: &NamespaceVerdict, model: &Model) -> Vec<Via> {
        v.openings
            .iter()
            .map(|o| model.rule(o.rule).rule.via.clone())
            .collect()
    }

    /// The verdict of namespace `ns`.
    fn in_ns(outcome: &crate::Outcome) -> &NamespaceVerdict {
        outcome
            .analysis
            .namespaces
            .iter()
            .find(|n| n.name == "ns")
            .expect("ns")
    }

    fn reachable(v: &NamespaceVerdict) -> Vec<String> {
        v.reachable.iter().map(|t| t.addr.to_string()).collect()
    }

    const V4: &str = "169.254.169.254";
    const V6: &str = "fd00:ec2::254";

    #[test]
    fn an_admin_deny_wins_over_a_native_allow() {
        let anp = with(
            "AdminNetworkPolicy",
            "block",
            spec(
                Engine::AdminNetworkPolicy,
                Layer::Admin,
                Some(10.0),
                vec![rule(Action::Deny, "169.254.169.254/32")],
            ),
        );
        let v = verdict(ALLOW_ALL, vec![anp]);
        assert_eq!(reachable(&v), [V6]);
        assert!(v.protected_by.is_empty(), "the IPv6 target stays open");
    }

    #[test]
    fn admin_priority_decides_between_admin_policies() {
        let allow = with(
            "AdminNetworkPolicy",
            "allow",
            spec(
                Engine::AdminNetworkPolicy,
                Layer::Admin,
                Some(5.0),
                vec![rule(Action::Allow, "0.0.0.0/0")],
            ),
        );
        let deny = with(
            "AdminNetworkPolicy",
            "deny",
            spec(
                Engine::AdminNetworkPolicy,
                Layer::Admin,
                Some(50.0),
                vec![rule(Action::Deny, "0.0.0.0/0")],
            ),
        );
        let (v, model) = verdict_in(DENY_ALL, vec![deny, allow]);
        assert_eq!(
            reachable(&v),
            [V4],
            "priority 5 allows before priority 50 denies"
        );
        assert_eq!(v.openings.len(), 1);
        assert_eq!(vias(&v, &model), [Via::Described("to 0.0.0.0/0".into())]);
    }

    #[test]
    fn a_pass_hands_over_to_network_policy() {
        let pass = || {
            with(
                "AdminNetworkPolicy",
                "pass",
                spec(
                    Engine::AdminNetworkPolicy,
                    Layer::Admin,
                    Some(1.0),
                    vec![
                        rule(Action::Pass, "169.254.169.254/32"),
                        rule(Action::Deny, "0.0.0.0/0"),
                    ],
                ),
            )
        };
        let v = verdict(DENY_ALL, vec![pass()]);
        assert_eq!(
            reachable(&v),
            Vec::<String>::new(),
            "the native deny decides after the pass"
        );
        let v = verdict(ALLOW_ALL, vec![pass()]);
        assert_eq!(reachable(&v), [V4, V6]);
        assert_eq!(
            v.openings[0].passed_by.len(),
            1,
            "the opening names the pass"
        );
    }

    #[test]
    fn baseline_applies_only_where_no_network_policy_decides() {
        let baseline = || {
            with(
                "BaselineAdminNetworkPolicy",
                "default",
                spec(
                    Engine::BaselineAdminNetworkPolicy,
                    Layer::Baseline,
                    None,
                    vec![rule(Action::Deny, "169.254.169.254/32")],
                ),
            )
        };
        let v = verdict("", vec![baseline()]);
        assert_eq!(reachable(&v), [V6]);
        assert!(
            v.unselected_pods.is_some(),
            "the IPv6 target falls through to the default allow"
        );
        let v = verdict(ALLOW_ALL, vec![baseline()]);
        assert_eq!(
            reachable(&v),
            [V4, V6],
            "a NetworkPolicy allow decides first"
        );
    }

    #[test]
    fn a_cilium_deny_wins_over_every_allow_of_its_tier() {
        let cilium = with(
            "CiliumClusterwideNetworkPolicy",
            "no-imds",
            spec(
                Engine::Cilium,
                Layer::NetworkPolicy,
                Some(NATIVE_ORDER),
                vec![
                    rule(Action::Allow, "0.0.0.0/0"),
                    rule(Action::Deny, "169.254.169.254/32"),
                ],
            ),
        );
        let (v, model) = verdict_in(ALLOW_ALL, vec![cilium]);
        assert_eq!(reachable(&v), [V6], "ALLOW_ALL still opens IPv6");
        assert_eq!(
            vias(&v, &model),
            [Via::AnyDestination],
            "only the native allow opens, and only IPv6"
        );
    }

    #[test]
    fn a_cilium_policy_that_does_not_isolate_only_adds_and_denies() {
        let mut allow = spec(
            Engine::Cilium,
            Layer::NetworkPolicy,
            Some(NATIVE_ORDER),
            vec![rule(Action::Allow, "10.0.0.0/8")],
        );
        allow.isolates = false;
        let v = verdict(
            "",
            vec![with("CiliumNetworkPolicy", "extra", allow.clone())],
        );
        assert_eq!(reachable(&v), [V4, V6], "no isolation: the default allow");
        allow.isolates = true;
        let v = verdict("", vec![with("CiliumNetworkPolicy", "extra", allow)]);
        assert!(reachable(&v).is_empty());
    }

    #[test]
    fn calico_order_then_name_decide() {
        let deny = |name: &str, order| {
            with(
                "GlobalNetworkPolicy",
                name,
                spec(
                    Engine::Calico,
                    Layer::NetworkPolicy,
                    order,
                    vec![rule(Action::Deny, "169.254.169.254/32")],
                ),
            )
        };
        let allow = |name: &str, order| {
            with(
                "GlobalNetworkPolicy",
                name,
                spec(
                    Engine::Calico,
                    Layer::NetworkPolicy,
                    order,
                    vec![rule(Action::Allow, "0.0.0.0/0")],
                ),
            )
        };
        let v = verdict("", vec![allow("b", Some(10.0)), deny("a", Some(10.0))]);
        assert!(reachable(&v).is_empty(), "same order: a before b");
        assert_eq!(v.protected_by.len(), 2, "a denies IPv4, the tier end IPv6");
        let v = verdict("", vec![allow("a", Some(10.0)), deny("b", Some(10.0))]);
        assert_eq!(reachable(&v), [V4]);
        let v = verdict("", vec![allow("a", None), deny("b", Some(2000.0))]);
        assert!(reachable(&v).is_empty(), "no order sorts last");
        let v = verdict(ALLOW_ALL, vec![deny("late", Some(2000.0))]);
        assert_eq!(reachable(&v), [V4, V6], "native policies act at order 1000");
        let v = verdict(ALLOW_ALL, vec![deny("early", Some(100.0))]);
        assert!(reachable(&v).iter().all(|a| a == V6));
    }

    #[test]
    fn calico_log_goes_on_and_pass_leaves_the_tier() {
        let p = with(
            "GlobalNetworkPolicy",
            "p",
            spec(
                Engine::Calico,
                Layer::NetworkPolicy,
                Some(1.0),
                vec![
                    rule(Action::Log, "0.0.0.0/0"),
                    rule(Action::Deny, "169.254.169.254/32"),
                ],
            ),
        );
        assert!(reachable(&verdict("", vec![p])).is_empty());
        let mut pass = spec(
            Engine::Calico,
            Layer::NetworkPolicy,
            Some(1.0),
            vec![rule(Action::Pass, "0.0.0.0/0")],
        );
        pass.placement.tier = "security".into();
        let v = verdict("", vec![with("GlobalNetworkPolicy", "pass", pass)]);
        assert_eq!(
            reachable(&v),
            [V4],
            "IPv4 is passed on and nothing else decides; IPv6 meets the tier end"
        );
    }

    #[test]
    fn a_selected_pod_with_no_matching_rule_meets_the_tier_end() {
        let p = with(
            "GlobalNetworkPolicy",
            "only-dns",
            spec(
                Engine::Calico,
                Layer::NetworkPolicy,
                Some(1.0),
                vec![rule(Action::Allow, "10.0.0.10/32")],
            ),
        );
        let v = verdict("", vec![p]);
        assert!(reachable(&v).is_empty());
        assert_eq!(
            v.protected_by.len(),
            1,
            "its isolation closes the namespace"
        );
        let v = verdict(DENY_ALL, vec![]);
        assert!(
            v.protected_by.is_empty(),
            "a native deny is the pair's business"
        );
    }

    #[test]
    fn namespace_selectors_use_namespace_labels() {
        let mut s = spec(
            Engine::AdminNetworkPolicy,
            Layer::Admin,
            Some(1.0),
            vec![rule(Action::Deny, "0.0.0.0/0"), rule(Action::Deny, "::/0")],
        );
        let team = |v: &str| crate::decode::selector::LabelSelector {
            requirements: vec![crate::decode::selector::Requirement {
                key: "team".into(),
                operator: crate::decode::selector::Operator::In,
                values: vec![v.into()],
            }],
        };
        s.selects.any_of = vec![SelectorPair {
            namespaces: team("b"),
            pods: Default::default(),
        }];
        let v = verdict("", vec![with("AdminNetworkPolicy", "b-only", s.clone())]);
        assert_eq!(reachable(&v), [V4, V6], "namespace ns is team a");
        s.selects.any_of[0].namespaces = team("a");
        let v = verdict("", vec![with("AdminNetworkPolicy", "a-only", s)]);
        assert!(reachable(&v).is_empty());
        assert_eq!(v.protected_by.len(), 1);
    }

    #[test]
    fn an_unknowable_match_counts_for_allows_only() {
        let mut deny = rule(Action::Deny, "169.254.169.254/32");
        deny.unknowable = Some("source.nets".into());
        let mut allow = rule(Action::Allow, "0.0.0.0/0");
        allow.unknowable = Some("source.nets".into());
        let p = with(
            "GlobalNetworkPolicy",
            "p",
            spec(
                Engine::Calico,
                Layer::NetworkPolicy,
                Some(1.0),
                vec![deny, allow],
            ),
        );
        assert_eq!(reachable(&verdict("", vec![p])), [V4]);
    }

    #[test]
    fn hostnames_reach_the_targets_they_resolve_to() {
        let mut fqdn = rule(Action::Allow, "10.0.0.0/8");
        fqdn.destinations.hostnames = vec![HostnameMatch::Name("Metadata.Google.Internal.".into())];
        let p = with(
            "CiliumNetworkPolicy",
            "gke",
            spec(
                Engine::Cilium,
                Layer::NetworkPolicy,
                Some(NATIVE_ORDER),
                vec![fqdn],
            ),
        );
        assert_eq!(reachable(&verdict("", vec![p])), [V4]);
        let pattern =
            |p: &str, name: &str| hostname_matches(&HostnameMatch::Pattern(p.into()), name);
        assert!(pattern("*", "metadata.google.internal"));
        assert!(pattern("*.google.internal", "metadata.google.internal"));
        assert!(
            !pattern("*.internal", "metadata.google.internal"),
            "* stays within a label"
        );
        assert!(pattern("meta*", "metadata"));
        assert!(!pattern("*.google.internal", "google.internal"));
    }

    #[test]
    fn a_native_only_namespace_gives_the_same_verdict_either_way() {
        let web = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: ns}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Egress]\n  egress: [{to: [ipBlock: {cidr: 169.254.0.0/16}]}]\n";
        let native = verdict(&format!("{DENY_ALL}{web}"), vec![]);
        // A deny for pods labelled `never` puts the namespace on the chain path; the verdict
        // still comes from the pods without it.
        let mut nobody = spec(
            Engine::Calico,
            Layer::NetworkPolicy,
            Some(1.0),
            vec![rule(Action::Deny, "0.0.0.0/0")],
        );
        nobody.selects.any_of[0].pods = crate::decode::selector::LabelSelector {
            requirements: vec![crate::decode::selector::Requirement {
                key: "never".into(),
                operator: crate::decode::selector::Operator::Exists,
                values: Vec::new(),
            }],
        };
        let chained = verdict(
            &format!("{DENY_ALL}{web}"),
            vec![with("GlobalNetworkPolicy", "nobody", nobody)],
        );
        assert_eq!(native.reachable, chained.reachable);
        assert_eq!(
            native.unselected_pods.is_some(),
            chained.unselected_pods.is_some()
        );
        let at = |v: &NamespaceVerdict| {
            v.openings
                .iter()
                .map(|o| (o.rule, o.targets.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(at(&native), at(&chained));
    }

    #[test]
    fn a_native_selector_no_pod_satisfies_still_splits_pods_like_the_union() {
        let nobody = native(
            "nobody",
            "{matchExpressions: [{key: zeta, operator: Exists}, {key: zeta, operator: DoesNotExist}]}",
            "[]",
        );
        let web = native("web", "{matchLabels: {app: web}}", "[]");
        let mut never = spec(
            Engine::Calico,
            Layer::NetworkPolicy,
            Some(1.0),
            vec![rule(Action::Deny, "0.0.0.0/0")],
        );
        never.selects.any_of[0].pods = crate::decode::selector::LabelSelector {
            requirements: vec![crate::decode::selector::Requirement {
                key: "never".into(),
                operator: crate::decode::selector::Operator::Exists,
                values: Vec::new(),
            }],
        };
        let union = verdict(&format!("{nobody}{web}"), vec![]);
        assert_eq!(
            union.unselected_pods.as_deref(),
            Some("pods without label app, zeta")
        );
        let chained = verdict(
            &format!("{nobody}{web}"),
            vec![with("GlobalNetworkPolicy", "never", never)],
        );
        assert_eq!(
            chained.unselected_pods.as_deref(),
            Some("pods without label app, never, zeta")
        );
    }

    #[test]
    fn policies_that_cannot_decide_a_target_do_not_split_pods_for_it() {
        // Twenty policies on unrelated keys make 2^20 classes; each only allows DNS, and a
        // clusterwide policy isolates every pod, so none of them can decide a metadata target.
        let mut policies: Vec<Policy> = (0..20)
            .map(|i| {
                let mut dns = rule(Action::Allow, "10.0.0.10/32");
                dns.ports = PortSet::range(crate::net::Protocol::Udp, 53, 53);
                let mut s = spec(
                    Engine::Cilium,
                    Layer::NetworkPolicy,
                    Some(NATIVE_ORDER),
                    vec![dns],
                );
                s.selects.any_of[0].pods = crate::decode::selector::LabelSelector {
                    requirements: vec![crate::decode::selector::Requirement {
                        key: format!("key{i}"),
                        operator: crate::decode::selector::Operator::Exists,
                        values: Vec::new(),
                    }],
                };
                with("CiliumNetworkPolicy", &format!("p{i}"), s)
            })
            .collect();
        policies.push(with(
            "CiliumClusterwideNetworkPolicy",
            "default-deny",
            spec(
                Engine::Cilium,
                Layer::NetworkPolicy,
                Some(NATIVE_ORDER),
                vec![],
            ),
        ));
        let v = verdict("", policies);
        assert!(v.unselected_pods.is_none(), "{:?}", v.unselected_pods);
        assert!(reachable(&v).is_empty());
        assert_eq!(v.protected_by.len(), 1, "the clusterwide default deny");
    }

    #[test]
    fn calico_tiers_run_by_order_and_pass_to_the_next() {
        let security = |tier: &str, last: &str| {
            format!(
                "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {{name: security.block-imds}}\nspec:\n  tier: security\n  order: 1\n  selector: all()\n  types: [Egress]\n  egress:\n  - action: Deny\n    destination: {{nets: [169.254.169.254/32]}}\n{last}{tier}"
            )
        };
        let tier = "---\napiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: security}\nspec: {order: 100}\n";
        let outcome = lint_text(&format!(
            "{NS}{ALLOW_ALL}{}",
            security(tier, "  - action: Pass\n")
        ));
        let v = &outcome.analysis.namespaces[0];
        assert_eq!(
            reachable(v),
            [V6],
            "IPv4 denied in tier security, IPv6 passed on"
        );
        assert!(outcome.notes.is_empty(), "{:?}", outcome.notes);
        let outcome = lint_text(&format!("{NS}{ALLOW_ALL}{}", security(tier, "")));
        assert!(
            reachable(&outcome.analysis.namespaces[0]).is_empty(),
            "without the Pass, IPv6 meets the end of tier security"
        );
        let outcome = lint_text(&format!(
            "{NS}{ALLOW_ALL}{}",
            security("", "  - action: Pass\n")
        ));
        assert_eq!(outcome.notes.len(), 1);
        assert!(
            outcome.notes[0].contains("Calico tier security has no Tier object"),
            "{}",
            outcome.notes[0]
        );
    }

    #[test]
    fn network_sets_are_picked_in_the_policy_namespace_and_inside_its_nets() {
        let sets = "---\napiVersion: projectcalico.org/v3\nkind: NetworkSet\nmetadata: {name: imds-v4, namespace: ns, labels: {role: metadata}}\nspec: {nets: [169.254.169.254/32]}\n---\napiVersion: projectcalico.org/v3\nkind: NetworkSet\nmetadata: {name: imds-v6, namespace: other, labels: {role: metadata}}\nspec: {nets: ['fd00:ec2::254/128']}\n";
        let policy = |destination: &str| {
            format!(
                "---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {{name: no-imds, namespace: ns}}\nspec:\n  order: 1\n  types: [Egress]\n  egress:\n  - action: Deny\n    destination: {destination}\n  - action: Allow\n"
            )
        };
        let outcome = lint_text(&format!(
            "{NS}{sets}{}",
            policy("{selector: role == 'metadata'}")
        ));
        let v = in_ns(&outcome);
        assert_eq!(
            reachable(v),
            [V6],
            "the set in namespace other is not picked"
        );
        let outcome = lint_text(&format!(
            "{NS}{sets}{}",
            policy("{selector: role == 'metadata', namespaceSelector: all()}")
        ));
        let v = in_ns(&outcome);
        assert!(reachable(v).is_empty(), "every namespace's sets");
        let outcome = lint_text(&format!(
            "{NS}{sets}{}",
            policy("{selector: role == 'metadata', nets: [10.0.0.0/8]}")
        ));
        let v = in_ns(&outcome);
        assert_eq!(
            reachable(v),
            [V4, V6],
            "the set's address is outside the rule's nets"
        );
    }

    #[test]
    fn cilium_cidr_groups_are_followed_by_name_and_labels() {
        let group = "---\napiVersion: cilium.io/v2alpha1\nkind: CiliumCIDRGroup\nmetadata: {name: imds, labels: {kind: metadata}}\nspec:\n  externalCIDRs: [169.254.169.254/32]\n";
        let deny = |entry: &str| {
            format!(
                "---\napiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {{name: no-imds}}\nspec:\n  endpointSelector: {{}}\n  enableDefaultDeny: {{egress: false}}\n  egressDeny:\n  - toCIDRSet:\n    - {entry}\n"
            )
        };
        for entry in [
            "cidrGroupRef: imds",
            "cidrGroupSelector: {matchLabels: {kind: metadata}}",
        ] {
            let outcome = lint_text(&format!("{NS}{ALLOW_ALL}{group}{}", deny(entry)));
            assert_eq!(reachable(&outcome.analysis.namespaces[0]), [V6], "{entry}");
        }
        let outcome = lint_text(&format!(
            "{NS}{ALLOW_ALL}{group}{}",
            deny("cidrGroupRef: other")
        ));
        assert_eq!(reachable(&outcome.analysis.namespaces[0]), [V4, V6]);
    }

    fn native(name: &str, selector: &str, rules: &str) -> String {
        format!(
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: ns}}\nspec:\n  podSelector: {selector}\n  policyTypes: [Egress]\n  egress: {rules}\n"
        )
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(150))]

        /// On native policies alone the chain gives the union semantics: a deny for pods
        /// labelled `never` sends the namespace down the chain and changes nothing for the
        /// other pods, so reachability, the unisolated pods and the openings stay the same.
        #[test]
        fn the_chain_agrees_with_the_native_union(
            policies in prop::collection::vec((
                prop::sample::select(vec!["{}", "{matchLabels: {app: web}}", "{matchLabels: {app: db}}", "{matchExpressions: [{key: app, operator: DoesNotExist}]}", "{matchExpressions: [{key: tier, operator: In, values: [a, b]}]}"]),
                prop::sample::select(vec!["[]", "[{}]", "[{ports: [{port: 80}]}]", "[{ports: [{port: 53, protocol: UDP}]}]", "[{to: [ipBlock: {cidr: 169.254.0.0/16}]}]", "[{to: [ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}]}]", "[{to: [ipBlock: {cidr: '::/0'}]}, {to: [podSelector: {}]}]"]),
            ), 0..5),
        ) {
            let yaml: String = policies
                .iter()
                .enumerate()
                .map(|(i, (selector, rules))| native(&format!("p{i}"), selector, rules))
                .collect();
            let mut never = spec(Engine::Calico, Layer::NetworkPolicy, Some(1.0), vec![rule(Action::Deny, "0.0.0.0/0")]);
            never.selects.any_of[0].pods = crate::decode::selector::LabelSelector {
                requirements: vec![crate::decode::selector::Requirement {
                    key: "never".into(),
                    operator: crate::decode::selector::Operator::Exists,
                    values: Vec::new(),
                }],
            };
            let union = verdict(&yaml, vec![]);
            let chained = verdict(&yaml, vec![with("GlobalNetworkPolicy", "never", never)]);
            prop_assert_eq!(&union.reachable, &chained.reachable);
            prop_assert_eq!(union.unselected_pods.is_some(), chained.unselected_pods.is_some());
            let openings = |v: &NamespaceVerdict| {
                let mut o: Vec<_> = v.openings.iter().map(|o| (o.rule, o.targets.clone())).collect();
                o.sort();
                o
            };
            prop_assert_eq!(openings(&union), openings(&chained));
        }
    }

    /// A selector-less Service `proxy` in namespace ns whose Endpoints list the IPv4 target.
    const PROXY: &str = "---\napiVersion: v1\nkind: Service\nmetadata: {name: proxy, namespace: ns, labels: {role: proxy}}\nspec: {ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Endpoints\nmetadata: {name: proxy, namespace: ns}\nsubsets: [{addresses: [{ip: 169.254.169.254}]}]\n";

    fn reachable_in_ns(yaml: &str) -> Vec<String> {
        let outcome = lint_text(&format!("{NS}{yaml}"));
        let v = outcome
            .analysis
            .namespaces
            .iter()
            .find(|n| n.name == "ns")
            .expect("ns");
        reachable(v)
    }

    #[test]
    fn a_calico_deny_to_a_service_does_not_count_its_endpoints() {
        // Calico takes the ports from the Service: a Deny is not known to cover port 80.
        let deny = "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\nspec:\n  order: 1\n  selector: all()\n  types: [Egress]\n  egress:\n  - {action: Deny, protocol: TCP, destination: {services: {name: proxy, namespace: ns}}}\n";
        assert_eq!(
            reachable_in_ns(&format!("{PROXY}{ALLOW_ALL}{deny}")),
            [V4, V6]
        );
        // The same Deny in Cilium, whose ports are the rule's own, closes the address.
        let cilium = "---\napiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: c}\nspec:\n  endpointSelector: {}\n  enableDefaultDeny: {egress: false}\n  egressDeny:\n  - toServices: [{k8sServiceSelector: {selector: {matchLabels: {role: proxy}}}}]\n";
        assert_eq!(
            reachable_in_ns(&format!("{PROXY}{ALLOW_ALL}{cilium}")),
            [V6]
        );
    }

    #[test]
    fn service_endpoints_count_in_their_own_cluster_and_namespace_only() {
        let allow = "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: c, namespace: ns}\nspec:\n  endpointSelector: {}\n  egress:\n  - toServices: [{k8sService: {serviceName: proxy, namespace: other}}]\n";
        // The repository's other/proxy selects pods: ns's endpoints are not its.
        let other = "---\napiVersion: v1\nkind: Service\nmetadata: {name: proxy, namespace: other}\nspec: {selector: {app: proxy}}\n";
        assert!(reachable_in_ns(&format!("{PROXY}{other}{allow}")).is_empty());
        // Without it, other/proxy is not in the repository: where it sends cannot be known.
        assert_eq!(reachable_in_ns(&format!("{PROXY}{allow}")), [V4, V6]);
        let own = allow.replace(", namespace: other", "");
        assert_eq!(reachable_in_ns(&format!("{PROXY}{own}")), [V4]);
    }
}
