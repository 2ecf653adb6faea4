//! `policy.networking.k8s.io/v1alpha1` AdminNetworkPolicy and BaselineAdminNetworkPolicy.

use super::engine::DecodedEngine;
use crate::yaml::Node;

/// Decodes an AdminNetworkPolicy (`baseline`: a BaselineAdminNetworkPolicy).
pub fn decode(_root: &Node, _baseline: bool) -> DecodedEngine {
    DecodedEngine {
        specs: Vec::new(),
        problems: Vec::new(),
        rejected: false,
        not_evaluated: Some("AdminNetworkPolicies are not evaluated yet".into()),
    }
}
