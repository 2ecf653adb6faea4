//! What a repository's configuration does to the rules: switches, severities, ignored
//! namespaces, and which findings fail the run.

use super::{Rule, Severity};
use crate::source::yaml::Pos;
use globset::GlobMatcher;
use std::collections::BTreeMap;

/// Which findings make the exit status 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FailOn {
    /// Findings at error severity.
    #[default]
    Error,
    /// Findings at warning or error severity.
    Warning,
    /// No finding (unreadable input still exits 2).
    Never,
}

/// What the configuration does to one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSetting {
    Off,
    /// On, at this severity; `None` keeps the rule's default ([`Rule::severity`]).
    On(Option<Severity>),
}

/// An `ignore-namespaces` entry: a name or glob, and where the configuration file writes it.
#[derive(Debug, Clone)]
pub struct IgnoredNamespace {
    pub glob: GlobMatcher,
    /// The entry as written.
    pub text: String,
    pub pos: Pos,
}

/// Settings the library applies to findings: rule switches and severities, ignored
/// namespaces, and what fails the run.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// By rule id; rules not listed keep their default severity.
    pub rules: BTreeMap<&'static str, RuleSetting>,
    /// Namespace names or globs that get no findings.
    pub ignore_namespaces: Vec<IgnoredNamespace>,
    pub fail_on: FailOn,
    /// The configuration file the settings come from, as named in messages.
    pub source: Option<String>,
}

impl Settings {
    /// The severity findings of `rule` get, or `None` when the rule is off: the one place a
    /// finding's severity comes from.
    pub fn severity(&self, rule: &Rule) -> Option<Severity> {
        self.severity_or(rule, rule.severity)
    }

    /// The severity of a finding of `rule` whose default is `default` (a rule whose findings
    /// differ in weight), or `None` when the rule is off: a severity the settings give the
    /// rule wins.
    pub fn severity_or(&self, rule: &Rule, default: Severity) -> Option<Severity> {
        match self.rules.get(rule.id) {
            Some(RuleSetting::Off) => None,
            Some(RuleSetting::On(severity)) => Some(severity.unwrap_or(default)),
            None => Some(default),
        }
    }

    pub fn is_enabled(&self, rule_id: &str) -> bool {
        self.rules.get(rule_id) != Some(&RuleSetting::Off)
    }

    pub fn ignores_namespace(&self, name: &str) -> bool {
        self.ignore_namespaces.iter().any(|e| e.glob.is_match(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::find_rule;

    #[test]
    fn severity_is_the_setting_else_the_rule_default() {
        let (Some(imds002), Some(imds005)) = (find_rule("IMDS002"), find_rule("IMDS005")) else {
            panic!("rules");
        };
        let mut settings = Settings::default();
        assert_eq!(settings.severity(imds005), Some(Severity::Warning));
        settings.rules.insert("IMDS005", RuleSetting::On(None));
        assert_eq!(settings.severity(imds005), Some(Severity::Warning));
        settings
            .rules
            .insert("IMDS005", RuleSetting::On(Some(Severity::Error)));
        assert_eq!(settings.severity(imds005), Some(Severity::Error));
        settings.rules.insert("IMDS002", RuleSetting::Off);
        assert_eq!(settings.severity(imds002), None);
        assert!(!settings.is_enabled("IMDS002") && settings.is_enabled("IMDS005"));
    }

    /// A finding of a rule whose findings differ in weight keeps its own default, unless the
    /// settings give the rule a severity.
    #[test]
    fn a_graded_rule_keeps_each_default_unless_a_severity_is_set() {
        let Some(rule) = find_rule("IMDS005") else {
            panic!("rule");
        };
        let mut settings = Settings::default();
        assert_eq!(
            settings.severity_or(rule, Severity::Warning),
            Some(Severity::Warning)
        );
        settings.rules.insert(rule.id, RuleSetting::On(None));
        assert_eq!(
            settings.severity_or(rule, Severity::Warning),
            Some(Severity::Warning)
        );
        settings
            .rules
            .insert(rule.id, RuleSetting::On(Some(Severity::Error)));
        assert_eq!(
            settings.severity_or(rule, Severity::Warning),
            Some(Severity::Error)
        );
        settings.rules.insert(rule.id, RuleSetting::Off);
        assert_eq!(settings.severity_or(rule, Severity::Error), None);
    }
}
