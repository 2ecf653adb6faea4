//! Stage 7: reports. Each format renders an [`Outcome`]; none computes a verdict.

pub mod concise;
pub mod explain;
pub mod github;
pub mod human;
pub mod json;
pub mod markdown;
pub mod render;
pub mod rules;
pub mod sarif;

use crate::Outcome;
use crate::lint::Severity;

/// Columns the human report wraps at when neither `COLUMNS` nor a terminal says.
pub const DEFAULT_WIDTH: usize = 200;
/// Narrowest wrapping width taken from `COLUMNS` or the terminal.
const MIN_WIDTH: usize = 40;

/// Columns the human report wraps at: `COLUMNS` when it holds a number, else the width of
/// the terminal standard output is, else [`DEFAULT_WIDTH`]; never under 40.
pub fn width() -> usize {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0);
    let terminal = || {
        use std::io::IsTerminal;
        let stdout = std::io::stdout();
        if stdout.is_terminal() {
            terminal_size::terminal_size_of(&stdout).map(|(w, _)| usize::from(w.0))
        } else {
            None
        }
    };
    columns
        .or_else(terminal)
        .map_or(DEFAULT_WIDTH, |w| w.max(MIN_WIDTH))
}

/// Counts shown in the summary line and in the JSON `summary` object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub files: usize,
    pub documents: usize,
    pub policies: usize,
    pub namespaces: usize,
    pub namespaces_reachable: usize,
    /// Namespaces that other engines' policies keep closed, where the pair is not needed.
    pub namespaces_protected: usize,
    /// Namespaces whose verdict is uncertain: something that lands there is not fully applied.
    pub namespaces_uncertain: usize,
    /// Clusters the namespaces are in, as GitOps entry points and destinations name them.
    pub clusters: usize,
    pub workloads: usize,
    pub errors: usize,
    pub warnings: usize,
    pub skipped: usize,
    pub unreadable: usize,
    /// Findings suppressed by `imds-lint.io/ignore` annotations.
    pub suppressed: usize,
    /// Namespaces the configuration's `ignore-namespaces` ignores.
    pub ignored_namespaces: usize,
}

impl Summary {
    pub fn of(outcome: &Outcome) -> Self {
        let count = |s| outcome.findings.iter().filter(|f| f.severity == s).count();
        Summary {
            files: outcome.files.len(),
            documents: outcome.model.documents,
            policies: outcome.model.policies.len(),
            namespaces: outcome.analysis.namespaces.len(),
            namespaces_reachable: outcome
                .analysis
                .namespaces
                .iter()
                .filter(|n| !n.reachable.is_empty())
                .count(),
            namespaces_protected: outcome
                .analysis
                .namespaces
                .iter()
                .filter(|n| !n.protected_by.is_empty())
                .count(),
            namespaces_uncertain: outcome
                .model
                .namespaces
                .values()
                .filter(|n| !n.uncertain.is_empty())
                .count(),
            clusters: outcome
                .analysis
                .namespaces
                .iter()
                .filter_map(|n| n.cluster.as_deref())
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            workloads: outcome.model.workloads.len(),
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            skipped: outcome.skipped.len(),
            unreadable: outcome.errors.len(),
            suppressed: outcome.suppressed.len(),
            ignored_namespaces: outcome.ignored_namespaces.len(),
        }
    }
}
