//! Suppressions: `imds-lint.io/ignore` annotations (with a required `imds-lint.io/reason`) on
//! Namespaces, NetworkPolicies and workloads. A suppressed finding leaves the failing set but
//! is still counted and reported as suppressed, never dropped silently.
//!
//! The step that applies them also reports the annotations that cannot work (IMDS006): it is
//! the one place that sees both the annotations and every other rule's findings.

use crate::decode::object::{IGNORE_ANNOTATION, REASON_ANNOTATION};
use crate::lint::{
    Check, Context, Draft, Finding, Linted, Rule, Severity, Subject, find_rule, sort_findings,
};
use crate::model::{Location, Model, NamespaceKey, StraySuppression, Suppression};
use std::collections::HashSet;

/// IMDS006: an annotation that has no reason, names an unknown rule, or suppresses nothing;
/// an `ignore-namespaces` entry of the configuration that matches no namespace. An annotation
/// cannot suppress it.
pub static INVALID_SUPPRESSION: Rule = Rule {
    id: "IMDS006",
    name: "invalid-suppression",
    severity: Severity::Warning,
    summary: "an imds-lint.io/ignore annotation has no reason, names an unknown rule, or suppresses nothing; an ignore-namespaces entry matches no namespace",
    doc: include_str!("../../rules/IMDS006.md"),
    check: Check::Suppressions,
};

/// A finding an annotation suppressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed {
    pub finding: Finding,
    pub reason: String,
    /// The `imds-lint.io/ignore` annotation that suppressed it.
    pub by: Location,
}

/// The suppression step over the rules' findings: adds the IMDS006 findings about the
/// annotations, then splits all findings into those that stand and those an annotation
/// suppresses.
pub fn split(ctx: &Context, mut findings: Vec<Finding>) -> Linted {
    let invalid = ctx.findings(&INVALID_SUPPRESSION, || {
        let mut drafts = invalid_annotations(ctx, &findings);
        drafts.extend(unused_ignored_namespaces(ctx));
        drafts
    });
    findings.extend(invalid);
    sort_findings(ctx.model, &mut findings);
    let mut kept = Vec::new();
    let mut suppressed = Vec::new();
    for finding in findings {
        match suppressor(ctx.model, &finding) {
            Some(s) => suppressed.push(Suppressed {
                reason: s.reason().unwrap_or_default().to_string(),
                by: s.at,
                finding,
            }),
            None => kept.push(finding),
        }
    }
    Linted {
        findings: kept,
        suppressed,
    }
}

/// Whether the annotation entry `entry` (a rule id, a name, or `all`) names the rule `rule_id`.
fn entry_names(entry: &str, rule_id: &str) -> bool {
    entry.eq_ignore_ascii_case("all") || find_rule(entry).is_some_and(|r| r.id == rule_id)
}

/// Whether the annotation entry `entry` covers `finding`: it names the finding's rule, or the
/// finding is the IMDS001 of a hostNetwork workload (the only IMDS001 about a workload) and the
/// entry names IMDS005, which that same field causes: accepting one accepts the other.
fn entry_covers(entry: &str, finding: &Finding) -> bool {
    entry_names(entry, finding.rule)
        || (finding.rule == "IMDS001"
            && matches!(finding.subject, Subject::Workload(_))
            && entry_names(entry, "IMDS005"))
}

/// The annotations that may suppress `finding`: its namespace's, then its subject's.
fn candidates<'m>(model: &'m Model, finding: &Finding) -> Vec<&'m Suppression> {
    let namespace = finding
        .namespace
        .as_ref()
        .and_then(|name| {
            model.namespaces.get(&NamespaceKey {
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
fn suppressor<'m>(model: &'m Model, finding: &Finding) -> Option<&'m Suppression> {
    if finding.rule == INVALID_SUPPRESSION.id {
        return None;
    }
    candidates(model, finding)
        .into_iter()
        .find(|s| s.reason().is_some() && s.rules.iter().any(|e| entry_covers(e, finding)))
}

/// An annotated object: its annotation, namespace, what findings about it are, and its name.
struct Site<'a> {
    suppression: &'a Suppression,
    cluster: Option<&'a str>,
    namespace: &'a str,
    subject: Subject,
    object: String,
}

impl Site<'_> {
    /// An IMDS006 finding about this site's annotation.
    fn draft(&self, at: Location, message: String, label: &str, help: &str) -> Draft {
        Draft {
            namespace: Some(self.namespace.to_string()),
            cluster: self.cluster.map(str::to_string),
            at,
            message: format!("{IGNORE_ANNOTATION} on {}: {message}", self.object),
            affects: String::new(),
            label: label.into(),
            help: Some(help.into()),
            related: Vec::new(),
            subject: self.subject,
        }
    }
}

/// The objects that may suppress findings and carry an annotation: Namespaces, then
/// policies, then workloads.
fn sites(model: &Model) -> impl Iterator<Item = Site<'_>> {
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
    namespaces.chain(policies).chain(workloads)
}

