//! One rule of a policy, whatever its engine: the one place a [`RuleRef`] is resolved into
//! the rule as written, its spec and its policy.

use super::{Location, Model, Policy, RuleRef};
use crate::decode::spec::{PolicyRule, PolicySpec, RuleName};

/// A rule resolved: its policy, its spec and what it says.
#[derive(Debug, Clone, Copy)]
pub struct RuleView<'m> {
    pub id: RuleRef,
    pub policy: &'m Policy,
    pub spec: &'m PolicySpec,
    pub rule: &'m PolicyRule,
}

impl Model {
    /// The rule `id` refers to. Ids come from the model's own lists, so the lookup cannot
    /// miss.
    pub fn rule(&self, id: RuleRef) -> RuleView<'_> {
        let spec = self.spec(id.spec());
        RuleView {
            id,
            policy: self.policy(id.policy()),
            spec,
            rule: &spec.rules[id.index()],
        }
    }
}

impl RuleView<'_> {
    /// `egress rule 2`, `specs[1] egressDeny rule 1`: the rule within its policy.
    pub fn label(&self) -> &RuleName {
        &self.rule.name
    }

    /// The rule's 1-based number in reports.
    pub fn number(&self) -> usize {
        self.rule.number.unwrap_or(self.id.index() + 1)
    }

    /// `NetworkPolicy batch/allow egress rule 1`: the policy and its rule.
    pub fn describe(&self) -> String {
        format!("{} {}", self.policy.describe(), self.label())
    }

    /// The rule (for a native policy, the peer) as written.
    pub fn at(&self) -> Location {
        Location::new(self.policy.location.file, self.rule.span)
    }
}

#[cfg(test)]
mod tests {
    use crate::lint_text;
    use crate::model::{Model, RuleView};

    /// Every rule of every policy, resolved.
    fn rules(model: &Model) -> Vec<RuleView<'_>> {
        model
            .policies_with_ids()
            .flat_map(|(id, p)| {
                p.specs.iter().enumerate().flat_map(move |(s, spec)| {
                    (0..spec.rules.len()).map(move |r| id.spec(s).rule(r))
                })
            })
            .map(|r| model.rule(r))
            .collect()
    }

    /// Each rule as (description, number, line).
    fn described(model: &Model) -> Vec<(String, usize, usize)> {
        rules(model)
            .iter()
            .map(|r| (r.describe(), r.number(), r.at().line))
            .collect()
    }

    #[test]
    fn a_native_rule_is_one_per_peer_and_its_peers_share_its_number() {
        let model = lint_text(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: ns}\nspec:\n  podSelector: {}\n  egress:\n  - ports: [{port: 53}]\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/8}\n    - podSelector: {}\n",
        )
        .model;
        let seen = described(&model);
        assert_eq!(
            seen,
            [
                ("NetworkPolicy ns/p egress rule 1".to_string(), 1, 7),
                ("NetworkPolicy ns/p egress rule 2".to_string(), 2, 9),
                ("NetworkPolicy ns/p egress rule 2".to_string(), 2, 10),
            ]
        );
    }

    #[test]
    fn a_cilium_rule_is_found_in_its_own_specs_entry() {
        let model = lint_text(
            "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: c, namespace: ns}\nspecs:\n- endpointSelector: {}\n  ingress: [{fromEntities: [cluster]}]\n- endpointSelector: {}\n  egress: [{toEntities: [world]}]\n",
        )
        .model;
        let seen = described(&model);
        assert_eq!(
            seen,
            [(
                "CiliumNetworkPolicy ns/c specs[1] egress rule 1".to_string(),
                1,
                8
            )]
        );
    }
}
