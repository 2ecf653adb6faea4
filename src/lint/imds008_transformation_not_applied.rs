//! IMDS008: a kustomization or controller does something imds-lint does not apply, so the
//! verdicts of the namespaces it reaches are uncertain.

use super::{Check, Context, Draft, Rule, Severity, Subject};

pub static RULE: Rule = Rule {
    id: "IMDS008",
    name: "transformation-not-applied",
    severity: Severity::Warning,
    summary: "a transformation that could change a verdict is not applied: the verdict is uncertain",
    doc: include_str!("../../rules/IMDS008.md"),
    check: Check::Analysis(check),
};

fn check(ctx: &Context) -> Vec<Draft> {
    let mut drafts = Vec::new();
    for (key, namespace) in &ctx.model.namespaces {
        for u in &namespace.uncertain {
            drafts.push(Draft {
                namespace: Some(key.name.clone()),
                cluster: key.cluster.clone(),
                at: u.at,
                message: format!(
                    "{}; the verdict of namespace {} is uncertain",
                    u.reason, key.name
                ),
                affects: String::new(),
                label: "not applied".into(),
                help: Some(
                    "lint the rendered output instead (`kubectl kustomize DIR | imds-lint -`), \
                     or replace the transformation with one imds-lint applies (patches, labels, \
                     namePrefix)"
                        .into(),
                ),
                related: Vec::new(),
                subject: Subject::Namespace,
            });
        }
    }
    drafts
}
