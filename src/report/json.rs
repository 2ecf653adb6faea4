//! `--format json`: the contract in the README. Deterministic: no times, sorted arrays.

use super::Summary;
use crate::Outcome;
use serde::Serialize;

#[derive(Serialize)]
struct Report<'a> {
    version: u32,
    namespaces: Vec<NamespaceOut<'a>>,
    workloads: Vec<WorkloadOut<'a>>,
    findings: Vec<FindingOut<'a>>,
    errors: Vec<ErrorOut<'a>>,
    skipped: Vec<SkippedOut<'a>>,
    not_evaluated: Vec<NotEvaluatedOut<'a>>,
    notes: &'a [String],
    suppressed: Vec<SuppressedOut<'a>>,
    ignored_namespaces: &'a [String],
    summary: Summary,
}

/// A finding an annotation suppressed, with the annotation's reason and place.
#[derive(Serialize)]
struct SuppressedOut<'a> {
    finding: FindingOut<'a>,
    reason: &'a str,
    suppressed_by: PlaceOut<'a>,
}

#[derive(Serialize)]
struct PlaceOut<'a> {
    file: &'a str,
    line: usize,
    column: usize,
}

fn suppressed_out<'a>(
    model: &'a crate::model::Model,
    s: &'a crate::suppress::Suppressed,
) -> SuppressedOut<'a> {
    let f = &s.finding;
    SuppressedOut {
        finding: FindingOut {
            rule: f.rule,
            name: crate::rules::find_rule(f.rule).map_or("", |r| r.name),
            severity: f.severity.to_string(),
            namespace: f.namespace.as_deref(),
            file: &model.files[f.at.file],
            line: f.at.line,
            column: f.at.column,
            end_line: f.at.end_line,
            end_column: f.at.end_column,
            message: &f.message,
        },
        reason: &s.reason,
        suppressed_by: PlaceOut {
            file: &model.files[s.by.file],
            line: s.by.line,
            column: s.by.column,
        },
    }
}

#[derive(Serialize)]
struct NamespaceOut<'a> {
    name: &'a str,
    metadata_reachable: bool,
    reachable_targets: Vec<String>,
    /// Every pod that could exist here is selected by some Egress policy.
    isolated: bool,
    has_deny_egress_all: bool,
    has_allow_except_metadata: bool,
}

#[derive(Serialize)]
struct WorkloadOut<'a> {
    namespace: &'a str,
    kind: &'a str,
    name: &'a str,
    metadata_reachable: bool,
    reachable_targets: Vec<String>,
    host_network: bool,
    file: &'a str,
    line: usize,
}

#[derive(Serialize)]
struct FindingOut<'a> {
    rule: &'a str,
    name: &'a str,
    severity: String,
    namespace: Option<&'a str>,
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    message: &'a str,
}

#[derive(Serialize)]
struct ErrorOut<'a> {
    file: &'a str,
    line: Option<usize>,
    column: Option<usize>,
    message: &'a str,
}

#[derive(Serialize)]
struct SkippedOut<'a> {
    path: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct NotEvaluatedOut<'a> {
    kind: &'a str,
    count: usize,
}

pub fn render(outcome: &Outcome) -> String {
    let model = &outcome.model;
    let strings =
        |ts: &[crate::net::Target]| ts.iter().map(ToString::to_string).collect::<Vec<_>>();
    let mut workloads: Vec<WorkloadOut> = outcome
        .analysis
        .workloads
        .iter()
        .map(|v| {
            let w = &model.workloads[v.workload];
            WorkloadOut {
                namespace: &w.namespace,
                kind: &w.kind,
                name: &w.name,
                metadata_reachable: !v.reachable.is_empty(),
                reachable_targets: strings(&v.reachable),
                host_network: w.spec.host_network.is_some(),
                file: &model.files[w.location.file],
                line: w.location.line,
            }
        })
        .collect();
    workloads.sort_by(|a, b| (a.file, a.line, a.namespace).cmp(&(b.file, b.line, b.namespace)));
    let report = Report {
        version: 1,
        namespaces: outcome
            .analysis
            .namespaces
            .iter()
            .map(|v| NamespaceOut {
                name: &v.name,
                metadata_reachable: !v.reachable.is_empty(),
                reachable_targets: strings(&v.reachable),
                isolated: v.unselected_pods.is_none(),
                has_deny_egress_all: v.deny_all.is_some(),
                has_allow_except_metadata: v.allow_except_metadata.is_some(),
            })
            .collect(),
        workloads,
        findings: outcome
            .findings
            .iter()
            .map(|f| FindingOut {
                rule: f.rule,
                name: crate::rules::find_rule(f.rule).map_or("", |r| r.name),
                severity: f.severity.to_string(),
                namespace: f.namespace.as_deref(),
                file: &model.files[f.at.file],
                line: f.at.line,
                column: f.at.column,
                end_line: f.at.end_line,
                end_column: f.at.end_column,
                message: &f.message,
            })
            .collect(),
        errors: outcome
            .errors
            .iter()
            .map(|e| ErrorOut {
                file: &e.file,
                line: e.pos.map(|p| p.line),
                column: e.pos.map(|p| p.column),
                message: &e.message,
            })
            .collect(),
        skipped: outcome
            .skipped
            .iter()
            .map(|s| SkippedOut {
                path: &s.path,
                reason: s.reason.describe(),
            })
            .collect(),
        not_evaluated: model
            .not_evaluated
            .iter()
            .map(|(kind, &count)| NotEvaluatedOut { kind, count })
            .collect(),
        notes: &outcome.notes,
        suppressed: outcome
            .suppressed
            .iter()
            .map(|s| suppressed_out(model, s))
            .collect(),
        ignored_namespaces: &outcome.ignored_namespaces,
        summary: Summary::of(outcome),
    };
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
    text.push('\n');
    text
}
