//! Stage 6: the rules. One file per rule; each turns the model and analysis into drafts, which
//! [`run`] makes findings at the severity the settings give; then the suppression step
//! ([`suppress`], which also reports IMDS006) splits them. Adding a rule: a file here, its page
//! in `rules/`, and a line in [`RULES`].

mod imds001_metadata_reachable;
mod imds002_missing_deny_egress_all;
mod imds003_missing_allow_except_metadata;
mod imds004_invalid_network_policy;
mod imds005_host_network_pod;
mod imds007_duplicate_object;
mod imds008_transformation_not_applied;
pub mod settings;
pub mod suppress;

use crate::analyze::{Analysis, NamespaceVerdict};
use crate::model::{Location, Model, Namespace, PolicyId, WorkloadId};
use settings::Settings;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

impl fmt::Display for Severity {
    /// The word, padded as the format asks (`{:<8}` lines up a column).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// What the analysis knows, handed to every rule.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub model: &'a Model,
    pub analysis: &'a Analysis,
    pub settings: &'a Settings,
}

pub struct Rule {
    pub id: &'static str,
    pub name: &'static str,
    /// The severity of its findings unless the settings give another: the only default (for
    /// a [`Check::Graded`] rule, the highest of its defaults).
    pub severity: Severity,
    /// One line: when the rule fires.
    pub summary: &'static str,
    /// The rule's page from `rules/`, embedded in the binary.
    pub doc: &'static str,
    pub check: Check,
}

/// Where a rule's findings come from.
pub enum Check {
    /// A function of the model and the analysis.
    Analysis(fn(&Context) -> Vec<Draft>),
    /// Like [`Check::Analysis`], for a rule whose findings differ in weight: each draft comes
    /// with its default severity, no higher than [`Rule::severity`]. A severity the settings
    /// give the rule overrides it for all of them.
    Graded(fn(&Context) -> Vec<(Severity, Draft)>),
    /// The suppression step, which reads the annotations and the other rules' findings
    /// ([`suppress::split`]).
    Suppressions,
}

/// A finding as a rule reports it: everything but its rule and severity, which [`run`] gives
/// it from the registry and the settings, so no rule decides its own severity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub namespace: Option<String>,
    pub cluster: Option<String>,
    pub at: Location,
    pub message: String,
    /// See [`Finding::affects`].
    pub affects: String,
    pub label: String,
    pub help: Option<String>,
    pub related: Vec<Related>,
    pub subject: Subject,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub namespace: Option<String>,
    /// The namespace's cluster, when a GitOps entry point names one.
    pub cluster: Option<String>,
    pub at: Location,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The workloads the finding exposes, as the end of the sentence (` (affects Deployment
    /// a/b)`), or empty: kept apart so that what identifies a finding never has to be cut out
    /// of its text.
    pub affects: String,
    /// A few words shown under the YAML the finding points at.
    pub label: String,
    pub help: Option<String>,
    /// Other places involved: the workloads affected, the policies that take part.
    pub related: Vec<Related>,
    /// The object the finding is about, whose `imds-lint.io/ignore` annotation may suppress it.
    pub subject: Subject,
}

impl Finding {
    /// The whole sentence a person reads: the message and the workloads it affects.
    pub fn text(&self) -> String {
        format!("{}{}", self.message, self.affects)
    }

    fn text_bytes(&self) -> impl Iterator<Item = u8> + '_ {
        self.message.bytes().chain(self.affects.bytes())
    }
}

/// What a finding is about, besides its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The namespace as a whole.
    Namespace,
    Policy(PolicyId),
    Workload(WorkloadId),
}

/// A place a finding refers to besides the one it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    pub at: Location,
    pub message: String,
}

pub static RULES: [&Rule; 8] = [
    &imds001_metadata_reachable::RULE,
    &imds002_missing_deny_egress_all::RULE,
    &imds003_missing_allow_except_metadata::RULE,
    &imds004_invalid_network_policy::RULE,
    &imds005_host_network_pod::RULE,
    &suppress::INVALID_SUPPRESSION,
    &imds007_duplicate_object::RULE,
    &imds008_transformation_not_applied::RULE,
];

/// Looks a rule up by id (`IMDS001`, any case) or name (`metadata-reachable`).
pub fn find_rule(key: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.id.eq_ignore_ascii_case(key) || r.name == key)
}

