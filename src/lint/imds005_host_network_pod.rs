//! IMDS005: a workload shares the node's network namespace, where NetworkPolicy does not apply.

use super::{Check, Context, Draft, Rule, Severity, Subject};
use crate::model::Location;
use crate::net::list_targets;

pub static RULE: Rule = Rule {
    id: "IMDS005",
    name: "host-network-pod",
    severity: Severity::Warning,
    summary: "a workload runs with hostNetwork: true",
    doc: include_str!("../../rules/IMDS005.md"),
    check: Check::Analysis(check),
};

fn check(ctx: &Context) -> Vec<Draft> {
    ctx.model
        .workloads_with_ids()
        .filter_map(|(index, w)| {
            let at = Location::new(w.location.file, w.spec.host_network?);
            Some(Draft {
                namespace: Some(w.namespace.clone()),
                cluster: w.cluster.clone(),
                at,
                message: format!(
                    "{} {}/{} runs with hostNetwork: true and reaches {} whatever the policies say",
                    w.kind,
                    w.namespace,
                    w.name,
                    list_targets(&ctx.analysis.targets)
                ),
                affects: String::new(),
                label: "NetworkPolicy does not apply to host-network pods".into(),
                help: Some(
                    "drop `hostNetwork: true` if these pods do not need it; otherwise block the \
                     metadata endpoint for them on the node (e.g. an iptables rule for their UID), \
                     since no NetworkPolicy applies to them and so their namespace counts as \
                     reachable (IMDS001)"
                        .into(),
                ),
                related: Vec::new(),
                subject: Subject::Workload(index),
            })
        })
        .collect()
}
