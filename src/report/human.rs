//! The default, human format: each finding as a miette diagnostic with the offending YAML
//! underlined, then what was skipped or could not be read, then a one-line summary.

use super::Summary;
use crate::Outcome;
use crate::lint::{Finding, Severity};
use crate::model::Location;
use crate::source::yaml::offset_of;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// Source text per file index, read once and shared by every snippet of the file.
struct Sources<'a> {
    outcome: &'a Outcome,
    cache: HashMap<usize, Option<Arc<str>>>,
}

impl Sources<'_> {
    fn text(&mut self, file: usize) -> Option<Arc<str>> {
        let outcome = self.outcome;
        self.cache
            .entry(file)
            .or_insert_with(|| {
                let loaded = outcome.files.get(file)?;
                let text = match &loaded.text {
                    Some(text) => text.clone(),
                    None => std::fs::read_to_string(&loaded.path).ok()?,
                };
                Some(Arc::from(text))
            })
            .clone()
    }
}

/// The span to underline: the node, cut at the end of its first line.
fn underline(text: &str, at: &Location) -> Option<(usize, usize)> {
    let start = offset_of(text, at.line, at.column)?;
    let line_end = text[start..]
        .find(['\n', '\r'])
        .map_or(text.len(), |i| start + i);
    let end = if at.end_line == at.line {
        offset_of(text, at.end_line, at.end_column)
            .unwrap_or(line_end)
            .min(line_end)
    } else {
        line_end
    };
    Some((start, end.max(start + 1).min(text.len().max(start))))
}

fn handler(color: bool) -> GraphicalReportHandler {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    GraphicalReportHandler::new_themed(theme).with_context_lines(2)
}

/// Diagnostics rendered one after another into `out`.
struct Diagnostics<'a> {
    handler: GraphicalReportHandler,
    sources: Sources<'a>,
    out: String,
}

impl Diagnostics<'_> {
    /// Renders one diagnostic, with a snippet of its file underlining `at` when the file can
    /// be read, else with `place` (when given) as its link.
    fn render(
        &mut self,
        diagnostic: MietteDiagnostic,
        at: Location,
        label: &str,
        place: Option<String>,
    ) {
        let name = self.sources.outcome.model.files[at.file].clone();
        let snippet = self
            .sources
            .text(at.file)
            .and_then(|text| Some((underline(&text, &at)?, text)));
        let report = match snippet {
            Some(((start, end), text)) => {
                let labelled = diagnostic.with_label(LabeledSpan::new_with_span(
                    Some(label.to_string()),
                    (start, end - start),
                ));
                miette::Report::new(labelled).with_source_code(NamedSource::new(name, text))
            }
            None => match place {
                Some(place) => miette::Report::new(diagnostic.with_url(place)),
                None => miette::Report::new(diagnostic),
            },
        };
        // Rendering into a String cannot fail.
        let _ = self.handler.render_report(&mut self.out, report.as_ref());
    }
}

/// `file:line:column` of a finding, for when its file cannot be shown.
fn place_of(outcome: &Outcome, at: &Location) -> String {
    format!("{}:{}:{}", outcome.model.files[at.file], at.line, at.column)
}

/// Related places listed under a finding; JSON and SARIF carry all of them.
const RELATED_SHOWN: usize = 5;

pub fn render(outcome: &Outcome, color: bool) -> String {
    render_with(outcome, color, false)
}

/// [`render`], listing the suppressed findings too when `show_suppressed`.
pub fn render_with(outcome: &Outcome, color: bool, show_suppressed: bool) -> String {
    let mut diagnostics = Diagnostics {
        handler: handler(color),
        sources: Sources {
            outcome,
            cache: HashMap::new(),
        },
        out: String::new(),
    };
    render_findings(&mut diagnostics, outcome);
    if show_suppressed {
        render_suppressed(&mut diagnostics, outcome);
    } else if !outcome.suppressed.is_empty() {
        diagnostics.out.push_str(&format!(
            "{} suppressed by imds-lint.io/ignore annotations (--show-suppressed lists them)\n",
            plural(outcome.suppressed.len(), "finding")
        ));
    }
    if !outcome.ignored_namespaces.is_empty() {
        diagnostics.out.push_str(&format!(
            "ignored (ignore-namespaces): {}\n",
            outcome.ignored_namespaces.join(", ")
        ));
    }
    render_errors(&mut diagnostics, outcome);
    let mut out = diagnostics.out;
    out.push_str(&skipped_lines(outcome));
    for ((kind, reason), objects) in &outcome.model.not_evaluated {
        out.push_str(&format!(
            "not evaluated: {} × {kind} ({reason})\n",
            objects.len()
        ));
    }
    for note in &outcome.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out.push_str(&summary_line(
        &Summary::of(outcome),
        outcome.elapsed.as_secs_f64(),
    ));
    out
}

/// The findings, under a heading per cluster when there is more than one.
fn render_findings(diagnostics: &mut Diagnostics, outcome: &Outcome) {
    let clusters: BTreeSet<Option<&str>> = outcome
        .analysis
        .namespaces
        .iter()
        .map(|n| n.cluster.as_deref())
        .chain(outcome.findings.iter().map(|f| f.cluster.as_deref()))
        .collect();
    let mut findings: Vec<&Finding> = outcome.findings.iter().collect();
    findings.sort_by_key(|f| f.cluster.as_deref());
    let mut heading = None;
    for finding in findings {
        if clusters.len() > 1 && heading != Some(finding.cluster.as_deref()) {
            heading = Some(finding.cluster.as_deref());
            diagnostics.out.push_str(&match finding.cluster.as_deref() {
                Some(cluster) => format!("── cluster {cluster}\n\n"),
                None => "── no cluster (manifests no GitOps entry point reaches)\n\n".into(),
            });
        }
        diagnostics.render(
            finding_diagnostic(outcome, finding),
            finding.at,
            &finding.label,
            // The message does not say where the finding is: link it when there is no snippet.
            Some(place_of(outcome, &finding.at)),
        );
    }
}

