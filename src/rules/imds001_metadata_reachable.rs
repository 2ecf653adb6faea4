//! IMDS001: some pod that could exist in the namespace can reach a metadata endpoint.

use super::{Context, Finding, Rule, Severity, Subject, list_targets, namespace_anchor};
use crate::analyze::Via;

pub static RULE: Rule = Rule {
    id: "IMDS001",
    name: "metadata-reachable",
    severity: Severity::Error,
    summary: "some pod in the namespace can reach a metadata endpoint",
    doc: include_str!("../../rules/IMDS001.md"),
    check,
};

fn check(ctx: &Context) -> Vec<Finding> {
    let mut findings = Vec::new();
    for verdict in &ctx.analysis.namespaces {
        let Some(ns) = ctx.model.namespaces.get(&verdict.name) else {
            continue;
        };
        if let Some(pods) = &verdict.unselected_pods {
            findings.push(Finding {
                rule: RULE.id,
                severity: RULE.severity,
                namespace: Some(verdict.name.clone()),
                at: namespace_anchor(ns),
                message: format!(
                    "{pods} in namespace {} are selected by no Egress NetworkPolicy and can reach {}",
                    verdict.name,
                    list_targets(&verdict.reachable)
                ),
                label: "no Egress policy isolates these pods".into(),
                help: Some(
                    "add the deny-egress-all and allow-egress-all-except-metadata policies \
                     (imds-lint rule IMDS002, imds-lint rule IMDS003)"
                        .into(),
                ),
                related: Vec::new(),
                subject: Subject::Namespace,
            });
        }
        for opening in &verdict.openings {
            let policy = &ctx.model.policies[opening.policy];
            let targets = list_targets(&opening.targets);
            let first = opening
                .targets
                .first()
                .map(|t| t.addr.to_string())
                .unwrap_or_default();
            let (label, help) = match &opening.via {
                Via::AnyDestination => (
                    "this rule has no `to`, so it allows every destination".to_string(),
                    "add a `to` with an ipBlock whose `except` lists the metadata address, or limit \
                     the rule's ports"
                        .to_string(),
                ),
                Via::IpBlock(cidr) => (
                    format!("ipBlock {cidr} contains {first}"),
                    format!(
                        "add the metadata address to this ipBlock's `except` (e.g. {}), or narrow the cidr",
                        opening
                            .targets
                            .iter()
                            .map(|t| t.host_cidr().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            };
            findings.push(Finding {
                rule: RULE.id,
                severity: RULE.severity,
                namespace: Some(verdict.name.clone()),
                at: opening.at,
                message: format!(
                    "NetworkPolicy {}/{} egress rule {} lets {} reach {}",
                    verdict.name,
                    policy.name,
                    opening.rule + 1,
                    policy.decoded.spec.pod_selector.describe(),
                    targets
                ),
                label,
                help: Some(help),
                related: Vec::new(),
                subject: Subject::Policy(opening.policy),
            });
        }
    }
    findings
}
