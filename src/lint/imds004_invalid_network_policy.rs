//! IMDS004: the API server would refuse the policy, or it holds fields the API does not know.

use super::{Check, Context, Draft, Rule, Severity, Subject};
use crate::decode::toolkit::ProblemKind;
use crate::model::Location;
use std::collections::HashSet;

pub static RULE: Rule = Rule {
    id: "IMDS004",
    name: "invalid-network-policy",
    severity: Severity::Error,
    summary: "the API server would reject the policy (or another object the analysis reads), or it has unknown fields",
    doc: include_str!("../../rules/IMDS004.md"),
    check: Check::Analysis(check),
};

fn check(ctx: &Context) -> Vec<Draft> {
    let mut seen = HashSet::new();
    let mut findings = Vec::new();
    for (index, policy) in ctx.model.policies_with_ids() {
        for problem in &policy.problems {
            let at = Location::new(policy.location.file, problem.span);
            // A file built into two namespaces holds one mistake, not two.
            if !seen.insert((at, problem.message.clone())) {
                continue;
            }
            let help = match problem.kind {
                ProblemKind::Invalid if policy.engine_kind.is_some() => {
                    "the API server (its CRD validation) or the CNI refuses this policy, so imds-lint leaves it out of the verdict"
                }
                ProblemKind::Invalid => {
                    "the API server refuses this policy, so imds-lint leaves it out of the verdict"
                }
                ProblemKind::UnknownField => {
                    "strict kubectl refuses this field and a lax client drops it; the verdict ignores it"
                }
            };
            findings.push(Draft {
                namespace: (!policy.namespace.is_empty()).then(|| policy.namespace.clone()),
                cluster: policy.cluster.clone(),
                at,
                message: format!("{}: {}", policy.describe(), problem.message),
                affects: String::new(),
                label: match problem.kind {
                    ProblemKind::Invalid => "invalid".into(),
                    ProblemKind::UnknownField => "unknown field".into(),
                },
                help: Some(help.into()),
                related: Vec::new(),
                subject: Subject::Policy(index),
            });
        }
    }
    for refused in &ctx.model.refused_objects {
        for problem in &refused.problems {
            let at = Location::new(refused.file, problem.span);
            if !seen.insert((at, problem.message.clone())) {
                continue;
            }
            findings.push(Draft {
                namespace: refused.namespace.clone(),
                cluster: refused.cluster.clone(),
                at,
                message: format!("{}: {}", refused.object, problem.message),
                affects: String::new(),
                label: "invalid".into(),
                help: Some(
                    "the API server or kubectl refuses this object, so imds-lint leaves it out \
                     of the verdict"
                        .into(),
                ),
                related: Vec::new(),
                subject: Subject::Namespace,
            });
        }
    }
    findings
}