/// A finding's diagnostic: its message, rule and severity, its help and related places.
fn finding_diagnostic(outcome: &Outcome, finding: &Finding) -> MietteDiagnostic {
    let diagnostic = MietteDiagnostic::new(finding.text())
        .with_code(finding.rule)
        .with_severity(match finding.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        });
    let mut help = finding.help.clone().unwrap_or_default();
    for related in finding.related.iter().take(RELATED_SHOWN) {
        help.push_str(&format!(
            "\n{} ({}:{})",
            related.message, outcome.model.files[related.at.file], related.at.line
        ));
    }
    if finding.related.len() > RELATED_SHOWN {
        help.push_str(&format!(
            "\n… and {} more (--format json lists every one)",
            finding.related.len() - RELATED_SHOWN
        ));
    }
    if help.is_empty() {
        diagnostic
    } else {
        diagnostic.with_help(help.trim_start().to_string())
    }
}

/// The suppressed findings, as advice naming the annotation and its reason.
fn render_suppressed(diagnostics: &mut Diagnostics, outcome: &Outcome) {
    for suppressed in &outcome.suppressed {
        let finding = &suppressed.finding;
        let diagnostic = MietteDiagnostic::new(format!("suppressed: {}", finding.text()))
            .with_code(finding.rule)
            .with_severity(miette::Severity::Advice)
            .with_help(format!(
                "suppressed by {}:{}: {}",
                outcome.model.files[suppressed.by.file], suppressed.by.line, suppressed.reason
            ));
        diagnostics.render(
            diagnostic,
            finding.at,
            &finding.label,
            Some(place_of(outcome, &finding.at)),
        );
    }
}

/// The inputs that could not be read or parsed, with a snippet where the position is known.
fn render_errors(diagnostics: &mut Diagnostics, outcome: &Outcome) {
    for error in &outcome.errors {
        let where_ = match error.pos {
            Some(p) => format!("{}:{}:{}", error.file, p.line, p.column),
            None => error.file.clone(),
        };
        let diagnostic = MietteDiagnostic::new(format!("{where_}: {}", error.message))
            .with_code("input-error")
            .with_help("this input was not linted; the rest of the repository was");
        let file = outcome.files.iter().position(|f| f.display == error.file);
        match error.pos.zip(file) {
            Some((p, file)) => {
                let at = Location {
                    file,
                    line: p.line,
                    column: p.column,
                    end_line: p.line,
                    end_column: p.column + 1,
                };
                diagnostics.render(diagnostic, at, "here", None);
            }
            None => {
                let _ = diagnostics
                    .handler
                    .render_report(&mut diagnostics.out, &diagnostic);
            }
        }
    }
}

/// One line per reason, however many paths it skipped.
fn skipped_lines(outcome: &Outcome) -> String {
    let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
    for skipped in &outcome.skipped {
        let reason = skipped.reason.describe();
        match reasons.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, paths)) => paths.push(&skipped.path),
            None => reasons.push((reason, vec![&skipped.path])),
        }
    }
    reasons
        .into_iter()
        .map(|(reason, paths)| {
            format!(
                "skipped {} ({reason}): {}\n",
                plural(paths.len(), "path"),
                paths.join(", ")
            )
        })
        .collect()
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

pub fn summary_line(s: &Summary, seconds: f64) -> String {
    let mut line = format!(
        "{}, {}, {}, {} ({} with metadata reachable{}): {}, {}",
        plural(s.files, "file"),
        plural(s.documents, "document"),
        plural(s.policies, "policy").replace("policys", "policies"),
        plural(s.namespaces, "namespace")
            + &if s.clusters > 0 {
                format!(" in {}", plural(s.clusters, "cluster"))
            } else {
                String::new()
            },
        s.namespaces_reachable,
        if s.namespaces_protected > 0 {
            format!(
                ", {} closed by cluster-wide or CNI policies",
                s.namespaces_protected
            )
        } else {
            String::new()
        },
        plural(s.errors, "error"),
        plural(s.warnings, "warning"),
    );
    if s.skipped > 0 {
        line.push_str(&format!(", {} skipped", plural(s.skipped, "path")));
    }
    if s.suppressed > 0 {
        line.push_str(&format!(", {} suppressed", s.suppressed));
    }
    if s.ignored_namespaces > 0 {
        line.push_str(&format!(
            ", {} ignored",
            plural(s.ignored_namespaces, "namespace")
        ));
    }
    if s.unreadable > 0 {
        line.push_str(&format!(
            ", {} not read or parsed",
            plural(s.unreadable, "input")
        ));
    }
    line.push_str(&format!(" in {seconds:.2}s\n"));
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_characters_not_bytes() {
        let text = "a: é\nb: ü x\n";
        assert_eq!(offset_of(text, 2, 4), Some(text.find('ü').unwrap()));
        assert_eq!(offset_of(text, 1, 1), Some(0));
        assert_eq!(offset_of(text, 9, 1), None);
    }

    #[test]
    fn multi_line_nodes_are_cut_at_the_first_line() {
        let text = "- to:\n  - ipBlock: {}\n";
        let at = Location {
            file: 0,
            line: 1,
            column: 3,
            end_line: 2,
            end_column: 5,
        };
        assert_eq!(underline(text, &at), Some((2, 5)));
    }
}
