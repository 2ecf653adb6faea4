//! Typed references into a [`Model`](super::Model): each names the list it indexes, so a
//! policy's index cannot be used as a rule's, nor a spec's rule looked up in another spec.

/// A policy: an index into [`Model::policies`](super::Model::policies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PolicyId(usize);

impl PolicyId {
    pub(super) fn new(index: usize) -> Self {
        Self(index)
    }

    pub(super) fn index(self) -> usize {
        self.0
    }

    /// The policy's `index`th spec.
    pub fn spec(self, index: usize) -> SpecId {
        SpecId {
            policy: self,
            index,
        }
    }
}

/// One spec of a policy, by its place in [`Policy::specs`](super::Policy::specs): a Cilium
/// policy has one per rule it holds (`spec`, each entry of `specs`), every other policy one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SpecId {
    policy: PolicyId,
    index: usize,
}

impl SpecId {
    pub fn policy(self) -> PolicyId {
        self.policy
    }

    pub(super) fn index(self) -> usize {
        self.index
    }

    /// The spec's `index`th rule.
    pub fn rule(self, index: usize) -> RuleRef {
        RuleRef { spec: self, index }
    }
}

/// One rule of one spec ([`Model::rule`](super::Model::rule) resolves it). A native
/// policy's rules are the peers of its egress rules, and its rules with no `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleRef {
    spec: SpecId,
    index: usize,
}

impl RuleRef {
    pub fn spec(self) -> SpecId {
        self.spec
    }

    pub fn policy(self) -> PolicyId {
        self.spec.policy
    }

    /// The rule's 0-based place in its spec.
    pub(super) fn index(self) -> usize {
        self.index
    }
}

/// A workload: an index into [`Model::workloads`](super::Model::workloads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadId(usize);

impl WorkloadId {
    pub(super) fn new(index: usize) -> Self {
        Self(index)
    }

    pub(super) fn index(self) -> usize {
        self.0
    }
}
