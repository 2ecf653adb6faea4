//! IMDS003: the namespace lacks the `allow-egress-all-except-metadata` half of the pair.

use super::{Context, Finding, Rule, Severity, namespace_anchor};

pub static RULE: Rule = Rule {
    id: "IMDS003",
    name: "missing-allow-except-metadata",
    severity: Severity::Error,
    summary: "no policy selects all pods and allows 0.0.0.0/0 with every IPv4 target carved out by except",
    doc: include_str!("../../rules/IMDS003.md"),
    check,
};

fn check(ctx: &Context) -> Vec<Finding> {
    let excepts: Vec<String> = ctx
        .analysis
        .targets
        .iter()
        .filter(|t| t.addr.is_ipv4())
        .map(|t| format!("{}/32", t.addr))
        .collect();
    ctx.analysis
        .namespaces
        .iter()
        .filter(|v| v.allow_except_metadata.is_none())
        .filter_map(|v| {
            let ns = ctx.model.namespaces.get(&v.name)?;
            Some(Finding {
                rule: RULE.id,
                severity: RULE.severity,
                namespace: Some(v.name.clone()),
                at: namespace_anchor(ns),
                message: format!("namespace {} has no allow-egress-all-except-metadata policy", v.name),
                label: "no policy here allows 0.0.0.0/0 except the metadata address".into(),
                help: Some(format!(
                    "add a NetworkPolicy with `podSelector: {{}}`, `policyTypes: [Egress]` and one rule \
                     `to: [ipBlock: {{cidr: 0.0.0.0/0, except: [{}]}}]`",
                    excepts.join(", ")
                )),
            })
        })
        .collect()
}
