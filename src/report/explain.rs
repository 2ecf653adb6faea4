//! `imds-lint explain NAMESPACE`: a namespace's policies and, per pod class or per workload,
//! the effective egress with the rule behind each part; for people and as JSON.

use crate::analyze::chain::{DecidedBy, Decision};
use crate::analyze::egress::EgressSet;
use crate::analyze::explain::{
    ClassExplanation, Classes, NamespaceExplanation, PolicyRole, WorkloadExplanation,
};
use crate::decode::selector::LabelValue;
use crate::decode::spec::Action;
use crate::model::{Model, PolicyId, RuleRef, WorkloadId};
use crate::net::{Target, list_targets};
use serde::Serialize;

fn paint(text: &str, ansi: &str, color: bool) -> String {
    if color {
        format!("\x1b[{ansi}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn role_text(role: PolicyRole) -> &'static str {
    match role {
        PolicyRole::Egress => "egress",
        PolicyRole::IngressOnly => "ingress only: no effect on egress",
        PolicyRole::SelectsNoPod => "its podSelector matches no pod",
        PolicyRole::Rejected => "rejected by the API server (IMDS004): never in the cluster",
        PolicyRole::NotEvaluated => "not evaluated (listed in the lint summary)",
    }
}

fn role_key(role: PolicyRole) -> &'static str {
    match role {
        PolicyRole::Egress => "egress",
        PolicyRole::IngressOnly => "ingress-only",
        PolicyRole::SelectsNoPod => "selects-no-pod",
        PolicyRole::Rejected => "rejected",
        PolicyRole::NotEvaluated => "not-evaluated",
    }
}

fn grant_text(model: &Model, grant: &RuleRef) -> String {
    let rule = model.rule(*grant);
    let at = rule.at();
    format!(
        "{} rule {} ({}:{}:{})",
        rule.policy.name,
        rule.number(),
        model.files[at.file],
        at.line,
        at.column
    )
}

fn policy_names(model: &Model, policies: &[PolicyId]) -> String {
    policies
        .iter()
        .map(|&p| model.policy(p).name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `NetworkPolicy ns/allow egress rule 1`.
fn rule_text(model: &Model, rule: &RuleRef) -> String {
    let rule = model.rule(*rule);
    format!(
        "{} ({}:{})",
        rule.describe(),
        model.files[rule.at().file],
        rule.at().line
    )
}

/// The walk down the precedence chain for one target, for people.
fn decision_text(model: &Model, decision: &Decision) -> String {
    let mut parts: Vec<String> = decision
        .steps
        .iter()
        .map(|step| {
            let verb = if step.action == Action::Pass {
                "passes it on"
            } else {
                "logs it"
            };
            format!("{} {verb}", rule_text(model, &step.rule))
        })
        .collect();
    let names = |policies: &[PolicyId]| {
        policies
            .iter()
            .map(|&p| model.policy(p).describe())
            .collect::<Vec<_>>()
            .join(", ")
    };
    parts.push(match &decision.by {
        DecidedBy::Rules(rules) => {
            let rules: Vec<String> = rules.iter().map(|r| rule_text(model, r)).collect();
            let verb = if decision.allowed {
                "allowed"
            } else {
                "denied"
            };
            format!("{verb} by {}", rules.join("; "))
        }
        DecidedBy::TierEnd { tier, isolated_by } => format!(
            "denied: no rule of tier {tier} matches, and {} isolate the pod",
            names(isolated_by)
        ),
        // After a Pass, policies did select the pod; none after it decides.
        DecidedBy::DefaultAllow if decision.steps.iter().any(|s| s.action == Action::Pass) => {
            "no later tier decides: allowed by default".into()
        }
        DecidedBy::DefaultAllow => "no policy decides: allowed by default".into(),
    });
    parts.join(" → ")
}

/// What a class or a workload's pods are: who selects them, what they may send, and the
/// chain's decision per target.
struct Pods<'a> {
    selected_by: &'a [PolicyId],
    egress: &'a EgressSet,
    decisions: &'a [(Target, Decision)],
    host_network: bool,
}

/// The body shared by a class and a workload: who selects the pods, what they may send, and
/// whether each target is reachable and why.
fn egress_block(
    out: &mut String,
    model: &Model,
    explanation: &NamespaceExplanation,
    pods: &Pods,
    color: bool,
) {
    let Pods {
        selected_by,
        egress,
        host_network,
        ..
    } = *pods;
    let targets = &explanation.targets;
    if host_network {
        out.push_str(
            "  hostNetwork: true — NetworkPolicy does not apply; every target is reachable\n",
        );
    }
    if explanation.chained {
        chain_block(out, model, pods, color);
        return;
    }
    if selected_by.is_empty() {
        out.push_str("  selected by: no Egress policy — not isolated, may send anything\n");
    } else {
        out.push_str(&format!(
            "  selected by: {}\n",
            policy_names(model, selected_by)
        ));
        if egress.addresses.is_empty() && egress.pods.is_empty() {
            out.push_str("  egress: nothing (denied)\n");
        } else {
            out.push_str("  egress:\n");
        }
        let rows: Vec<(String, String, String)> = egress
            .addresses
            .iter()
            .map(|a| {
                let by: Vec<String> = a.granted_by.iter().map(|g| grant_text(model, g)).collect();
                (a.addresses.describe(), a.ports.describe(), by.join("; "))
            })
            .chain(egress.pods.iter().map(|p| {
                (
                    p.peers.clone(),
                    p.ports.describe(),
                    grant_text(model, &p.granted_by),
                )
            }))
            .collect();
        let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
        let port_width = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
        for (addresses, ports, by) in rows {
            out.push_str(&format!(
                "    {addresses:<width$}  {ports:<port_width$}  {by}\n"
            ));
        }
    }
    for target in targets {
        let line = if host_network || !egress.isolated {
            format!("  {} {target}\n", paint("reachable", "1;31", color))
        } else {
            let grants = egress.grants_to(target);
            if grants.is_empty() {
                format!("  {} {target}\n", paint("blocked  ", "32", color))
            } else {
                let by: Vec<String> = grants.iter().map(|g| grant_text(model, g)).collect();
                format!(
                    "  {} {target} through {}\n",
                    paint("reachable", "1;31", color),
                    by.join("; ")
                )
            }
        };
        out.push_str(&line);
    }
}

/// A class or workload where another engine's policy applies: the policies in chain order and
/// each target's walk down the chain.
fn chain_block(out: &mut String, model: &Model, pods: &Pods, color: bool) {
    let Pods {
        selected_by,
        egress,
        decisions,
        host_network,
    } = *pods;
    if selected_by.is_empty() {
        out.push_str("  selected by: no policy\n");
    } else {
        let names: Vec<String> = selected_by
            .iter()
            .map(|&p| model.policy(p).describe())
            .collect();
        out.push_str(&format!(
            "  selected by, in chain order: {}\n",
            names.join(", ")
        ));
    }
    if !egress.addresses.is_empty() {
        out.push_str("  NetworkPolicy egress:\n");
        for a in &egress.addresses {
            let by: Vec<String> = a.granted_by.iter().map(|g| grant_text(model, g)).collect();
            out.push_str(&format!(
                "    {}  {}  {}\n",
                a.addresses.describe(),
                a.ports.describe(),
                by.join("; ")
            ));
        }
    }
    for (target, decision) in decisions {
        let word = if decision.allowed || host_network {
            paint("reachable", "1;31", color)
        } else {
            paint("blocked  ", "32", color)
        };
        out.push_str(&format!(
            "  {word} {target}: {}\n",
            decision_text(model, decision)
        ));
    }
}

fn class_block(
    out: &mut String,
    model: &Model,
    explanation: &NamespaceExplanation,
    number: usize,
    of: usize,
    class: &ClassExplanation,
    color: bool,
) {
    out.push_str(&paint(
        &format!("pod class {number} of {of}: {}", class.describe()),
        "1",
        color,
    ));
    out.push('\n');
    if !class.workloads.is_empty() {
        let names = class.workload_names(model).join(", ");
        out.push_str(&format!("  workloads: {names}\n"));
    }
    let pods = Pods {
        selected_by: &class.selected_by,
        egress: &class.egress,
        decisions: &class.decisions,
        host_network: false,
    };
    egress_block(out, model, explanation, &pods, color);
}

fn workload_block(
    out: &mut String,
    model: &Model,
    explanation: &NamespaceExplanation,
    workload: &WorkloadExplanation,
    color: bool,
) {
    let w = model.workload(workload.workload);
    out.push_str(&paint(
        &format!(
            "{} {} ({}:{})",
            w.kind, w.name, model.files[w.location.file], w.location.line
        ),
        "1",
        color,
    ));
    out.push('\n');
    let pods = Pods {
        selected_by: &workload.selected_by,
        egress: &workload.egress,
        decisions: &workload.decisions,
        host_network: workload.host_network,
    };
    egress_block(out, model, explanation, &pods, color);
}

/// A policy in the list: native ones by name, as before; others with their kind.
fn policy_title(model: &Model, id: PolicyId) -> String {
    let policy = model.policy(id);
    if policy.engine_kind.is_none() {
        policy.name.clone()
    } else {
        format!("{} {}", policy.kind_name(), policy.name)
    }
}

pub fn render_human(
    model: &Model,
    explanation: &NamespaceExplanation,
    per_workload: bool,
    color: bool,
) -> String {
    let mut out = header(model, explanation, color);
    out.push('\n');
    policies_block(&mut out, model, explanation);
    match (&explanation.classes, per_workload) {
        (Classes::Listed(classes), false) => {
            for (i, class) in classes.iter().enumerate() {
                class_block(
                    &mut out,
                    model,
                    explanation,
                    i + 1,
                    classes.len(),
                    class,
                    color,
                );
                out.push('\n');
            }
            let host: Vec<&WorkloadExplanation> = explanation
                .workloads
                .iter()
                .filter(|w| w.host_network)
                .collect();
            for workload in host {
                workload_block(&mut out, model, explanation, workload, color);
                out.push('\n');
            }
        }
        (classes, _) => {
            if *classes == Classes::TooMany && !per_workload {
                out.push_str(
                    "the selectors split pods into too many classes to list; per workload:\n\n",
                );
            }
            if explanation.workloads.is_empty() {
                out.push_str("no workload in this namespace\n");
            }
            for workload in &explanation.workloads {
                workload_block(&mut out, model, explanation, workload, color);
                out.push('\n');
            }
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// The namespace and its verdict, the targets checked, and what closes it when another
/// engine does.
fn header(model: &Model, explanation: &NamespaceExplanation, color: bool) -> String {
    let verdict = if explanation.reachable.is_empty() {
        paint("no pod can reach a metadata endpoint", "32", color)
    } else {
        paint(
            &format!(
                "some pods can reach {}",
                list_targets(&explanation.reachable)
            ),
            "1;31",
            color,
        )
    };
    let title = match &explanation.cluster {
        Some(cluster) => format!("namespace {} in cluster {cluster}", explanation.namespace),
        None => format!("namespace {}", explanation.namespace),
    };
    let mut out = format!("{}: {verdict}\n", paint(&title, "1", color));
    out.push_str(&format!(
        "targets checked: {}\n",
        list_targets(&explanation.targets)
    ));
    let host: Vec<String> = explanation
        .workloads
        .iter()
        .filter(|w| w.host_network)
        .map(|w| {
            let w = model.workload(w.workload);
            format!("{} {}", w.kind, w.name)
        })
        .collect();
    if !host.is_empty() {
        out.push_str(&format!(
            "host network: {} — NetworkPolicy does not apply to its pods (imds-lint rule \
             IMDS005)\n",
            host.join(", ")
        ));
    }
    if !explanation.protected_by.is_empty() {
        let names: Vec<String> = explanation
            .protected_by
            .iter()
            .map(|&p| model.policy(p).describe())
            .collect();
        out.push_str(&format!(
            "closed by: {} — the deny-egress-all / allow-egress-all-except-metadata pair is not \
             needed here\n",
            names.join(", ")
        ));
    }
    out
}

/// The namespace's policies, each with its role and place, in aligned columns.
fn policies_block(out: &mut String, model: &Model, explanation: &NamespaceExplanation) {
    if explanation.policies.is_empty() {
        out.push_str("policies: none — every pod may send anything\n\n");
        return;
    }
    out.push_str("policies:\n");
    let width = explanation
        .policies
        .iter()
        .map(|p| policy_title(model, p.policy).chars().count())
        .max()
        .unwrap_or(0);
    for entry in &explanation.policies {
        let policy = model.policy(entry.policy);
        out.push_str(&format!(
            "  {:<width$}  {}  ({}:{})\n",
            policy_title(model, entry.policy),
            role_text(entry.role),
            model.files[policy.location.file],
            policy.location.line,
        ));
    }
    out.push('\n');
}

#[derive(Serialize)]
struct ExplainOut<'a> {
    version: u32,
    cluster: Option<&'a str>,
    namespace: &'a str,
    metadata_reachable: bool,
    reachable_targets: Vec<String>,
    targets: Vec<String>,
    /// Other engines' policies that keep every target closed here.
    protected_by: Vec<&'a str>,
    policies: Vec<PolicyOut<'a>>,
    /// `None` when the selectors split pods into too many classes to list.
    classes: Option<Vec<ClassOut<'a>>>,
    workloads: Vec<WorkloadOut<'a>>,
}

#[derive(Serialize)]
struct PolicyOut<'a> {
    kind: &'a str,
    name: &'a str,
    role: &'static str,
    file: &'a str,
    line: usize,
}

#[derive(Serialize)]
struct GrantOut<'a> {
    policy: &'a str,
    /// 1-based, as in messages.
    rule: usize,
    file: &'a str,
    line: usize,
    column: usize,
}

#[derive(Serialize)]
struct AddressesOut<'a> {
    addresses: String,
    cidrs: Vec<String>,
    ports: String,
    granted_by: Vec<GrantOut<'a>>,
}

#[derive(Serialize)]
struct PodsOut<'a> {
    pods: &'a str,
    ports: String,
    granted_by: GrantOut<'a>,
}

