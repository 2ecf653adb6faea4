//! The default, human format: each finding as a miette diagnostic with the offending YAML
//! underlined, then what was skipped or could not be read, then a one-line summary.

use super::Summary;
use crate::Outcome;
use crate::lint::{Finding, Severity};
use crate::model::Location;
use crate::source::yaml::offset_of;
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, MietteError,
    MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};
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
                let text = match outcome.files.get(file) {
                    Some(loaded) => match &loaded.bytes {
                        Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                        None => std::fs::read_to_string(&loaded.path).ok()?,
                    },
                    // Not a manifest: the configuration file, named as read.
                    None => std::fs::read_to_string(outcome.model.files.get(file)?).ok()?,
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

/// Lines shown above and below the underlined one.
const CONTEXT_LINES: usize = 2;
/// Characters of a source line shown at most; a longer line is shown as a window of this many
/// characters around the column, `…` marking each side where the line goes on.
const WINDOW: usize = 160;
/// Characters shown before the column when the line is cut.
const WINDOW_BEFORE: usize = 60;

/// The lines around a finding, each cut to the same window of characters, as a source that
/// miette numbers from the file's real line.
struct Excerpt {
    name: String,
    text: String,
    /// 0-based line of the file where `text` starts.
    first_line: usize,
    /// Where the underline starts in `text`, and its 0-based column in the file's line
    /// (bytes, as miette counts them) when the line was cut.
    cut_column: Option<(usize, usize)>,
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self.text.read_span(span, before, after)?;
        // The heading's column is the file's, not the window's.
        let column = match self.cut_column {
            Some((offset, column)) if offset == span.offset() && before == 0 => column,
            _ => inner.column(),
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            column,
            inner.line_count(),
        )))
    }
}

/// The start of each line of `text` (after `\n`, `\r\n` or a lone `\r`) with its end
/// (before the break), for the lines `first..=last` (0-based).
fn line_bounds(text: &str, first: usize, last: usize) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut bounds = Vec::new();
    let mut start = 0;
    let mut line = 0;
    while line <= last {
        let end = text[start..]
            .find(['\n', '\r'])
            .map_or(text.len(), |i| start + i);
        if line >= first {
            bounds.push((start, end));
        }
        if end == text.len() {
            break;
        }
        start = if bytes[end] == b'\r' && bytes.get(end + 1) == Some(&b'\n') {
            end + 2
        } else {
            end + 1
        };
        line += 1;
    }
    bounds
}

/// Characters `from..from + WINDOW` of `line`, `…` in place of the first one when the line
/// goes on to the left and of the last one when it goes on to the right, so that every line
/// cut the same way keeps its columns.
fn window(line: &str, from: usize) -> String {
    let mut chars = line.chars().skip(from);
    let mut shown: Vec<char> = chars.by_ref().take(WINDOW).collect();
    if chars.next().is_some()
        && let Some(last) = shown.last_mut()
    {
        *last = '…';
    }
    if from > 0
        && let Some(first) = shown.first_mut()
    {
        *first = '…';
    } else if from > 0 && line.chars().count() > 0 {
        shown.push('…');
    }
    shown.into_iter().collect()
}

/// The excerpt of `text` around `at` and the span to underline in it: the whole lines when
/// they are short, else a window of characters around the column.
fn excerpt(name: String, text: &str, at: &Location) -> Option<(Excerpt, (usize, usize))> {
    let (start, end) = underline(text, at)?;
    let line = at.line.checked_sub(1)?;
    let first_line = line.saturating_sub(CONTEXT_LINES);
    let bounds = line_bounds(text, first_line, line + CONTEXT_LINES);
    let (line_start, line_end) = *bounds.get(line - first_line)?;
    let column = text[line_start..start].chars().count();
    let end_column = column + text[start..end].chars().count();
    let longest = bounds
        .iter()
        .map(|&(s, e)| text[s..e].chars().count())
        .max()
        .unwrap_or(0);
    let from = if longest <= WINDOW || column < WINDOW_BEFORE {
        0
    } else {
        column - WINDOW_BEFORE
    };
    let mut shown = String::new();
    let mut span = (0, 0);
    for (i, &(s, e)) in bounds.iter().enumerate() {
        if i > 0 {
            shown.push('\n');
        }
        let cut = if longest <= WINDOW {
            text[s..e].to_string()
        } else {
            window(&text[s..e], from)
        };
        if s == line_start && e == line_end {
            // Character columns in the window, the underline kept inside its marks.
            let last = cut.chars().count();
            let lo = (column - from).min(last);
            let hi = (end_column - from).clamp(lo, last);
            let byte =
                |c: usize| shown.len() + cut.char_indices().nth(c).map_or(cut.len(), |(b, _)| b);
            span = (byte(lo), byte(hi));
        }
        shown.push_str(&cut);
    }
    let excerpt = Excerpt {
        name,
        text: shown,
        first_line,
        cut_column: (from > 0).then_some((span.0, start - line_start)),
    };
    Some((excerpt, span))
}

