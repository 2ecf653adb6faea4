//! IMDS006: an `imds-lint.io/ignore` annotation that has no reason, names an unknown rule, or
//! suppresses nothing.

use super::{Context, Finding, Rule, Severity, Subject, find_rule};
use crate::decode::object::{IGNORE_ANNOTATION, REASON_ANNOTATION};
use crate::lint::suppress::{INVALID_SUPPRESSION, candidates, entry_names};
use crate::model::{Location, Suppression};
use std::collections::HashSet;

pub static RULE: Rule = Rule {
    id: INVALID_SUPPRESSION,
    name: "invalid-suppression",
    severity: Severity::Warning,
    summary: "an imds-lint.io/ignore annotation has no reason, names an unknown rule, or suppresses nothing",
    doc: include_str!("../../rules/IMDS006.md"),
    check,
};

/// An annotated object: its annotation, namespace, what findings about it are, and its name.
struct Site<'a> {
    suppression: &'a Suppression,
    cluster: Option<&'a str>,
    namespace: &'a str,
    subject: Subject,
    object: String,
}

fn check(ctx: &Context) -> Vec<Finding> {
    let model = ctx.model;
    let namespaces = model.namespaces.iter().filter_map(|(key, ns)| {
        Some(Site {
            suppression: ns.suppression.as_ref()?,
            cluster: key.cluster.as_deref(),
            namespace: &ns.name,
            subject: Subject::Namespace,
            object: format!("Namespace {}", ns.name),
        })
    });
    let policies = model.policies_with_ids().filter_map(|(i, p)| {
        Some(Site {
            suppression: p.suppression.as_ref()?,
            cluster: p.cluster.as_deref(),
            namespace: &p.namespace,
            subject: Subject::Policy(i),
            object: p.describe(),
        })
    });
    let workloads = model.workloads_with_ids().filter_map(|(i, w)| {
        Some(Site {
            suppression: w.suppression.as_ref()?,
            cluster: w.cluster.as_deref(),
            namespace: &w.namespace,
            subject: Subject::Workload(i),
            object: format!("{} {}/{}", w.kind, w.namespace, w.name),
        })
    });
    // Whether some earlier finding could be suppressed by the annotation at `at` for `entry`.
    let used = |at: Location, entry: &str| {
        ctx.earlier
            .iter()
            .any(|f| entry_names(entry, f.rule) && candidates(model, f).iter().any(|c| c.at == at))
    };
    let mut seen = HashSet::new();
    let mut findings = Vec::new();
    for stray in &model.stray_suppressions {
        let s = &stray.suppression;
        if !seen.insert(s.at) {
            continue;
        }
        findings.push(Finding {
            rule: RULE.id,
            severity: RULE.severity,
            namespace: stray.namespace.clone(),
            cluster: stray.cluster.clone(),
            at: s.at,
            message: format!(
                "{IGNORE_ANNOTATION} on {} has no effect: only Namespaces, NetworkPolicies \
                 and workloads can suppress findings",
                stray.object
            ),
            label: "no finding is about this object".into(),
            help: Some(
                "move the annotation to the Namespace, NetworkPolicy or workload the finding is about"
                    .into(),
            ),
            related: Vec::new(),
            subject: Subject::Namespace,
        });
    }
    for site in namespaces.chain(policies).chain(workloads) {
        let s = site.suppression;
        // A file built into two namespaces holds one annotation, not two.
        if !seen.insert(s.at) {
            continue;
        }
        let mut report = |at: Location, message: String, label: &str, help: &str| {
            findings.push(Finding {
                rule: RULE.id,
                severity: RULE.severity,
                namespace: Some(site.namespace.to_string()),
                cluster: site.cluster.map(str::to_string),
                at,
                message: format!("{IGNORE_ANNOTATION} on {}: {message}", site.object),
                label: label.into(),
                help: Some(help.into()),
                related: Vec::new(),
                subject: site.subject,
            });
        };
        if s.reason().is_none() {
            report(
                s.at,
                format!("no {REASON_ANNOTATION}, so it suppresses nothing"),
                "suppression without a reason",
                &format!(
                    "add a `{REASON_ANNOTATION}` annotation saying why the finding is accepted"
                ),
            );
            continue;
        }
        if s.rules.is_empty() {
            report(
                s.value_at,
                "names no rule".into(),
                "empty list",
                "list the rule ids to suppress, e.g. \"IMDS002,IMDS003\"",
            );
        }
        for entry in &s.rules {
            let known = entry.eq_ignore_ascii_case("all") || find_rule(entry).is_some();
            if !known {
                report(
                    s.value_at,
                    format!("names unknown rule {entry:?}"),
                    "unknown rule",
                    "use rule ids or names from `imds-lint rule`, or `all`",
                );
            } else if find_rule(entry).is_some_and(|r| r.id == RULE.id) {
                report(
                    s.value_at,
                    format!("{entry} cannot be suppressed by an annotation"),
                    "cannot be suppressed here",
                    "turn IMDS006 off in .imds-lint.yaml instead (`rules: {IMDS006: off}`)",
                );
            } else if find_rule(entry).is_none_or(|r| ctx.settings.is_enabled(r.id))
                && !used(s.at, entry)
            {
                let what = if entry.eq_ignore_ascii_case("all") {
                    "no finding".to_string()
                } else {
                    format!("no {entry} finding")
                };
                let place = match site.subject {
                    Subject::Namespace => format!("in namespace {}", site.namespace),
                    _ => "is about this object".to_string(),
                };
                // IMDS001 is about the policy that opens the endpoint, or the namespace whose
                // pods no policy selects, never about one workload.
                let on_workload_for_imds001 = matches!(site.subject, Subject::Workload(_))
                    && find_rule(entry).is_some_and(|r| r.id == "IMDS001");
                report(
                    s.value_at,
                    format!("{entry} suppresses nothing: {what} {place}"),
                    "unused suppression",
                    if on_workload_for_imds001 {
                        "IMDS001 findings are about the NetworkPolicy that opens the endpoint, or \
                         the Namespace whose pods no policy selects: annotate that object instead"
                    } else {
                        "remove the entry (or the annotation) so it cannot hide a future finding"
                    },
                );
            }
        }
    }
    findings
}