#[derive(Serialize)]
struct ReachOut<'a> {
    target: String,
    reachable: bool,
    /// The rules that open it; empty when reachable because nothing isolates the pods.
    granted_by: Vec<GrantOut<'a>>,
    /// The walk down the precedence chain.
    decision: DecisionOut<'a>,
}

#[derive(Serialize)]
struct ChainRuleOut<'a> {
    kind: &'a str,
    policy: &'a str,
    namespace: Option<&'a str>,
    rule: String,
    file: &'a str,
    line: usize,
    column: usize,
}

#[derive(Serialize)]
struct DecisionOut<'a> {
    allowed: bool,
    /// `rules`, `tier-end` or `default-allow`.
    decided_by: &'static str,
    rules: Vec<ChainRuleOut<'a>>,
    /// The tier whose end denied it.
    tier: Option<&'a str>,
    isolated_by: Vec<&'a str>,
    /// Pass and Log rules met on the way, in order.
    passed_through: Vec<ChainRuleOut<'a>>,
}

fn chain_rule_out<'a>(model: &'a Model, rule: &RuleRef) -> ChainRuleOut<'a> {
    let rule = model.rule(*rule);
    let policy = rule.policy;
    let at = rule.at();
    ChainRuleOut {
        kind: &policy.kind,
        policy: &policy.name,
        namespace: (!policy.namespace.is_empty()).then_some(policy.namespace.as_str()),
        rule: rule.label().to_string(),
        file: &model.files[at.file],
        line: at.line,
        column: at.column,
    }
}

