//! IMDS002: the namespace lacks the `deny-egress-all` half of the pair.

use super::{Context, Finding, Rule, Severity, namespace_anchor};

pub static RULE: Rule = Rule {
    id: "IMDS002",
    name: "missing-deny-egress-all",
    severity: Severity::Error,
    summary: "no policy selects all pods for Egress with no egress rules",
    doc: include_str!("../../rules/IMDS002.md"),
    check,
};

fn check(ctx: &Context) -> Vec<Finding> {
    ctx.analysis
        .namespaces
        .iter()
        .filter(|v| v.deny_all.is_none())
        .filter_map(|v| {
            let ns = ctx.model.namespaces.get(&v.name)?;
            Some(Finding {
                rule: RULE.id,
                severity: RULE.severity,
                namespace: Some(v.name.clone()),
                at: namespace_anchor(ns),
                message: format!("namespace {} has no deny-egress-all policy", v.name),
                label: "no policy here selects every pod for Egress with no rules".into(),
                help: Some(
                    "add a NetworkPolicy with `podSelector: {}`, `policyTypes: [Egress]` and no egress rules"
                        .into(),
                ),
            })
        })
        .collect()
}