/// What linting found: the findings that stand and those an annotation suppressed, each
/// sorted by file, line, column and rule.
pub struct Linted {
    pub findings: Vec<Finding>,
    pub suppressed: Vec<suppress::Suppressed>,
}

/// Runs every rule the settings leave on, then the suppression step.
pub fn run(ctx: &Context) -> Linted {
    let findings = RULES
        .iter()
        .filter_map(|rule| match rule.check {
            Check::Analysis(check) => Some(ctx.findings(rule, || check(ctx))),
            Check::Graded(check) => Some(ctx.graded_findings(rule, || check(ctx))),
            Check::Suppressions => None,
        })
        .flatten()
        .collect();
    suppress::split(ctx, findings)
}

impl Context<'_> {
    /// `rule`'s findings from its drafts (made only when the settings leave it on): at the
    /// severity the settings give it, none in an ignored namespace.
    fn findings(&self, rule: &Rule, drafts: impl FnOnce() -> Vec<Draft>) -> Vec<Finding> {
        self.graded_findings(rule, || {
            drafts().into_iter().map(|d| (rule.severity, d)).collect()
        })
    }

    /// `rule`'s findings from drafts that each come with their default severity.
    fn graded_findings(
        &self,
        rule: &Rule,
        drafts: impl FnOnce() -> Vec<(Severity, Draft)>,
    ) -> Vec<Finding> {
        if !self.settings.is_enabled(rule.id) {
            return Vec::new();
        }
        drafts()
            .into_iter()
            .filter(|(_, d)| {
                !d.namespace
                    .as_deref()
                    .is_some_and(|ns| self.settings.ignores_namespace(ns))
            })
            .filter_map(|(default, d)| Some((self.settings.severity_or(rule, default)?, d)))
            .map(|(severity, d)| Finding {
                rule: rule.id,
                severity,
                namespace: d.namespace,
                cluster: d.cluster,
                at: d.at,
                message: d.message,
                affects: d.affects,
                label: d.label,
                help: d.help,
                related: d.related,
                subject: d.subject,
            })
            .collect()
    }
}

/// Sorts findings by file, line, column and rule, and drops repeats.
fn sort_findings(model: &Model, findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| {
        (
            &model.files[a.at.file],
            a.at.line,
            a.at.column,
            a.rule,
            &a.cluster,
            &a.namespace,
        )
            .cmp(&(
                &model.files[b.at.file],
                b.at.line,
                b.at.column,
                b.rule,
                &b.cluster,
                &b.namespace,
            ))
            .then_with(|| a.text_bytes().cmp(b.text_bytes()))
    });
    findings.dedup();
}

/// Where a namespace-level finding points: its Namespace object, else its first manifest.
fn namespace_anchor(ns: &Namespace) -> Location {
    ns.object.unwrap_or(ns.first_manifest)
}

/// A namespace-level finding for every namespace that `lacks` a half of the pair: an error
/// where some pod can reach a metadata endpoint (or might: the verdict is uncertain), else a
/// warning that names what keeps the endpoints closed, whatever closes them (NetworkPolicies
/// with narrower allows, or another engine's policies).
fn namespaces_lacking(
    ctx: &Context,
    lacks: impl Fn(&NamespaceVerdict) -> bool,
    what: &str,
    label: &str,
    help: &str,
) -> Vec<(Severity, Draft)> {
    ctx.analysis
        .namespaces
        .iter()
        .filter(|v| lacks(v))
        .filter_map(|v| {
            let ns = ctx.model.namespaces.get(&v.key())?;
            let missing = format!("namespace {} has no {what} policy", v.name);
            let (severity, message, label, help) = match closed_by(ctx, v, ns) {
                None => (
                    Severity::Error,
                    missing,
                    label.to_string(),
                    help.to_string(),
                ),
                Some(by) => (
                    Severity::Warning,
                    format!(
                        "{missing}, but no pod {} can reach a metadata endpoint: {by}",
                        if v.host_network.is_empty() {
                            "here"
                        } else {
                            "here on the pod network"
                        }
                    ),
                    format!("closed without the pair: {by}"),
                    format!(
                        "not needed while those policies stay as they are; {help}, so the \
                         namespace stays closed should they change"
                    ),
                ),
            };
            Some((
                severity,
                Draft {
                    namespace: Some(v.name.clone()),
                    cluster: v.cluster.clone(),
                    at: namespace_anchor(ns),
                    message,
                    affects: String::new(),
                    label,
                    help: Some(help),
                    related: Vec::new(),
                    subject: Subject::Namespace,
                },
            ))
        })
        .collect()
}