fn handler(color: bool) -> GraphicalReportHandler {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    GraphicalReportHandler::new_themed(theme).with_context_lines(CONTEXT_LINES)
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
            .and_then(|text| excerpt(name, &text, &at));
        let report = match snippet {
            Some((excerpt, (start, end))) => {
                let labelled = diagnostic.with_label(LabeledSpan::new_with_span(
                    Some(label.to_string()),
                    (start, end - start),
                ));
                miette::Report::new(labelled).with_source_code(excerpt)
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
        } + &if s.namespaces_uncertain > 0 {
            format!(", {} uncertain", s.namespaces_uncertain)
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

    fn at(line: usize, column: usize, end_column: usize) -> Location {
        Location {
            file: 0,
            line,
            column,
            end_line: line,
            end_column,
        }
    }

    #[test]
    fn lines_end_at_any_break() {
        let text = "a\r\nbb\rccc\nd";
        let lines: Vec<&str> = line_bounds(text, 1, 5)
            .into_iter()
            .map(|(s, e)| &text[s..e])
            .collect();
        assert_eq!(lines, ["bb", "ccc", "d"]);
    }

    #[test]
    fn a_window_marks_both_cut_sides_and_keeps_columns() {
        let line = "é".repeat(300);
        let shown = window(&line, 10);
        assert_eq!(shown.chars().count(), WINDOW);
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert_eq!(window("short", 0), "short");
        assert_eq!(window("short", 10), "…");
        assert_eq!(window("", 10), "");
    }

    #[test]
    fn short_lines_are_kept_whole() {
        let text = "a: 1\nb: [x, y]\nc: 3\n";
        let (excerpt, span) = excerpt("f".into(), text, &at(2, 5, 6)).unwrap();
        assert_eq!(excerpt.text, text);
        assert_eq!(&excerpt.text[span.0..span.1], "x");
        assert_eq!(excerpt.first_line, 0);
        assert!(excerpt.cut_column.is_none());
    }

    #[test]
    fn a_long_line_is_cut_around_the_column_with_its_neighbours() {
        let long = format!("k: [{}target, {}]", "é, ".repeat(1000), "z, ".repeat(1000));
        let text = format!("x: 1\ny: 2\nz: 3\n{long}\nw: 4\n");
        let column = long[..long.find("target").unwrap()].chars().count() + 1;
        let (excerpt, span) = excerpt("f".into(), &text, &at(4, column, column + 6)).unwrap();
        assert_eq!(excerpt.first_line, 1);
        assert_eq!(&excerpt.text[span.0..span.1], "target");
        let lines: Vec<&str> = excerpt.text.lines().collect();
        assert_eq!(lines, ["…", "…", lines[2], "…"]);
        assert!(lines[2].starts_with('…') && lines[2].ends_with('…'));
        assert_eq!(lines[2].chars().count(), WINDOW);
        let before = &excerpt.text[..span.0];
        assert_eq!(
            before.rsplit('\n').next().unwrap().chars().count(),
            WINDOW_BEFORE
        );
        // The heading keeps the file's column (in bytes, as miette counts).
        let bytes = long.find("target").unwrap();
        assert_eq!(excerpt.cut_column, Some((span.0, bytes)));
    }

    #[test]
    fn an_underline_past_the_window_stops_at_its_mark() {
        let text = format!("{}\n", "y".repeat(1000));
        let (excerpt, span) = excerpt("f".into(), &text, &at(1, 500, 900)).unwrap();
        assert_eq!(span.1, excerpt.text.lines().next().unwrap().len());
        assert!(excerpt.text[span.0..span.1].ends_with('…'));
    }
}