fn decision_out<'a>(model: &'a Model, decision: &'a Decision) -> DecisionOut<'a> {
    let (decided_by, rules, tier, isolated_by): (_, &[RuleRef], _, &[PolicyId]) = match &decision.by
    {
        DecidedBy::Rules(rules) => ("rules", rules, None, &[]),
        DecidedBy::TierEnd { tier, isolated_by } => {
            ("tier-end", &[], Some(tier.as_str()), isolated_by)
        }
        DecidedBy::DefaultAllow => ("default-allow", &[], None, &[]),
    };
    DecisionOut {
        allowed: decision.allowed,
        decided_by,
        rules: rules.iter().map(|r| chain_rule_out(model, r)).collect(),
        tier,
        isolated_by: isolated_by
            .iter()
            .map(|&p| model.policy(p).name.as_str())
            .collect(),
        passed_through: decision
            .steps
            .iter()
            .map(|s| chain_rule_out(model, &s.rule))
            .collect(),
    }
}

#[derive(Serialize)]
struct EgressOut<'a> {
    isolated: bool,
    selected_by: Vec<&'a str>,
    addresses: Vec<AddressesOut<'a>>,
    pods: Vec<PodsOut<'a>>,
    metadata_reachable: bool,
    targets: Vec<ReachOut<'a>>,
}

