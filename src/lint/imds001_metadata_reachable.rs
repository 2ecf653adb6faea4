//! IMDS001: some pod that could exist in the namespace can reach a metadata endpoint.

use super::{Check, Context, Draft, Related, Rule, Severity, Subject, namespace_anchor};
use crate::analyze::{NamespaceVerdict, Opening, WorkloadVerdict};
use crate::decode::spec::{Action, Engine, Via};
use crate::model::{Location, Namespace, Policy, RuleView, Workload, WorkloadId};
use crate::net::list_targets;
use std::collections::HashMap;

pub static RULE: Rule = Rule {
    id: "IMDS001",
    name: "metadata-reachable",
    severity: Severity::Error,
    summary: "some pod in the namespace can reach a metadata endpoint",
    doc: include_str!("../../rules/IMDS001.md"),
    check: Check::Analysis(check),
};

/// Workloads named in a message before "and N more".
const NAMED_IN_MESSAGE: usize = 3;

fn workload_name(w: &Workload) -> String {
    format!("{} {}/{}", w.kind, w.namespace, w.name)
}

/// ` (affects Deployment a/b, Job a/c and 2 more)`, or nothing when no workload is affected.
fn affected_suffix(ctx: &Context, workloads: &[WorkloadId]) -> String {
    if workloads.is_empty() {
        return String::new();
    }
    let named: Vec<String> = workloads
        .iter()
        .take(NAMED_IN_MESSAGE)
        .map(|&w| workload_name(ctx.model.workload(w)))
        .collect();
    let more = workloads.len().saturating_sub(NAMED_IN_MESSAGE);
    if more == 0 {
        format!(" (affects {})", named.join(", "))
    } else {
        format!(" (affects {} and {more} more)", named.join(", "))
    }
}

/// Pod-network workloads among `verdicts` for which `affected` holds, by index.
fn workloads_where(
    ctx: &Context,
    verdicts: &[&WorkloadVerdict],
    affected: impl Fn(&WorkloadVerdict) -> bool,
) -> Vec<WorkloadId> {
    verdicts
        .iter()
        .filter(|v| ctx.model.workload(v.workload).spec.host_network.is_none() && affected(v))
        .map(|v| v.workload)
        .collect()
}

/// `Deployment payments/api can reach 169.254.169.254:80/TCP through policy web-egress,
/// egress rule 1`, at the workload.
fn through_opening(ctx: &Context, workload: WorkloadId, opening: &Opening) -> Related {
    let w = ctx.model.workload(workload);
    Related {
        at: w.location,
        message: format!(
            "{} can reach {} through policy {}, {}",
            workload_name(w),
            list_targets(&opening.targets),
            ctx.model.policy(opening.rule.policy()).name,
            ctx.model.rule(opening.rule).label()
        ),
    }
}

/// ` after AdminNetworkPolicy a egress rule 1 passes it on`, for each Pass on the way.
fn passed_suffix(ctx: &Context, opening: &Opening) -> String {
    opening
        .passed_by
        .iter()
        .map(|r| format!(", after {} passes it on", ctx.model.rule(*r).describe()))
        .collect()
}

/// Which pods the rule's spec selects, for messages.
fn selected_pods(rule: &RuleView) -> String {
    let selects = &rule.spec.selects;
    match selects.any_of.as_slice() {
        [one] if one.namespaces.selects_all() || selects.own_namespace_only => one.pods.describe(),
        _ => "the pods it selects".into(),
    }
}

/// How to close an opening, in the terms of the policy's engine.
fn engine_help(engine: Engine, cidrs: &str) -> String {
    match engine {
        // Native rules are told by their `to` (below); a pod peer never opens an address.
        Engine::NetworkPolicy => format!("narrow this rule's `to` so that it leaves out {cidrs}"),
        Engine::Cilium => format!(
            "add an egressDeny rule for {cidrs} (deny wins over every allow), or leave it out of \
             this rule's destinations"
        ),
        Engine::Calico => format!(
            "put rules with `action: Deny` and `destination.nets` for {cidrs} before this one \
             (one rule per IP family: Calico refuses a rule that mixes them), or add them to its \
             `destination.notNets`"
        ),
        Engine::AdminNetworkPolicy | Engine::BaselineAdminNetworkPolicy => format!(
            "put a Deny rule with `networks: [{cidrs}]` before this one, or narrow its peers"
        ),
    }
}

