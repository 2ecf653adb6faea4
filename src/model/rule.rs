//! One rule of a policy, whatever its engine: the one place a [`RuleRef`] is resolved into
//! the rule as written, its spec and its policy.

use super::{Location, Model, Policy, RuleRef};
use crate::decode::spec::{EngineRule, EngineSpec};

/// A rule resolved: its policy, its spec and what it says.
#[derive(Debug, Clone, Copy)]
pub struct RuleView<'m> {
    pub id: RuleRef,
    pub policy: &'m Policy,
    pub spec: &'m EngineSpec,
    pub rule: &'m EngineRule,
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
    pub fn label(&self) -> &str {
        &self.rule.label
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