#[derive(Serialize)]
struct ClassOut<'a> {
    pods: String,
    /// The witness: a value per label key the selectors use (`null` = label absent,
    /// `"*"` = any value no selector names).
    example_labels: std::collections::BTreeMap<&'a str, Option<&'a str>>,
    workloads: Vec<WorkloadRef<'a>>,
    #[serde(flatten)]
    egress: EgressOut<'a>,
}

#[derive(Serialize)]
struct WorkloadRef<'a> {
    kind: &'a str,
    name: &'a str,
    file: &'a str,
    line: usize,
}

#[derive(Serialize)]
struct WorkloadOut<'a> {
    #[serde(flatten)]
    workload: WorkloadRef<'a>,
    host_network: bool,
    #[serde(flatten)]
    egress: EgressOut<'a>,
}

fn grant_out<'a>(model: &'a Model, grant: &RuleRef) -> GrantOut<'a> {
    let rule = model.rule(*grant);
    let at = rule.at();
    GrantOut {
        policy: &rule.policy.name,
        rule: rule.number(),
        file: &model.files[at.file],
        line: at.line,
        column: at.column,
    }
}

fn egress_out<'a>(
    model: &'a Model,
    selected_by: &[PolicyId],
    egress: &'a EgressSet,
    decisions: &'a [(Target, Decision)],
    reachable: &[Target],
) -> EgressOut<'a> {
    EgressOut {
        isolated: egress.isolated,
        selected_by: selected_by
            .iter()
            .map(|&p| model.policy(p).name.as_str())
            .collect(),
        addresses: egress
            .addresses
            .iter()
            .map(|a| AddressesOut {
                addresses: a.addresses.describe(),
                cidrs: a
                    .addresses
                    .cidrs()
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                ports: a.ports.describe(),
                granted_by: a.granted_by.iter().map(|g| grant_out(model, g)).collect(),
            })
            .collect(),
        pods: egress
            .pods
            .iter()
            .map(|p| PodsOut {
                pods: &p.peers,
                ports: p.ports.describe(),
                granted_by: grant_out(model, &p.granted_by),
            })
            .collect(),
        metadata_reachable: !reachable.is_empty(),
        targets: decisions
            .iter()
            .map(|(t, decision)| ReachOut {
                target: t.to_string(),
                reachable: reachable.contains(t),
                granted_by: egress
                    .grants_to(t)
                    .into_iter()
                    .map(|g| grant_out(model, g))
                    .collect(),
                decision: decision_out(model, decision),
            })
            .collect(),
    }
}

