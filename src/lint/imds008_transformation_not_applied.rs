//! IMDS008: a kustomization or controller does something imds-lint does not apply (a
//! warning), or something kustomize or the controller refuses, so that nothing of the build is
//! applied (an error); either way the verdicts of the namespaces it reaches are uncertain.

use super::{Check, Context, Draft, Rule, Severity, Subject};

pub static RULE: Rule = Rule {
    id: "IMDS008",
    name: "transformation-not-applied",
    severity: Severity::Error,
    summary: "a transformation that could change a verdict is not applied (warning), or the build is refused (error): the verdict is uncertain",
    doc: include_str!("../../rules/IMDS008.md"),
    check: Check::Graded(check),
};

fn check(ctx: &Context) -> Vec<(Severity, Draft)> {
    let mut drafts = Vec::new();
    // A duplicate in one build is IMDS007's error already.
    let duplicate_at = |u: &crate::model::Uncertainty| {
        ctx.model
            .duplicates
            .iter()
            .any(|d| d.refused.is_some() && d.second == u.at)
    };
    for (key, namespace) in &ctx.model.namespaces {
        for u in namespace.uncertain.iter().filter(|u| !duplicate_at(u)) {
            let severity = if u.refused {
                Severity::Error
            } else {
                Severity::Warning
            };
            drafts.push((severity, Draft {
                namespace: Some(key.name.clone()),
                cluster: key.cluster.clone(),
                at: u.at,
                message: format!(
                    "{}; the verdict of namespace {} is uncertain",
                    u.reason, key.name
                ),
                affects: String::new(),
                label: if u.refused {
                    "refused: nothing of this build is applied".into()
                } else {
                    "not applied".into()
                },
                help: Some(
                    "lint the rendered output instead (`kubectl kustomize DIR | imds-lint -`), \
                     or replace the transformation with one imds-lint applies (patches, labels, \
                     namePrefix)"
                        .into(),
                ),
                related: Vec::new(),
                subject: Subject::Namespace,
            }));
        }
    }
    drafts
}
