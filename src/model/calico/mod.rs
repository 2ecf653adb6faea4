//! Calico `projectcalico.org/v3` (and `crd.projectcalico.org/v1`) NetworkPolicy,
//! GlobalNetworkPolicy and Tier.

pub mod selector;

use super::engine::{Action, DecodedEngine, NetworkSetSpec, TierSpec};
use crate::net::IpSet;
use crate::yaml::Node;

/// Decodes a Calico policy object (`global` for GlobalNetworkPolicy).
pub fn decode(_root: &Node, _global: bool) -> DecodedEngine {
    DecodedEngine {
        specs: Vec::new(),
        problems: Vec::new(),
        rejected: false,
        not_evaluated: Some("Calico policies are not evaluated yet".into()),
    }
}

/// Decodes a Calico Tier.
pub fn decode_tier(_root: &Node) -> TierSpec {
    TierSpec {
        order: None,
        default_action: Action::Deny,
    }
}

/// Decodes a Calico NetworkSet or GlobalNetworkSet.
pub fn decode_network_set(_root: &Node) -> NetworkSetSpec {
    NetworkSetSpec {
        labels: Default::default(),
        nets: IpSet::empty(),
    }
}
