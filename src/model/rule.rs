//! One rule of a policy, whatever its engine: the one place a [`RuleRef`] is resolved into
//! the rule as written, its wording and how it reaches addresses.

use super::{Location, Model, Policy, RuleRef};
use crate::decode::native::{EgressRule, Peer, PeerKind};
use crate::decode::spec::{EngineRule, EngineSpec, Via};

/// A rule as its policy writes it.
#[derive(Debug, Clone, Copy)]
pub enum Written<'m> {
    /// A native NetworkPolicy's egress rule, and the peer the reference is about (`None`:
    /// the rule has no `to`).
    Native {
        rule: &'m EgressRule,
        peer: Option<&'m Peer>,
    },
    /// Another engine's rule, in its spec.
    Engine {
        spec: &'m EngineSpec,
        rule: &'m EngineRule,
    },
}

/// A rule resolved: its policy and what it says.
#[derive(Debug, Clone, Copy)]
pub struct RuleView<'m> {
    pub id: RuleRef,
    pub policy: &'m Policy,
    pub written: Written<'m>,
}

impl Model {
    /// The rule `id` refers to. Ids come from the model's own lists, so the lookup cannot
    /// miss; a native policy's rule is one of its egress rules, another engine's one of its
    /// spec's rules.
    pub fn rule(&self, id: RuleRef) -> RuleView<'_> {
        let policy = self.policy(id.policy());
        let written = match self.engine_spec(id.spec()) {
            Some(spec) => Written::Engine {
                spec,
                rule: &spec.rules[id.index()],
            },
            None => {
                let rule = &policy.decoded.spec.egress[id.index()];
                let at = id.at();
                let peer = rule
                    .to
                    .iter()
                    .flatten()
                    .find(|p| Location::new(policy.location.file, p.span) == at);
                Written::Native { rule, peer }
            }
        };
        RuleView {
            id,
            policy,
            written,
        }
    }
}

impl RuleView<'_> {
    /// `egress rule 2`, `specs[1] egressDeny rule 1`: the rule within its policy.
    pub fn label(&self) -> String {
        match self.written {
            Written::Native { .. } => format!("egress rule {}", self.id.index() + 1),
            Written::Engine { rule, .. } => rule.label.clone(),
        }
    }

    /// `NetworkPolicy batch/allow egress rule 1`: the policy and its rule.
    pub fn describe(&self) -> String {
        format!("{} {}", self.policy.describe(), self.label())
    }

    /// How the rule reaches addresses. A native pod peer reaches none; it reads as its rule.
    pub fn via(&self) -> Via {
        match self.written {
            Written::Native { peer, .. } => match peer.map(|p| &p.kind) {
                Some(PeerKind::IpBlock { cidr, .. }) => Via::IpBlock(*cidr),
                Some(PeerKind::Pods { .. }) | None => Via::AnyDestination,
            },
            Written::Engine { spec, rule } => Via::Engine {
                engine: spec.engine,
                how: rule.via.clone(),
            },
        }
    }
}