/// IMDS006 drafts: annotations on objects no finding is about, then annotations that have no
/// reason, name no rule or an unknown one, or suppress none of `findings`.
fn invalid_annotations(ctx: &Context, findings: &[Finding]) -> Vec<Draft> {
    // A file built into two namespaces holds one annotation, not two.
    let mut seen = HashSet::new();
    let mut drafts: Vec<Draft> = ctx
        .model
        .stray_suppressions
        .iter()
        .filter(|stray| seen.insert(stray.suppression.at))
        .map(stray_draft)
        .collect();
    for site in sites(ctx.model) {
        if seen.insert(site.suppression.at) {
            drafts.extend(site_drafts(ctx, findings, &site));
        }
    }
    drafts
}

fn stray_draft(stray: &StraySuppression) -> Draft {
    Draft {
        namespace: stray.namespace.clone(),
        cluster: stray.cluster.clone(),
        at: stray.suppression.at,
        message: format!(
            "{IGNORE_ANNOTATION} on {} has no effect: only Namespaces, NetworkPolicies \
             and workloads can suppress findings",
            stray.object
        ),
        affects: String::new(),
        label: "no finding is about this object".into(),
        help: Some(
            "move the annotation to the Namespace, NetworkPolicy or workload the finding is about"
                .into(),
        ),
        related: Vec::new(),
        subject: Subject::Namespace,
    }
}

/// What is wrong with one site's annotation: no reason, or else each entry's problem.
fn site_drafts(ctx: &Context, findings: &[Finding], site: &Site) -> Vec<Draft> {
    let s = site.suppression;
    if s.reason().is_none() {
        return vec![site.draft(
            s.at,
            format!("no {REASON_ANNOTATION}, so it suppresses nothing"),
            "suppression without a reason",
            &format!("add a `{REASON_ANNOTATION}` annotation saying why the finding is accepted"),
        )];
    }
    let empty = s.rules.is_empty().then(|| {
        site.draft(
            s.value_at,
            "names no rule".into(),
            "empty list",
            "list the rule ids to suppress, e.g. \"IMDS002,IMDS003\"",
        )
    });
    let entries = s
        .rules
        .iter()
        .filter_map(|entry| entry_draft(ctx, findings, site, entry));
    empty.into_iter().chain(entries).collect()
}

/// What is wrong with one entry of a site's annotation, if anything.
fn entry_draft(ctx: &Context, findings: &[Finding], site: &Site, entry: &str) -> Option<Draft> {
    let s = site.suppression;
    let all = entry.eq_ignore_ascii_case("all");
    let rule = find_rule(entry);
    if !all && rule.is_none() {
        return Some(site.draft(
            s.value_at,
            format!("names unknown rule {entry:?}"),
            "unknown rule",
            "use rule ids or names from `imds-lint rule`, or `all`",
        ));
    }
    if rule.is_some_and(|r| r.id == INVALID_SUPPRESSION.id) {
        return Some(site.draft(
            s.value_at,
            format!("{entry} cannot be suppressed by an annotation"),
            "cannot be suppressed here",
            "turn IMDS006 off in .imds-lint.yaml instead (`rules: {IMDS006: off}`)",
        ));
    }
    // Entries for rules the settings turn off are not unused.
    let off = rule.is_some_and(|r| !ctx.settings.is_enabled(r.id));
    // Whether some finding could be suppressed by this annotation for this entry.
    let used = findings
        .iter()
        .any(|f| entry_covers(entry, f) && candidates(ctx.model, f).iter().any(|c| c.at == s.at));
    if off || used {
        return None;
    }
    let what = if all {
        "no finding".to_string()
    } else {
        format!("no {entry} finding")
    };
    let place = match site.subject {
        Subject::Namespace => format!("in namespace {}", site.namespace),
        _ => "is about this object".to_string(),
    };
    // IMDS001 is about the policy that opens the endpoint, or the namespace whose pods no
    // policy selects, never about one workload.
    let on_workload_for_imds001 =
        matches!(site.subject, Subject::Workload(_)) && rule.is_some_and(|r| r.id == "IMDS001");
    Some(site.draft(
        s.value_at,
        format!("{entry} suppresses nothing: {what} {place}"),
        "unused suppression",
        if on_workload_for_imds001 {
            "IMDS001 findings are about the NetworkPolicy that opens the endpoint, or the \
             Namespace whose pods no policy selects: annotate that object instead"
        } else {
            "remove the entry (or the annotation) so it cannot hide a future finding"
        },
    ))
}