/// `NetworkPolicy payments/web`; a cluster-wide policy names the namespace it opens; a
/// transformed one, what changed it: `…, as patched by prod/kustomization.yaml:9`.
fn policy_in(ctx: &Context, policy: &Policy, namespace: &str) -> String {
    let mut text = if policy.namespace.is_empty() {
        format!("{} in namespace {namespace}", policy.describe())
    } else {
        policy.describe()
    };
    let mut changes: Vec<String> = Vec::new();
    for t in &policy.transformed {
        let change = format!(
            "{} by {}:{}",
            t.change.participle(),
            ctx.model.files[t.at.file],
            t.at.line
        );
        if !changes.contains(&change) {
            changes.push(change);
        }
    }
    if !changes.is_empty() {
        text.push_str(&format!(" (as {})", changes.join(", ")));
    }
    text
}

fn check(ctx: &Context) -> Vec<Draft> {
    let mut findings = Vec::new();
    let mut workloads_in: HashMap<(Option<&str>, &str), Vec<&WorkloadVerdict>> = HashMap::new();
    for v in &ctx.analysis.workloads {
        let key = ctx.model.workload(v.workload).key();
        workloads_in.entry(key).or_default().push(v);
    }
    for verdict in &ctx.analysis.namespaces {
        let Some(ns) = ctx.model.namespaces.get(&verdict.key()) else {
            continue;
        };
        let workloads = workloads_in
            .get(&(verdict.cluster.as_deref(), verdict.name.as_str()))
            .map_or(&[][..], Vec::as_slice);
        if let Some(pods) = &verdict.unselected_pods {
            findings.push(unisolated_finding(ctx, verdict, ns, pods, workloads));
        }
        for opening in &verdict.openings {
            findings.push(opening_finding(ctx, verdict, opening, workloads));
        }
        findings.extend(
            verdict
                .host_network
                .iter()
                .filter_map(|&w| host_network_finding(ctx, verdict, w)),
        );
    }
    findings
}

/// The finding for a workload whose pods share the node's network namespace: no policy
/// applies to them, so they reach every target. IMDS005 says how to block the endpoint for
/// them; this finding makes it part of the namespace's verdict.
fn host_network_finding(
    ctx: &Context,
    verdict: &NamespaceVerdict,
    workload: WorkloadId,
) -> Option<Draft> {
    let w = ctx.model.workload(workload);
    let at = Location::new(w.location.file, w.spec.host_network?);
    Some(Draft {
        namespace: Some(verdict.name.clone()),
        cluster: verdict.cluster.clone(),
        at,
        message: format!(
            "{} runs with hostNetwork: true, so its pods reach {} whatever the namespace's \
             policies say",
            workload_name(w),
            list_targets(&ctx.analysis.targets),
        ),
        affects: String::new(),
        label: "no NetworkPolicy applies to host-network pods".into(),
        help: Some(
            "drop hostNetwork if the pods do not need it; otherwise block the metadata endpoint \
             for them on the node (imds-lint rule IMDS005)"
                .into(),
        ),
        // Where IMDS005 warns about the same field, and what it says to do.
        related: vec![Related {
            at,
            message: format!(
                "IMDS005 host-network-pod: NetworkPolicy does not apply to {}; block the \
                 endpoint for its pods on the node",
                workload_name(w)
            ),
        }],
        subject: Subject::Workload(workload),
    })
}

