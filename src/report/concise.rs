//! `--format concise`: one line per finding, `file:line:col: RULE [cluster/namespace] message`,
//! for grep, editors' quickfix lists and long reports; then what could not be read, what was
//! skipped and the summary line, as in the human report.

use super::human::{place_name, statistics, trailer};
use crate::Outcome;

/// Lines never wrap.
const UNWRAPPED: usize = usize::MAX / 2;

/// The report; with `show_statistics`, the counts per rule and the reachable namespaces in
/// place of the findings.
pub fn render(outcome: &Outcome, show_suppressed: bool, show_statistics: bool) -> String {
    let mut out = String::new();
    if show_statistics {
        out.push_str(&statistics(outcome, UNWRAPPED));
    } else {
        for finding in &outcome.findings {
            out.push_str(&line(outcome, finding, ""));
        }
    }
    if show_suppressed {
        for suppressed in &outcome.suppressed {
            out.push_str(&line(outcome, &suppressed.finding, "suppressed: "));
        }
    }
    for error in &outcome.errors {
        let place = match error.pos {
            Some(p) => format!("{}:{}:{}", error.file, p.line, p.column),
            None => error.file.clone(),
        };
        out.push_str(&format!(
            "{place}: input-error {}\n",
            one_line(&error.message)
        ));
    }
    // Not wrapped: every line stays whole, for programs that read them.
    out.push_str(&trailer(outcome, show_suppressed, UNWRAPPED));
    out
}

/// One finding's line.
fn line(outcome: &Outcome, finding: &crate::lint::Finding, prefix: &str) -> String {
    let at = &finding.at;
    let file = outcome.model.files.get(at.file).map_or("", String::as_str);
    let place = place_name(finding.cluster.as_deref(), finding.namespace.as_deref())
        .map_or(String::new(), |p| format!("[{p}] "));
    format!(
        "{file}:{}:{}: {} {place}{prefix}{}\n",
        at.line,
        at.column,
        finding.rule,
        one_line(&finding.text())
    )
}

/// `text` on one line: line breaks become spaces.
fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
