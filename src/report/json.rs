//! `--format json`: the contract in the README. Deterministic: no times, sorted arrays.

use super::Summary;
use crate::Outcome;
use crate::analyze::{NamespaceVerdict, Opening, WorkloadVerdict};
use crate::model::{Model, NamespaceKey, Policy, UnevaluatedObject};
use crate::net::Target;
use serde::Serialize;

#[derive(Serialize)]
struct Report<'a> {
    version: u32,
    targets: Vec<TargetOut>,
    namespaces: Vec<NamespaceOut<'a>>,
    workloads: Vec<WorkloadOut<'a>>,
    findings: Vec<FindingOut<'a>>,
    errors: Vec<ErrorOut<'a>>,
    skipped: Vec<SkippedOut<'a>>,
    not_evaluated: Vec<NotEvaluatedOut<'a>>,
    /// Every NetworkPolicy with where it landed (one entry per way a shared base lands).
    policies: Vec<PolicyOut<'a>>,
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

fn finding_out<'a>(model: &'a crate::model::Model, f: &'a crate::lint::Finding) -> FindingOut<'a> {
    FindingOut {
        rule: f.rule,
        name: crate::lint::find_rule(f.rule).map_or("", |r| r.name),
        severity: f.severity.to_string(),
        namespace: f.namespace.as_deref(),
        cluster: f.cluster.as_deref(),
        file: &model.files[f.at.file],
        line: f.at.line,
        column: f.at.column,
        end_line: f.at.end_line,
        end_column: f.at.end_column,
        message: f.text(),
        related: f
            .related
            .iter()
            .map(|r| RelatedOut {
                file: &model.files[r.at.file],
                line: r.at.line,
                column: r.at.column,
                message: &r.message,
            })
            .collect(),
    }
}

fn suppressed_out<'a>(
    model: &'a crate::model::Model,
    s: &'a crate::lint::suppress::Suppressed,
) -> SuppressedOut<'a> {
    let f = &s.finding;
    SuppressedOut {
        finding: finding_out(model, f),
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
    cluster: Option<&'a str>,
    metadata_reachable: bool,
    reachable_targets: Vec<String>,
    /// Every pod that could exist here is selected by some Egress policy.
    isolated: bool,
    has_deny_egress_all: bool,
    has_allow_except_metadata: bool,
    /// Other engines' policies (Cilium, Calico, AdminNetworkPolicy) whose Deny rules keep
    /// every target closed here, so the native pair is not needed.
    protected_by: Vec<&'a str>,
    /// Why the verdict is uncertain: what lands here is not fully applied. Empty: certain.
    uncertain: Vec<UncertainOut<'a>>,
}

#[derive(Serialize)]
struct UncertainOut<'a> {
    reason: &'a str,
    file: &'a str,
    line: usize,
    column: usize,
}

#[derive(Serialize)]
struct WorkloadOut<'a> {
    namespace: &'a str,
    cluster: Option<&'a str>,
    kind: &'a str,
    name: &'a str,
    metadata_reachable: bool,
    reachable_targets: Vec<String>,
    host_network: bool,
    /// Some Egress policy selects the workload's pods.
    isolated: bool,
    /// Names of the Egress policies selecting its pods.
    selected_by: Vec<&'a str>,
    /// Each policy rule that opens a target to its pods.
    reached_through: Vec<ThroughOut<'a>>,
    file: &'a str,
    line: usize,
}

#[derive(Serialize)]
struct ThroughOut<'a> {
    kind: &'a str,
    policy: &'a str,
    /// 1-based, as in messages.
    rule: usize,
    /// The rule as messages name it: `egress rule 1`, `egressDeny rule 2`.
    rule_name: String,
    /// Rules that passed the traffic on to this one's tier (AdminNetworkPolicy or Calico
    /// `Pass`), as `Kind name: rule`.
    passed_by: Vec<String>,
    targets: Vec<String>,
    file: &'a str,
    line: usize,
    column: usize,
}

#[derive(Serialize)]
struct TargetOut {
    target: String,
    address: String,
    port: u16,
    protocol: &'static str,
    /// The presets this endpoint belongs to, when it is a well-known one.
    known_as: Option<String>,
}

#[derive(Serialize)]
struct RelatedOut<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    message: &'a str,
}

#[derive(Serialize)]
struct FindingOut<'a> {
    rule: &'a str,
    name: &'a str,
    severity: String,
    namespace: Option<&'a str>,
    cluster: Option<&'a str>,
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    message: String,
    related: Vec<RelatedOut<'a>>,
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
    reason: &'a str,
    objects: Vec<UnevaluatedObjectOut<'a>>,
}

#[derive(Serialize)]
struct PolicyOut<'a> {
    kind: &'a str,
    /// `Cilium`, `Calico`, `AdminNetworkPolicy`, `BaselineAdminNetworkPolicy`; `null` for
    /// native NetworkPolicies.
    engine: Option<&'static str>,
    /// Whether imds-lint evaluates it (see `not_evaluated` when not).
    evaluated: bool,
    name: &'a str,
    cluster: Option<&'a str>,
    /// `null` for cluster-scoped kinds.
    namespace: Option<&'a str>,
    file: &'a str,
    line: usize,
}

#[derive(Serialize)]
struct UnevaluatedObjectOut<'a> {
    name: &'a str,
    cluster: Option<&'a str>,
    namespace: Option<&'a str>,
    file: &'a str,
    line: usize,
}

/// The report as one string (tests, and callers that need the text).
pub fn render(outcome: &Outcome) -> String {
    let mut text = Vec::new();
    // Writing into a `Vec` cannot fail.
    let _ = write(outcome, &mut text);
    String::from_utf8(text).unwrap_or_default()
}