/// The finding for the namespace's `pods` that no Egress policy selects, so nothing isolates.
fn unisolated_finding(
    ctx: &Context,
    verdict: &NamespaceVerdict,
    ns: &Namespace,
    pods: &str,
    workloads: &[&WorkloadVerdict],
) -> Draft {
    let exposed = workloads_where(ctx, workloads, |v| v.default_allowed);
    let related = exposed
        .iter()
        .map(|&w| {
            let workload = ctx.model.workload(w);
            Related {
                at: workload.location,
                message: format!(
                    "{} can reach {}: no Egress policy selects its pods",
                    workload_name(workload),
                    list_targets(&verdict.pod_network_reachable)
                ),
            }
        })
        .collect();
    Draft {
        namespace: Some(verdict.name.clone()),
        cluster: verdict.cluster.clone(),
        at: namespace_anchor(ns),
        message: format!(
            "{pods} in namespace {} are selected by no Egress NetworkPolicy and can reach {}",
            verdict.name,
            // Not the hostNetwork workloads' targets: those are their own findings.
            list_targets(&verdict.pod_network_reachable),
        ),
        affects: affected_suffix(ctx, &exposed),
        label: "no Egress policy isolates these pods".into(),
        help: Some(
            "add the deny-egress-all and allow-egress-all-except-metadata policies \
             (imds-lint rule IMDS002, imds-lint rule IMDS003)"
                .into(),
        ),
        related,
        subject: Subject::Namespace,
    }
}

/// The finding for one rule that opens a target to pods of the namespace.
fn opening_finding(
    ctx: &Context,
    verdict: &NamespaceVerdict,
    opening: &Opening,
    workloads: &[&WorkloadVerdict],
) -> Draft {
    let rule = ctx.model.rule(opening.rule);
    // The same rule, though perhaps to fewer targets for these pods.
    let affected = workloads_where(ctx, workloads, |v| {
        v.openings.iter().any(|o| o.rule == opening.rule)
    });
    let (label, help) = opening_label_and_help(&rule, opening);
    // A Pass opens a target when no later tier decides what it hands on.
    let lets = if rule.rule.action == Action::Pass {
        format!(
            "passes traffic from {} to {} on, and no later tier decides it, so it is allowed",
            selected_pods(&rule),
            list_targets(&opening.targets)
        )
    } else {
        format!(
            "lets {} reach {}",
            selected_pods(&rule),
            list_targets(&opening.targets)
        )
    };
    Draft {
        namespace: Some(verdict.name.clone()),
        cluster: verdict.cluster.clone(),
        at: rule.at(),
        message: format!(
            "{} {} {lets}{}",
            policy_in(ctx, rule.policy, &verdict.name),
            rule.label(),
            passed_suffix(ctx, opening),
        ),
        affects: affected_suffix(ctx, &affected),
        label,
        help: Some(help),
        related: opening_related(ctx, opening, workloads, &affected),
        subject: Subject::Policy(opening.rule.policy()),
    }
}

