//! IMDS007: one object declared twice (same cluster, API group, kind, namespace and name). In
//! one kustomize build kustomize refuses the whole build: an error, whatever the kind. Elsewhere
//! the copy applied last replaces the other: a warning, for the kinds the analysis reads (a
//! second ConfigMap changes no verdict). The model holds one copy either way (see
//! `model::Duplicate`).

use super::{Check, Context, Draft, Related, Rule, Severity, Subject};
use crate::model::{Duplicate, Location, Model};
use std::collections::HashMap;

pub static RULE: Rule = Rule {
    id: "IMDS007",
    name: "duplicate-object",
    severity: Severity::Error,
    summary: "an object is declared twice: in one kustomize build (error: the build fails), or anywhere else (warning: the last copy applied wins)",
    doc: include_str!("../../rules/IMDS007.md"),
    check: Check::Graded(check),
};

fn check(ctx: &Context) -> Vec<(Severity, Draft)> {
    let model = ctx.model;
    if model.duplicates.is_empty() {
        return Vec::new();
    }
    let subjects = subjects(model);
    model
        .duplicates
        .iter()
        // A refused build loses every object; a replaced copy matters where it is read.
        .filter(|d| d.refused.is_some() || d.read)
        .map(|d| {
            let subject = subjects
                .get(&(d.kept(), d.id.cluster.as_deref(), d.id.namespace.as_deref()))
                .copied()
                .unwrap_or(Subject::Namespace);
            draft(model, d, subject)
        })
        .collect()
}

/// The copy in the model of each policy and workload, by where it is and lands: a finding
/// about a duplicate is about that copy, whose annotation may suppress it.
fn subjects(model: &Model) -> HashMap<(Location, Option<&str>, Option<&str>), Subject> {
    let policies = model.policies_with_ids().map(|(id, p)| {
        (
            (p.location, p.cluster.as_deref(), non_empty(&p.namespace)),
            Subject::Policy(id),
        )
    });
    let workloads = model.workloads_with_ids().map(|(id, w)| {
        (
            (w.location, w.cluster.as_deref(), Some(w.namespace.as_str())),
            Subject::Workload(id),
        )
    });
    policies.chain(workloads).collect()
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn draft(model: &Model, d: &Duplicate, subject: Subject) -> (Severity, Draft) {
    let what = d.id.describe();
    let place = |at: Location| format!("{}:{}", model.files[at.file], at.line);
    // A Namespace object's findings belong to the namespace it declares.
    let namespace =
        d.id.namespace.clone().or_else(|| {
            (d.id.group.is_empty() && d.id.kind == "Namespace").then(|| d.id.name.clone())
        });
    let (severity, message, label, help, related) = match &d.refused {
        Some(build) => (
            Severity::Error,
            format!(
                "{what} is declared twice in one kustomize build (also at {}): kustomize \
                 refuses to build {} (\"{}\"), so none of its objects are applied",
                place(d.first),
                build.name,
                if build.after_namespace {
                    "namespace transformation produces ID conflict"
                } else {
                    "may not add resource with an already registered id"
                },
            ),
            format!("second {what} in this build"),
            "keep one copy in the build: drop one from its resources, or give one copy \
             another name; until then the verdicts count the other copy, as if the build \
             were applied"
                .to_string(),
            format!("the other {what} of the build, which the verdicts count"),
        ),
        None if d.same_source => (
            Severity::Warning,
            format!(
                "{what} is applied twice from this manifest, by two builds that change it \
                 differently: the one applied last replaces the other, so only it counts",
            ),
            "applied twice, differently".to_string(),
            "let one build apply the object, or make the builds agree on it (their patches, \
             labels and prefixes)"
                .to_string(),
            format!("{what}, as another build applies it"),
        ),
        None => (
            Severity::Warning,
            format!(
                "{what} is declared twice: this copy is applied after the one at {} and \
                 replaces it, so only this one counts",
                place(d.first),
            ),
            format!("replaces the copy at {}", place(d.first)),
            "keep one declaration of the object: delete the other copy, or give one another \
             name if both are meant to exist (files are applied in path order, documents in \
             file order, and the last copy wins)"
                .to_string(),
            format!("{what}, replaced by the copy at {}", place(d.second)),
        ),
    };
    let draft = Draft {
        namespace,
        cluster: d.id.cluster.clone(),
        at: d.second,
        message,
        affects: String::new(),
        label,
        help: Some(help),
        related: vec![Related {
            at: d.first,
            message: related,
        }],
        subject,
    };
    (severity, draft)
}