fn workload_ref(model: &Model, id: WorkloadId) -> WorkloadRef<'_> {
    let w = model.workload(id);
    WorkloadRef {
        kind: &w.kind,
        name: &w.name,
        file: &model.files[w.location.file],
        line: w.location.line,
    }
}

pub fn render_json<'a>(model: &'a Model, explanation: &'a NamespaceExplanation) -> String {
    let strings = |ts: &[Target]| ts.iter().map(ToString::to_string).collect::<Vec<_>>();
    let report = ExplainOut {
        version: 1,
        cluster: explanation.cluster.as_deref(),
        namespace: &explanation.namespace,
        metadata_reachable: !explanation.reachable.is_empty(),
        reachable_targets: strings(&explanation.reachable),
        targets: strings(&explanation.targets),
        protected_by: explanation
            .protected_by
            .iter()
            .map(|&p| model.policy(p).name.as_str())
            .collect(),
        policies: explanation
            .policies
            .iter()
            .map(|p| {
                let policy = model.policy(p.policy);
                PolicyOut {
                    kind: &policy.kind,
                    name: &policy.name,
                    role: role_key(p.role),
                    file: &model.files[policy.location.file],
                    line: policy.location.line,
                }
            })
            .collect(),
        classes: match &explanation.classes {
            Classes::TooMany => None,
            Classes::Listed(classes) => Some(
                classes
                    .iter()
                    .map(|c| ClassOut {
                        pods: c.describe(),
                        example_labels: c
                            .example
                            .iter()
                            .map(|(k, v)| {
                                let value = match v {
                                    LabelValue::Absent => None,
                                    LabelValue::Named(v) => Some(v.as_str()),
                                    LabelValue::Other => Some("*"),
                                };
                                (k.as_str(), value)
                            })
                            .collect(),
                        workloads: c
                            .workloads
                            .iter()
                            .map(|&w| workload_ref(model, w))
                            .collect(),
                        egress: egress_out(
                            model,
                            &c.selected_by,
                            &c.egress,
                            &c.decisions,
                            &c.reachable,
                        ),
                    })
                    .collect(),
            ),
        },
        workloads: explanation
            .workloads
            .iter()
            .map(|w| WorkloadOut {
                workload: workload_ref(model, w.workload),
                host_network: w.host_network,
                egress: egress_out(model, &w.selected_by, &w.egress, &w.decisions, &w.reachable),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
    text.push('\n');
    text
}