/// The label and help of an opening, by how the rule reaches the target: through no `to` at
/// all, through pods or an engine's own peer, or through an ipBlock.
fn opening_label_and_help(rule: &RuleView, opening: &Opening) -> (String, String) {
    let first = opening
        .targets
        .first()
        .map(|t| t.addr.to_string())
        .unwrap_or_default();
    let host_cidrs = || {
        opening
            .targets
            .iter()
            .map(|t| t.host_cidr().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if rule.rule.action == Action::Pass {
        return (
            "Pass: no later tier allows or denies this traffic".to_string(),
            format!(
                "deny {} before this rule (`action: Deny`), or in a later tier's policy that \
                 selects these pods: traffic passed on past the last tier is allowed",
                host_cidrs()
            ),
        );
    }
    match &rule.rule.via {
        Via::AnyDestination => (
            "this rule has no `to`, so it allows every destination".to_string(),
            "add a `to` with an ipBlock whose `except` lists the metadata address, or limit \
             the rule's ports"
                .to_string(),
        ),
        Via::Pods(how) | Via::Described(how) => (
            format!("{how} reaches {first}"),
            engine_help(rule.spec.engine, &host_cidrs()),
        ),
        Via::IpBlock(cidr) => (
            format!("ipBlock {cidr} contains {first}"),
            format!(
                "add the metadata address to this ipBlock's `except` (e.g. {}), or narrow the cidr",
                host_cidrs()
            ),
        ),
    }
}

/// Each Pass on the way, then the `affected` workloads, each through its own view of the rule.
fn opening_related(
    ctx: &Context,
    opening: &Opening,
    workloads: &[&WorkloadVerdict],
    affected: &[WorkloadId],
) -> Vec<Related> {
    let passes = opening.passed_by.iter().map(|r| Related {
        at: ctx.model.rule(*r).at(),
        message: format!(
            "{} passes it on to the next tier",
            ctx.model.rule(*r).describe()
        ),
    });
    // Each workload's verdict found once (a search per affected workload was quadratic).
    let by_id: HashMap<WorkloadId, &WorkloadVerdict> =
        workloads.iter().map(|v| (v.workload, *v)).collect();
    let exposed = affected.iter().map(|&w| {
        // The workload's own view of the rule: the targets it reaches through it.
        let own = by_id
            .get(&w)
            .and_then(|v| v.openings.iter().find(|o| o.rule == opening.rule))
            .unwrap_or(opening);
        through_opening(ctx, w, own)
    });
    passes.chain(exposed).collect()
}

#[cfg(test)]
mod tests {
    use crate::lint_text;

    /// Pods no policy selects reach only what the chain lets them: the targets a hostNetwork
    /// workload adds to the namespace's verdict are its own finding, not theirs.
    #[test]
    fn unselected_pods_are_told_their_own_targets_beside_a_host_network_workload() {
        let outcome = lint_text(
            "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\n\
             metadata: {name: no-v6}\nspec:\n  priority: 1\n  subject: {namespaces: {}}\n\
             \x20 egress:\n  - {name: v6, action: Deny, to: [{networks: ['fd00:ec2::254/128']}]}\n\
             ---\napiVersion: v1\nkind: Pod\nmetadata: {name: agent, namespace: ns}\n\
             spec: {hostNetwork: true}\n",
        );
        let v = &outcome.analysis.namespaces[0];
        assert_eq!(v.reachable.len(), 2, "the agent reaches both");
        assert_eq!(v.pod_network_reachable.len(), 1);
        let messages: Vec<&str> = outcome
            .findings
            .iter()
            .filter(|f| f.rule == "IMDS001")
            .map(|f| f.message.as_str())
            .collect();
        assert_eq!(
            messages,
            [
                "all pods in namespace ns are selected by no Egress NetworkPolicy and can reach \
                 169.254.169.254:80/TCP",
                "Pod ns/agent runs with hostNetwork: true, so its pods reach 169.254.169.254:80/TCP, \
                 [fd00:ec2::254]:80/TCP whatever the namespace's policies say",
            ]
        );
    }

    #[test]
    fn many_affected_workloads_are_counted_in_the_message_and_all_related() {
        let yaml: String = ["e", "d", "c", "b", "a"]
            .iter()
            .map(|name| {
                format!(
                    "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: open}}\nspec:\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n"
                )
            })
            .collect();
        let outcome = lint_text(&yaml);
        let finding = outcome
            .findings
            .iter()
            .find(|f| f.rule == "IMDS001")
            .expect("IMDS001");
        assert_eq!(
            finding.affects,
            " (affects Deployment open/e, Deployment open/d, Deployment open/c and 2 more)"
        );
        assert!(finding.text().ends_with(&finding.affects));
        assert_eq!(finding.related.len(), 5);
        assert_eq!(
            finding.related[4].message,
            "Deployment open/a can reach 169.254.169.254:80/TCP, [fd00:ec2::254]:80/TCP: no Egress \
             policy selects its pods"
        );
        assert_eq!(finding.related[4].at.line, 30);
    }
}
