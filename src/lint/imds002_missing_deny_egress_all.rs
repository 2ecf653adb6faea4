//! IMDS002: the namespace lacks the `deny-egress-all` half of the pair.

use super::{Check, Context, Draft, Rule, Severity, namespaces_lacking};

pub static RULE: Rule = Rule {
    id: "IMDS002",
    name: "missing-deny-egress-all",
    severity: Severity::Error,
    summary: "no policy selects all pods for Egress with no egress rules (a warning where no pod can reach a metadata endpoint)",
    doc: include_str!("../../rules/IMDS002.md"),
    check: Check::Graded(check),
};

fn check(ctx: &Context) -> Vec<(Severity, Draft)> {
    namespaces_lacking(
        ctx,
        |v| v.deny_all.is_none(),
        "deny-egress-all",
        "no policy here selects every pod for Egress with no rules",
        "add a NetworkPolicy with `podSelector: {}`, `policyTypes: [Egress]` and no egress rules",
    )
}
