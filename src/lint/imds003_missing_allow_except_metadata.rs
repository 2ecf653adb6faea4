//! IMDS003: the namespace lacks the `allow-egress-all-except-metadata` half of the pair.

use super::{Check, Context, Draft, Rule, Severity, namespaces_lacking};

pub static RULE: Rule = Rule {
    id: "IMDS003",
    name: "missing-allow-except-metadata",
    severity: Severity::Error,
    summary: "no policy selects all pods and allows 0.0.0.0/0 with every IPv4 target carved out by except (a warning where no pod can reach a metadata endpoint)",
    doc: include_str!("../../rules/IMDS003.md"),
    check: Check::Graded(check),
};

fn check(ctx: &Context) -> Vec<(Severity, Draft)> {
    let excepts: Vec<String> = ctx
        .analysis
        .targets
        .iter()
        .filter(|t| t.addr.is_ipv4())
        .map(|t| t.host_cidr().to_string())
        .collect();
    namespaces_lacking(
        ctx,
        |v| v.allow_except_metadata.is_none(),
        "allow-egress-all-except-metadata",
        "no policy here allows 0.0.0.0/0 except the metadata address",
        &format!(
            "add a NetworkPolicy with `podSelector: {{}}`, `policyTypes: [Egress]` and one rule \
             `to: [ipBlock: {{cidr: 0.0.0.0/0, except: [{}]}}]`",
            excepts.join(", ")
        ),
    )
}
