//! Suppressions: `imds-lint.io/ignore` annotations (with a required `imds-lint.io/reason`) on
//! Namespaces, NetworkPolicies and workloads. A suppressed finding leaves the failing set but
//! is still counted and reported as suppressed, never dropped silently.

use crate::lint::{Finding, Subject, find_rule};
use crate::model::{Location, Model, Suppression};

/// The rule that reports broken suppressions; an annotation cannot suppress it.
pub const INVALID_SUPPRESSION: &str = "IMDS006";

/// A finding an annotation suppressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed {
    pub finding: Finding,
    pub reason: String,
    /// The `imds-lint.io/ignore` annotation that suppressed it.
    pub by: Location,
}

/// Whether the annotation entry `entry` (a rule id, a name, or `all`) names the rule `rule_id`.
pub fn entry_names(entry: &str, rule_id: &str) -> bool {
    entry.eq_ignore_ascii_case("all") || find_rule(entry).is_some_and(|r| r.id == rule_id)
}

/// The annotations that may suppress `finding`: its namespace's, then its subject's.
pub fn candidates<'m>(model: &'m Model, finding: &Finding) -> Vec<&'m Suppression> {
    let namespace = finding
        .namespace
        .as_ref()
        .and_then(|name| {
            model.namespaces.get(&crate::model::NamespaceKey {
                cluster: finding.cluster.clone(),
                name: name.clone(),
            })
        })
        .and_then(|ns| ns.suppression.as_deref());
    let subject = match finding.subject {
        Subject::Namespace => None,
        Subject::Policy(id) => model.policy(id).suppression.as_deref(),
        Subject::Workload(id) => model.workload(id).suppression.as_deref(),
    };
    namespace.into_iter().chain(subject).collect()
}

/// The annotation that suppresses `finding`: one with a reason that names its rule.
pub fn suppressor<'m>(model: &'m Model, finding: &Finding) -> Option<&'m Suppression> {
    if finding.rule == INVALID_SUPPRESSION {
        return None;
    }
    candidates(model, finding)
        .into_iter()
        .find(|s| s.reason().is_some() && s.rules.iter().any(|e| entry_names(e, finding.rule)))
}

/// Splits findings into those that stand and those an annotation suppresses.
pub fn split(model: &Model, findings: Vec<Finding>) -> (Vec<Finding>, Vec<Suppressed>) {
    let mut kept = Vec::new();
    let mut suppressed = Vec::new();
    for finding in findings {
        match suppressor(model, &finding) {
            Some(s) => suppressed.push(Suppressed {
                reason: s.reason().unwrap_or_default().to_string(),
                by: s.at,
                finding,
            }),
            None => kept.push(finding),
        }
    }
    (kept, suppressed)
}