/// Writes the report to `out` as it is serialized, so that a large report (tens of MB for
/// 100,000 workloads) is never held whole in memory. Same bytes as [`render`].
pub fn write(outcome: &Outcome, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let model = &outcome.model;
    let mut workloads: Vec<WorkloadOut> = outcome
        .analysis
        .workloads
        .iter()
        .map(|v| workload_out(model, v))
        .collect();
    workloads.sort_by(|a, b| {
        (a.file, a.line, a.cluster, a.namespace).cmp(&(b.file, b.line, b.cluster, b.namespace))
    });
    let report = Report {
        version: 1,
        targets: outcome.analysis.targets.iter().map(target_out).collect(),
        namespaces: outcome
            .analysis
            .namespaces
            .iter()
            .map(|v| namespace_out(model, v))
            .collect(),
        workloads,
        findings: outcome
            .findings
            .iter()
            .map(|f| finding_out(model, f))
            .collect(),
        errors: outcome
            .errors
            .iter()
            .map(|e| ErrorOut {
                file: &e.file,
                line: e.pos.map(|p| p.line as usize),
                column: e.pos.map(|p| p.column as usize),
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
            .map(|((kind, reason), objects)| not_evaluated_out(model, kind, reason, objects))
            .collect(),
        policies: model
            .policies
            .iter()
            .map(|p| policy_out(model, p))
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
    serde_json::to_writer_pretty(&mut *out, &report)?;
    out.write_all(b"\n")
}

fn target_strings(targets: &[Target]) -> Vec<String> {
    targets.iter().map(ToString::to_string).collect()
}

fn target_out(t: &Target) -> TargetOut {
    TargetOut {
        target: t.to_string(),
        address: t.addr.to_string(),
        port: t.port,
        protocol: t.protocol.as_str(),
        known_as: t.known_as(),
    }
}

fn namespace_out<'a>(model: &'a Model, v: &'a NamespaceVerdict) -> NamespaceOut<'a> {
    NamespaceOut {
        name: &v.name,
        cluster: v.cluster.as_deref(),
        metadata_reachable: !v.reachable.is_empty(),
        reachable_targets: target_strings(&v.reachable),
        isolated: v.unselected_pods.is_none(),
        has_deny_egress_all: v.deny_all.is_some(),
        has_allow_except_metadata: v.allow_except_metadata.is_some(),
        protected_by: v
            .protected_by
            .iter()
            .map(|&p| model.policy(p).name.as_str())
            .collect(),
        uncertain: model
            .namespaces
            .get(&NamespaceKey {
                cluster: v.cluster.clone(),
                name: v.name.clone(),
            })
            .map(|n| {
                n.uncertain
                    .iter()
                    .map(|u| UncertainOut {
                        reason: &u.reason,
                        file: &model.files[u.at.file],
                        line: u.at.line,
                        column: u.at.column,
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn workload_out<'a>(model: &'a Model, v: &'a WorkloadVerdict) -> WorkloadOut<'a> {
    let w = model.workload(v.workload);
    WorkloadOut {
        namespace: &w.namespace,
        cluster: w.cluster.as_deref(),
        kind: &w.kind,
        name: &w.name,
        metadata_reachable: !v.reachable.is_empty(),
        reachable_targets: target_strings(&v.reachable),
        host_network: w.spec.host_network.is_some(),
        isolated: v.isolated,
        selected_by: v
            .selected_by
            .iter()
            .map(|&p| model.policy(p).name.as_str())
            .collect(),
        reached_through: v.openings.iter().map(|o| through_out(model, o)).collect(),
        file: &model.files[w.location.file],
        line: w.location.line,
    }
}

fn through_out<'a>(model: &'a Model, o: &Opening) -> ThroughOut<'a> {
    let rule = model.rule(o.rule);
    ThroughOut {
        kind: &rule.policy.kind,
        policy: &rule.policy.name,
        rule: rule.number(),
        rule_name: rule.label().to_string(),
        passed_by: o
            .passed_by
            .iter()
            .map(|r| {
                format!(
                    "{}: {}",
                    model.policy(r.policy()).describe(),
                    model.rule(*r).label()
                )
            })
            .collect(),
        targets: target_strings(&o.targets),
        file: &model.files[rule.at().file],
        line: rule.at().line,
        column: rule.at().column,
    }
}

fn not_evaluated_out<'a>(
    model: &'a Model,
    kind: &'a str,
    reason: &'a str,
    objects: &'a [UnevaluatedObject],
) -> NotEvaluatedOut<'a> {
    NotEvaluatedOut {
        kind,
        count: objects.len(),
        reason,
        objects: objects
            .iter()
            .map(|o| UnevaluatedObjectOut {
                name: &o.name,
                cluster: o.cluster.as_deref(),
                namespace: o.namespace.as_deref(),
                file: &model.files[o.at.file],
                line: o.at.line,
            })
            .collect(),
    }
}

fn policy_out<'a>(model: &'a Model, p: &'a Policy) -> PolicyOut<'a> {
    PolicyOut {
        kind: &p.kind,
        engine: p
            .specs
            .first()
            .filter(|_| !p.is_native())
            .map(|s| s.engine.name()),
        evaluated: !p.is_unevaluated(),
        name: &p.name,
        cluster: p.cluster.as_deref(),
        namespace: (!p.namespace.is_empty()).then_some(p.namespace.as_str()),
        file: &model.files[p.location.file],
        line: p.location.line,
    }
}
