//! The native union: what the Egress NetworkPolicies selecting a pod allow, merged per
//! destination, each part with the rules that grant it. Read from the same specs as the
//! precedence chain; where only native policies apply, the chain is one deny-wins group of
//! Allow rules, and this union is its answer, found faster. Pure.

use crate::decode::spec::{Action, PolicyRule, Via};
use crate::model::{Model, PolicyId, RuleRef};
use crate::net::{IpSet, PortSet, RangeSet, Target};
use std::collections::BTreeMap;

/// Addresses that exactly the same rules grant, with the ports those rules allow together.
#[derive(Debug, Clone, PartialEq)]
pub struct AddressEgress {
    pub addresses: IpSet,
    pub ports: PortSet,
    /// The rules (for a native policy, the peers) that grant them.
    pub granted_by: Vec<RuleRef>,
    /// The ports each of `granted_by` allows, in the same order: together, `ports`.
    pub grant_ports: Vec<PortSet>,
}

/// Pods a rule lets the pod send to (podSelector / namespaceSelector peers).
#[derive(Debug, Clone, PartialEq)]
pub struct PodEgress {
    pub peers: String,
    pub ports: PortSet,
    pub granted_by: RuleRef,
}

/// What a pod may send, given the Egress policies that select it.
#[derive(Debug, Clone, PartialEq)]
pub struct EgressSet {
    /// Some Egress policy selects the pod. When not, it may send anything and the lists are
    /// empty.
    pub isolated: bool,
    /// Disjoint address sets, in address order.
    pub addresses: Vec<AddressEgress>,
    pub pods: Vec<PodEgress>,
}

/// The rules of the specs of policy `id` that take part in egress, each with its id, in
/// order.
pub fn egress_rules(model: &Model, id: PolicyId) -> impl Iterator<Item = (RuleRef, &PolicyRule)> {
    model.policy(id).egress_specs().flat_map(move |(s, spec)| {
        let spec_id = id.spec(s);
        spec.rules
            .iter()
            .enumerate()
            .map(move |(r, rule)| (spec_id.rule(r), rule))
    })
}

/// A rule's address grant, one family at a time.
struct Source<'m> {
    addresses: &'m IpSet,
    ports: &'m PortSet,
    grant: RuleRef,
}

impl EgressSet {
    /// The egress of a pod selected by exactly `policies` (native Egress policies that apply):
    /// the union of their Allow rules.
    pub fn of(model: &Model, policies: &[PolicyId]) -> EgressSet {
        let mut sources = Vec::new();
        let mut pods = Vec::new();
        for &id in policies {
            for (grant, rule) in egress_rules(model, id).filter(|(_, r)| r.action == Action::Allow)
            {
                match &rule.via {
                    Via::Pods(description) => pods.push(PodEgress {
                        peers: description.clone(),
                        ports: rule.ports.clone(),
                        granted_by: grant,
                    }),
                    // Only named ports: they name pod ports, never an address outside the
                    // cluster.
                    _ if rule.ports.is_empty() => {}
                    _ => sources.push(Source {
                        addresses: &rule.destinations.addresses,
                        ports: &rule.ports,
                        grant,
                    }),
                }
            }
        }
        EgressSet {
            isolated: !policies.is_empty(),
            addresses: merge(&sources),
            pods,
        }
    }
    /// Whether the pod may send to `target`.
    pub fn allows(&self, target: &Target) -> bool {
        !self.isolated || !self.grants_to(target).is_empty()
    }

    /// The rules that let the pod reach `target` (none when it is not isolated: nothing needs
    /// to grant it): those whose addresses hold it and whose own ports match its port and
    /// protocol, not every rule to the same addresses.
    pub fn grants_to(&self, target: &Target) -> Vec<&RuleRef> {
        self.addresses
            .iter()
            .filter(|a| a.addresses.contains(target.addr))
            .flat_map(|a| a.granted_by.iter().zip(&a.grant_ports))
            .filter(|(_, ports)| ports.contains(target.protocol, target.port))
            .map(|(grant, _)| grant)
            .collect()
    }

    pub fn reachable(&self, targets: &[Target]) -> Vec<Target> {
        targets.iter().copied().filter(|t| self.allows(t)).collect()
    }
}

fn family(set: &IpSet, v6: bool) -> &RangeSet {
    if v6 { &set.v6 } else { &set.v4 }
}

