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

/// A namespace-level finding for every namespace that `lacks` something.
fn namespaces_lacking(
    ctx: &Context,
    lacks: impl Fn(&NamespaceVerdict) -> bool,
    what: &str,
    label: &str,
    help: &str,
) -> Vec<Draft> {
    ctx.analysis
        .namespaces
        .iter()
        // Another engine's deny keeps every target closed there: the pair is not needed.
        .filter(|v| v.protected_by.is_empty() && lacks(v))
        .filter_map(|v| {
            let ns = ctx.model.namespaces.get(&v.key())?;
            Some(Draft {
                namespace: Some(v.name.clone()),
                cluster: v.cluster.clone(),
                at: namespace_anchor(ns),
                message: format!("namespace {} has no {what} policy", v.name),
                affects: String::new(),
                label: label.into(),
                help: Some(help.into()),
                related: Vec::new(),
                subject: Subject::Namespace,
            })
        })
        .collect()
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
            cluster_map: Default::default(),
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
