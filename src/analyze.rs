//! Stage 5: effective egress and reachability of the metadata endpoints. Pure: no I/O.
//!
//! Kubernetes semantics: a pod is egress-isolated iff some Egress policy selects it; an
//! isolated pod may send exactly what the union of the rules of the policies selecting it
//! allows; a pod that no Egress policy selects may send anything.

use crate::model::policy::PeerKind;
use crate::model::{Location, Model, Policy};
use crate::net::{IpSet, PortSet, Target};
use ipnet::IpNet;
use std::collections::HashMap;

/// How a rule lets traffic reach a target.
#[derive(Debug, Clone, PartialEq)]
pub enum Via {
    /// The rule has no `to`: every destination.
    AnyDestination,
    /// An ipBlock whose cidr contains the target and whose excepts leave it in.
    IpBlock(IpNet),
}

/// A place in a policy that opens one or more targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Opening {
    pub policy: usize,
    /// 0-based index of the egress rule.
    pub rule: usize,
    pub at: Location,
    pub via: Via,
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceVerdict {
    pub name: String,
    /// Some pod that could exist here is selected by no Egress policy, so is not isolated.
    pub unisolated: bool,
    pub openings: Vec<Opening>,
    /// Targets some pod here can reach, sorted.
    pub reachable: Vec<Target>,
    /// A policy selecting every pod for Egress with no rules (the deny half), if any.
    pub deny_all: Option<usize>,
    /// A policy selecting every pod that allows 0.0.0.0/0 minus every IPv4 target, if any.
    pub allow_except_metadata: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadVerdict {
    pub workload: usize,
    /// Some Egress policy selects the workload's pods.
    pub isolated: bool,
    pub reachable: Vec<Target>,
    /// The Egress policies that select the workload's pods.
    pub selected_by: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Analysis {
    pub targets: Vec<Target>,
    /// One verdict per namespace, sorted by name.
    pub namespaces: Vec<NamespaceVerdict>,
    pub workloads: Vec<WorkloadVerdict>,
}

/// Where a rule of `policy` opens `targets`, one entry per opening peer or `to`-less rule.
fn openings_of(index: usize, policy: &Policy, targets: &[Target]) -> Vec<Opening> {
    let mut out = Vec::new();
    for (r, rule) in policy.decoded.spec.egress.iter().enumerate() {
        let port_ok: Vec<Target> = targets
            .iter()
            .copied()
            .filter(|t| rule.ports.contains(t.protocol, t.port))
            .collect();
        if port_ok.is_empty() {
            continue;
        }
        let mut push = |at, via, reached: Vec<Target>| {
            if !reached.is_empty() {
                out.push(Opening {
                    policy: index,
                    rule: r,
                    at: Location::new(policy.file, at),
                    via,
                    targets: reached,
                });
            }
        };
        match &rule.to {
            None => push(rule.span, Via::AnyDestination, port_ok),
            Some(peers) => {
                for peer in peers {
                    if let PeerKind::IpBlock { cidr, allowed } = &peer.kind {
                        let reached = port_ok
                            .iter()
                            .copied()
                            .filter(|t| allowed.contains(t.addr))
                            .collect();
                        push(peer.span, Via::IpBlock(*cidr), reached);
                    }
                }
            }
        }
    }
    out
}

fn is_deny_all(policy: &Policy) -> bool {
    policy.governs_egress()
        && policy.decoded.spec.pod_selector.selects_all()
        && policy.decoded.spec.egress.is_empty()
}

fn is_allow_except_metadata(policy: &Policy, targets: &[Target]) -> bool {
    let whole_v4 = IpSet::from_net(&IpNet::V4(Default::default()));
    policy.governs_egress()
        && policy.decoded.spec.pod_selector.selects_all()
        && policy.decoded.spec.egress.iter().any(|rule| {
            rule.ports == PortSet::all()
                && rule.to.iter().flatten().any(|peer| match &peer.kind {
                    PeerKind::IpBlock { cidr, allowed } => {
                        IpSet::from_net(cidr) == whole_v4
                            && targets
                                .iter()
                                .filter(|t| t.addr.is_ipv4())
                                .all(|t| !allowed.contains(t.addr))
                    }
                    PeerKind::Pods => false,
                })
        })
}

pub fn analyze(model: &Model, targets: &[Target]) -> Analysis {
    let mut by_namespace: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, p) in model.policies.iter().enumerate() {
        if p.governs_egress() {
            by_namespace
                .entry(p.namespace.as_str())
                .or_default()
                .push(i);
        }
    }
    let mut openings_by_policy: HashMap<usize, Vec<Opening>> = HashMap::new();
    for indices in by_namespace.values() {
        for &i in indices {
            let policy = &model.policies[i];
            if policy.decoded.spec.pod_selector.is_satisfiable() {
                openings_by_policy.insert(i, openings_of(i, policy, targets));
            }
        }
    }

    let namespaces = model
        .namespaces
        .keys()
        .map(|name| {
            let governing: &[usize] = by_namespace.get(name.as_str()).map_or(&[], Vec::as_slice);
            let policies = || governing.iter().map(|&i| (i, &model.policies[i]));
            let unisolated = !policies().any(|(_, p)| p.decoded.spec.pod_selector.selects_all());
            let openings: Vec<Opening> = governing
                .iter()
                .flat_map(|i| openings_by_policy.get(i).cloned().unwrap_or_default())
                .collect();
            let mut reachable: Vec<Target> = if unisolated {
                targets.to_vec()
            } else {
                openings
                    .iter()
                    .flat_map(|o| o.targets.iter().copied())
                    .collect()
            };
            reachable.sort();
            reachable.dedup();
            NamespaceVerdict {
                name: name.clone(),
                unisolated,
                openings,
                reachable,
                deny_all: policies().find(|(_, p)| is_deny_all(p)).map(|(i, _)| i),
                allow_except_metadata: policies()
                    .find(|(_, p)| is_allow_except_metadata(p, targets))
                    .map(|(i, _)| i),
            }
        })
        .collect();

    let workloads = model
        .workloads
        .iter()
        .enumerate()
        .map(|(w, workload)| {
            let selecting: Vec<usize> = by_namespace
                .get(workload.namespace.as_str())
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .copied()
                .filter(|&i| {
                    model.policies[i]
                        .decoded
                        .spec
                        .pod_selector
                        .matches(&workload.spec.pod_labels)
                })
                .collect();
            let isolated = !selecting.is_empty();
            let mut reachable: Vec<Target> = if workload.spec.host_network.is_some() || !isolated {
                targets.to_vec()
            } else {
                selecting
                    .iter()
                    .flat_map(|i| openings_by_policy.get(i).into_iter().flatten())
                    .flat_map(|o| o.targets.iter().copied())
                    .collect()
            };
            reachable.sort();
            reachable.dedup();
            WorkloadVerdict {
                workload: w,
                isolated,
                reachable,
                selected_by: selecting,
            }
        })
        .collect();

    Analysis {
        targets: targets.to_vec(),
        namespaces,
        workloads,
    }
}