/// What keeps every metadata endpoint closed to every pod of the namespace on the pod network,
/// in words; `None` where some pod there can reach one, or where the verdict is uncertain
/// (what lands there is not fully applied: IMDS008).
fn closed_by(ctx: &Context, v: &NamespaceVerdict, ns: &Namespace) -> Option<String> {
    let model = ctx.model;
    if !v.pod_network_reachable.is_empty() || !ns.uncertain.is_empty() {
        return None;
    }
    let list = |names: Vec<String>| match names.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [first @ .., last] if names.len() <= 4 => format!("{} and {last}", first.join(", ")),
        _ => format!("{} and {} more", names[..3].join(", "), names.len() - 3),
    };
    if !v.protected_by.is_empty() {
        let by: Vec<String> = v
            .protected_by
            .iter()
            .map(|&p| model.policy(p).describe())
            .collect();
        let verb = if by.len() == 1 { "keeps" } else { "keep" };
        return Some(format!("{} {verb} every target closed", list(by)));
    }
    // The NetworkPolicies that isolate pods here: every pod is isolated, and no rule opens a
    // target.
    let key = (v.cluster.as_deref(), v.name.as_str());
    let isolating: Vec<String> = model
        .policies
        .iter()
        .filter(|p| p.key() == key && p.is_native() && !p.rejected && p.governs_egress())
        .filter(|p| {
            p.egress_specs()
                .any(|(_, spec)| spec.selects.any_of.iter().any(|s| s.pods.is_satisfiable()))
        })
        .map(|p| p.name.clone())
        .collect();
    Some(match isolating.len() {
        0 => "the policies that apply here keep every target closed".to_string(),
        1 => format!(
            "NetworkPolicy {} isolates every pod and opens no target",
            isolating[0]
        ),
        _ => format!(
            "NetworkPolicies {} isolate every pod and open no target",
            list(isolating)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_severity_pads_to_the_width_asked() {
        assert_eq!(format!("[{:<8}]", Severity::Error), "[error   ]");
        assert_eq!(format!("[{:>8}]", Severity::Warning), "[ warning]");
        assert_eq!(Severity::Warning.to_string(), "warning");
    }

    /// The first YAML block after `heading` in a rule's page.
    fn example<'a>(doc: &'a str, heading: &str) -> &'a str {
        let section = &doc[doc.find(heading).unwrap_or_else(|| panic!("no {heading}"))..];
        let start = section.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
        let end = section[start..].find("```").expect("a closed block");
        &section[start..start + end]
    }

    /// Lints an example: manifests, or (when it starts with a `# path` line) the files of a
    /// repository, each headed by its path.
    fn lint_example(yaml: &str) -> crate::Outcome {
        if !yaml.starts_with("# ") || !yaml.lines().next().unwrap_or("").ends_with(".yaml") {
            return crate::lint_text(yaml);
        }
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut files: Vec<(String, String)> = Vec::new();
        for line in yaml.lines() {
            match line.strip_prefix("# ").filter(|p| p.ends_with(".yaml")) {
                Some(path) => files.push((path.to_string(), String::new())),
                None => {
                    if let Some((_, text)) = files.last_mut() {
                        text.push_str(line);
                        text.push('\n');
                    }
                }
            }
        }
        for (path, text) in files {
            std::fs::write(dir.path().join(path), text).expect("an example file");
        }
        let options = crate::LintOptions {
            inputs: vec![crate::Input::Path(dir.path().to_path_buf())],
            excludes: Vec::new(),
            default_namespace: "default".into(),
            targets: crate::net::Target::defaults(),
            cluster: None,
            settings: settings::Settings::default(),
        };
        crate::run(options).expect("a run")
    }

    /// Each page's failing example makes its rule fire and its passing example does not: the
    /// pages cannot drift from the code.
    #[test]
    fn page_examples_fail_and_pass_as_they_say() {
        for rule in RULES {
            let fired = |yaml: &str| {
                let outcome = lint_example(yaml);
                assert!(
                    outcome.errors.is_empty(),
                    "{}: {:?}",
                    rule.id,
                    outcome.errors
                );
                outcome.findings.iter().any(|f| f.rule == rule.id)
            };
            assert!(
                fired(example(rule.doc, "## Failing example")),
                "{} failing example passes",
                rule.id
            );
            assert!(
                !fired(example(rule.doc, "## Passing example")),
                "{} passing example fails",
                rule.id
            );
        }
    }

    /// The severity and message of each IMDS002 / IMDS003 finding of `yaml`.
    fn pair_findings(yaml: &str) -> Vec<(&'static str, Severity, String)> {
        let outcome = crate::lint_text(yaml);
        assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
        outcome
            .findings
            .iter()
            .filter(|f| f.rule == "IMDS002" || f.rule == "IMDS003")
            .map(|f| (f.rule, f.severity, f.message.clone()))
            .collect()
    }

    const DENY_ALL: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: ns}\nspec: {podSelector: {}, policyTypes: [Egress]}\n";

    fn allow(name: &str, selector: &str, cidr: &str) -> String {
        format!(
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: ns}}\nspec:\n  podSelector: {selector}\n  policyTypes: [Egress]\n  egress: [{{to: [ipBlock: {{cidr: {cidr}}}]}}]\n"
        )
    }

    #[test]
    fn a_namespace_closed_without_the_pair_gets_warnings_naming_what_closes_it() {
        let closed = format!("{DENY_ALL}{}", allow("internal", "{}", "10.0.0.0/8"));
        assert_eq!(
            pair_findings(&closed),
            [(
                "IMDS003",
                Severity::Warning,
                "namespace ns has no allow-egress-all-except-metadata policy, but no pod here can \
                 reach a metadata endpoint: NetworkPolicies deny and internal isolate every pod \
                 and open no target"
                    .to_string()
            )]
        );
        // Both halves missing, one policy isolating every pod with a narrow allow.
        let one = allow("internal", "{}", "10.0.0.0/8");
        let found = pair_findings(&one);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|(_, s, m)| *s == Severity::Warning
            && m.ends_with("NetworkPolicy internal isolates every pod and opens no target")));
    }

    #[test]
    fn a_namespace_some_pod_can_reach_keeps_the_errors() {
        let reopened = format!(
            "{DENY_ALL}{}{}",
            allow("internal", "{}", "10.0.0.0/8"),
            allow("agent", "{matchLabels: {app: agent}}", "169.254.0.0/16")
        );
        assert_eq!(
            pair_findings(&reopened),
            [(
                "IMDS003",
                Severity::Error,
                "namespace ns has no allow-egress-all-except-metadata policy".to_string()
            )]
        );
        // Pods no policy isolates reach everything.
        let partial = allow("db", "{matchLabels: {app: db}}", "10.0.0.0/8");
        let found = pair_findings(&partial);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|(_, s, _)| *s == Severity::Error));
    }

    #[test]
    fn a_namespace_another_engine_closes_gets_warnings_naming_it() {
        let yaml = "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: deny-metadata}\nspec:\n  priority: 10\n  subject: {namespaces: {}}\n  egress:\n    - name: no-imds\n      action: Deny\n      to: [{networks: [169.254.169.254/32, fd00:ec2::254/128]}]\n";
        let found = pair_findings(yaml);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found.iter().all(|(_, s, m)| *s == Severity::Warning
                && m.ends_with("AdminNetworkPolicy deny-metadata keeps every target closed")),
            "{found:?}"
        );
    }

    #[test]
    fn every_rule_has_its_page_and_unique_id() {
        for (i, rule) in RULES.iter().enumerate() {
            assert_eq!(rule.id, format!("IMDS{:03}", i + 1));
            assert!(
                rule.doc
                    .starts_with(&format!("# {}: {}", rule.id, rule.name)),
                "{}",
                rule.id
            );
            for section in [
                "## What it checks",
                "## Why it matters",
                "## Failing example",
                "## Passing example",
                "## How to fix",
            ] {
                assert!(rule.doc.contains(section), "{} lacks {section}", rule.id);
            }
        }
        assert_eq!(find_rule("imds003").map(|r| r.id), Some("IMDS003"));
        assert_eq!(find_rule("host-network-pod").map(|r| r.id), Some("IMDS005"));
        assert_eq!(
            find_rule("invalid-suppression").map(|r| r.id),
            Some("IMDS006")
        );
        assert!(find_rule("IMDS999").is_none());
    }
}