/// The `ignore-namespaces` entries of the configuration file that match no namespace, each
/// reported where the file writes it, like an annotation that suppresses nothing. Checked only
/// when the run put the configuration file among the model's files (the last one so named):
/// a run limited to one cluster does not, since an entry may be for another cluster.
fn unused_ignored_namespaces(ctx: &Context) -> Vec<Draft> {
    let settings = ctx.settings;
    let Some(file) = settings
        .source
        .as_ref()
        .and_then(|source| ctx.model.files.iter().rposition(|f| f == source))
    else {
        return Vec::new();
    };
    settings
        .ignore_namespaces
        .iter()
        .filter(|entry| {
            !ctx.model
                .namespaces
                .keys()
                .any(|key| entry.glob.is_match(&key.name))
        })
        .map(|entry| Draft {
            namespace: None,
            cluster: None,
            at: Location {
                file,
                line: entry.pos.line as usize,
                column: entry.pos.column as usize,
                end_line: entry.pos.line as usize,
                end_column: entry.pos.column as usize + entry.text.chars().count().max(1),
            },
            message: format!(
                "ignore-namespaces: {:?} ignores nothing: no namespace matches it",
                entry.text
            ),
            affects: String::new(),
            label: "unused entry".into(),
            help: Some(
                "remove the entry so it cannot hide a future namespace (a namespace renamed or \
                 removed, or a typo)"
                    .into(),
            ),
            related: Vec::new(),
            subject: Subject::Namespace,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::lint::settings::{RuleSetting, Settings};
    use crate::lint::{Finding, Severity};
    use crate::{Input, LintOptions, net::Target};

    /// A namespace with both policies, whose annotation names IMDS002 and `all` besides.
    const TIDY: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tidy\n  annotations:\n    imds-lint.io/ignore: IMDS002,IMDS005,all\n    imds-lint.io/reason: reviewed\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: tidy}\nspec: {podSelector: {}, policyTypes: [Egress]}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow, namespace: tidy}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}}]}, {to: [{ipBlock: {cidr: '::/0', except: ['fd00:ec2::254/128']}}]}]\n";

    fn invalid(settings: Settings) -> Vec<Finding> {
        let outcome = crate::run(LintOptions {
            inputs: vec![Input::Stream {
                name: "tidy.yaml".into(),
                bytes: TIDY.as_bytes().to_vec(),
            }],
            excludes: Vec::new(),
            default_namespace: "default".into(),
            targets: Target::defaults(),
            cluster: None,
            cluster_map: Default::default(),
            settings,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(outcome.suppressed.is_empty(), "{:?}", outcome.suppressed);
        outcome
            .findings
            .into_iter()
            .filter(|f| f.rule == "IMDS006")
            .collect()
    }

    #[test]
    fn unused_entries_are_reported_at_the_severity_the_settings_give() {
        let found = invalid(Settings::default());
        let messages: Vec<&str> = found.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "imds-lint.io/ignore on Namespace tidy: IMDS002 suppresses nothing: no IMDS002 finding in namespace tidy",
                "imds-lint.io/ignore on Namespace tidy: IMDS005 suppresses nothing: no IMDS005 finding in namespace tidy",
                "imds-lint.io/ignore on Namespace tidy: all suppresses nothing: no finding in namespace tidy",
            ]
        );
        assert!(found.iter().all(|f| f.severity == Severity::Warning));

        let mut settings = Settings::default();
        settings
            .rules
            .insert("IMDS006", RuleSetting::On(Some(Severity::Error)));
        // A rule turned off suppresses nothing by design: its entry is not unused.
        settings.rules.insert("IMDS005", RuleSetting::Off);
        let found = invalid(settings);
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|f| f.severity == Severity::Error));
        assert!(found.iter().all(|f| !f.message.contains("IMDS005")));

        let mut settings = Settings::default();
        settings.rules.insert("IMDS006", RuleSetting::Off);
        assert!(invalid(settings).is_empty());
    }

    #[test]
    fn ignore_namespace_entries_that_match_nothing_are_reported_where_written() {
        let mut settings = crate::config::Config::parse(
            "rules: {IMDS002: off}\nignore-namespaces:\n  - tid*\n  - legacy\n  - '*-old'\n",
        )
        .unwrap()
        .settings;
        settings.source = Some(".imds-lint.yaml".into());
        let stale: Vec<(String, usize, usize, Option<String>)> = invalid(settings.clone())
            .into_iter()
            .filter(|f| f.message.starts_with("ignore-namespaces"))
            .map(|f| (f.message, f.at.line, f.at.column, f.namespace))
            .collect();
        assert_eq!(
            stale,
            [
                (
                    "ignore-namespaces: \"legacy\" ignores nothing: no namespace matches it".into(),
                    4,
                    5,
                    None
                ),
                (
                    "ignore-namespaces: \"*-old\" ignores nothing: no namespace matches it".into(),
                    5,
                    5,
                    None
                ),
            ]
        );
        // Off with IMDS006, like the annotations' findings.
        settings.rules.insert("IMDS006", RuleSetting::Off);
        assert!(invalid(settings).is_empty());
    }
}