/// Splits the address space where the set of granting sources changes and merges the pieces
/// each exact set of sources grants.
fn merge(sources: &[Source]) -> Vec<AddressEgress> {
    let mut by_sources: BTreeMap<Vec<usize>, IpSet> = BTreeMap::new();
    for v6 in [false, true] {
        let max = if v6 { u128::MAX } else { u32::MAX as u128 };
        let mut bounds: Vec<u128> = sources
            .iter()
            .flat_map(|s| family(s.addresses, v6).ranges())
            .flat_map(|&(lo, hi)| [Some(lo), hi.checked_add(1).filter(|&b| b <= max)])
            .flatten()
            .collect();
        bounds.sort_unstable();
        bounds.dedup();
        for (i, &lo) in bounds.iter().enumerate() {
            let hi = bounds.get(i + 1).map_or(max, |next| next - 1);
            let covering: Vec<usize> = sources
                .iter()
                .enumerate()
                .filter(|(_, s)| family(s.addresses, v6).contains(lo))
                .map(|(i, _)| i)
                .collect();
            if covering.is_empty() {
                continue;
            }
            let piece = RangeSet::range(lo, hi);
            let entry = by_sources.entry(covering).or_default();
            if v6 {
                entry.v6 = entry.v6.union(&piece);
            } else {
                entry.v4 = entry.v4.union(&piece);
            }
        }
    }
    let mut merged: Vec<AddressEgress> = by_sources
        .into_iter()
        .map(|(covering, addresses)| {
            // One grant may come from several sources (peers of one rule): their ports add up.
            let mut grants: BTreeMap<RuleRef, PortSet> = BTreeMap::new();
            for &i in &covering {
                let ports = grants
                    .entry(sources[i].grant)
                    .or_insert_with(PortSet::empty);
                *ports = ports.union(sources[i].ports);
            }
            AddressEgress {
                addresses,
                ports: covering
                    .iter()
                    .fold(PortSet::empty(), |acc, &i| acc.union(sources[i].ports)),
                granted_by: grants.keys().copied().collect(),
                grant_ports: grants.into_values().collect(),
            }
        })
        .collect();
    let first = |a: &AddressEgress| {
        (
            a.addresses.v4.is_empty(),
            a.addresses
                .v4
                .ranges()
                .first()
                .or(a.addresses.v6.ranges().first())
                .map(|r| r.0),
        )
    };
    merged.sort_by_key(first);
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint_text;

    /// The egress of a pod in namespace `ns` selected by every policy of `yaml`.
    fn egress(yaml: &str) -> (EgressSet, crate::Outcome) {
        let outcome = lint_text(yaml);
        let all: Vec<PolicyId> = outcome
            .model
            .policies_with_ids()
            .map(|(id, _)| id)
            .collect();
        (EgressSet::of(&outcome.model, &all), outcome)
    }

    fn policy(name: &str, rules: &str) -> String {
        format!(
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: ns}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n  egress:\n{rules}"
        )
    }

    #[test]
    fn overlapping_grants_split_where_the_granting_rules_change() {
        let yaml = [
            policy(
                "allow",
                "  - to: [ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}]\n",
            ),
            policy(
                "web",
                "  - to: [ipBlock: {cidr: 10.0.0.0/8}]\n    ports: [{port: 443}]\n",
            ),
            policy(
                "dns",
                "  - to: [ipBlock: {cidr: 169.254.169.254/32}]\n    ports: [{port: 53, protocol: UDP}]\n  - to: [podSelector: {matchLabels: {app: db}}]\n",
            ),
        ]
        .concat();
        let (set, _) = egress(&yaml);
        let rows: Vec<(String, String, usize)> = set
            .addresses
            .iter()
            .map(|a| {
                (
                    a.addresses.describe(),
                    a.ports.describe(),
                    a.granted_by.len(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                (
                    "0.0.0.0/0 except 10.0.0.0/8, 169.254.169.254/32".to_string(),
                    "any port".to_string(),
                    1
                ),
                ("10.0.0.0/8".into(), "any port".into(), 2),
                ("169.254.169.254/32".into(), "UDP 53".into(), 1),
            ]
        );
        assert_eq!(set.pods.len(), 1);
        assert_eq!(
            set.pods[0].peers,
            "pods matching app=db in the policy's namespace"
        );
        let targets = Target::defaults();
        assert!(set.reachable(&targets).is_empty(), "DNS only to metadata");
    }

    #[test]
    fn a_rule_without_to_grants_both_families_on_its_ports() {
        let (set, outcome) = egress(&policy("http", "  - ports: [{port: 80}]\n"));
        assert_eq!(set.addresses.len(), 1);
        assert_eq!(set.addresses[0].addresses.describe(), "0.0.0.0/0; ::/0");
        assert_eq!(set.reachable(&Target::defaults()), Target::defaults());
        let grant = &set.grants_to(&Target::defaults()[0])[0];
        let rule = outcome.model.rule(**grant);
        assert_eq!(rule.policy.name, "http");
        assert_eq!((rule.number(), rule.at().line), (1, 9));
    }

    #[test]
    fn only_rules_whose_ports_match_grant_a_target() {
        let (set, outcome) = egress(&policy(
            "metadata",
            "  - to: [ipBlock: {cidr: 169.254.169.254/32}]\n    ports: [{port: 53, protocol: UDP}]\n\
             \x20 - to: [ipBlock: {cidr: 169.254.169.254/32}]\n    ports: [{port: 80}]\n",
        ));
        assert_eq!(set.addresses.len(), 1, "one row for the /32");
        assert_eq!(set.addresses[0].granted_by.len(), 2);
        let grants = set.grants_to(&Target::defaults()[0]);
        let numbers: Vec<usize> = grants
            .iter()
            .map(|g| outcome.model.rule(**g).number())
            .collect();
        assert_eq!(numbers, [2], "the UDP 53 rule does not grant TCP 80");
    }

    #[test]
    fn no_policy_means_not_isolated_and_everything_reachable() {
        let outcome = lint_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n");
        let set = EgressSet::of(&outcome.model, &[]);
        assert!(!set.isolated);
        assert_eq!(set.reachable(&Target::defaults()), Target::defaults());
        assert!(set.grants_to(&Target::defaults()[0]).is_empty());
    }
}
