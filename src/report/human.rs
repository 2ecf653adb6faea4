//! The default, human format: each finding as a miette diagnostic with the offending YAML
//! underlined, then what was skipped or could not be read, then a one-line summary.

use super::Summary;
use crate::Outcome;
use crate::lint::{Finding, RULES, Rule, Severity};
use crate::model::Location;
use crate::source::yaml::offset_of;
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, MietteError,
    MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use textwrap::{WordSeparator, WordSplitter};

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
/// characters around the column, `…` marking each side where the line goes on. Narrower on a
/// narrow terminal: see [`window_width`].
const WINDOW: usize = 160;
/// The narrowest window.
const MIN_WINDOW: usize = 40;
/// Columns the snippet's line numbers and margin take.
const GUTTER: usize = 10;

/// Characters of a source line shown on a terminal `width` columns wide.
fn window_width(width: usize) -> usize {
    width.saturating_sub(GUTTER).clamp(MIN_WINDOW, WINDOW)
}

/// Characters shown before the column when a line is cut to a window `window` wide.
fn window_before(window: usize) -> usize {
    window * 3 / 8
}

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
fn window(line: &str, from: usize, width: usize) -> String {
    let mut chars = line.chars().skip(from);
    let mut shown: Vec<char> = chars.by_ref().take(width).collect();
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
fn excerpt(
    name: String,
    text: &str,
    at: &Location,
    width: usize,
) -> Option<(Excerpt, (usize, usize))> {
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
    let before = window_before(width);
    let from = if longest <= width || column < before {
        0
    } else {
        column - before
    };
    let mut shown = String::new();
    let mut span = (0, 0);
    for (i, &(s, e)) in bounds.iter().enumerate() {
        if i > 0 {
            shown.push('\n');
        }
        let cut = if longest <= width {
            text[s..e].to_string()
        } else {
            window(&text[s..e], from, width)
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

fn handler(color: bool, width: usize) -> GraphicalReportHandler {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    GraphicalReportHandler::new_themed(theme)
        .with_context_lines(CONTEXT_LINES)
        .with_width(width)
        .with_break_words(false)
        .with_word_separator(WordSeparator::AsciiSpace)
        .with_word_splitter(WordSplitter::NoHyphenation)
}

/// `text` wrapped at spaces only to `width` columns, so that a path or a name is never split
/// (a longer word overflows); lines after the first start with `indent`.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let options = textwrap::Options::new(width)
        .break_words(false)
        .word_separator(WordSeparator::AsciiSpace)
        .word_splitter(WordSplitter::NoHyphenation)
        .subsequent_indent(indent);
    let mut out = textwrap::wrap(text, options).join("\n");
    out.push('\n');
    out
}

/// Diagnostics rendered one after another into `out`.
struct Diagnostics<'a> {
    handler: GraphicalReportHandler,
    sources: Sources<'a>,
    out: String,
    width: usize,
    color: bool,
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
            .and_then(|text| excerpt(name, &text, &at, window_width(self.width)));
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

/// How the human report is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub color: bool,
    /// List the findings `imds-lint.io/ignore` annotations suppressed.
    pub show_suppressed: bool,
    /// Columns to wrap text at (a path or name longer than this overflows).
    pub width: usize,
    /// Counts per rule and the reachable namespaces instead of the findings.
    pub statistics: bool,
}

impl Options {
    pub fn new(color: bool) -> Self {
        Options {
            color,
            show_suppressed: false,
            width: super::DEFAULT_WIDTH,
            statistics: false,
        }
    }
}

pub fn render(outcome: &Outcome, color: bool) -> String {
    render_with(outcome, &Options::new(color))
}

/// The report: the findings grouped by cluster and namespace (or their statistics), then what
/// was suppressed, ignored, not read or skipped, then the summary line.
pub fn render_with(outcome: &Outcome, options: &Options) -> String {
    let mut diagnostics = Diagnostics {
        handler: handler(options.color, options.width),
        sources: Sources {
            outcome,
            cache: HashMap::new(),
        },
        out: String::new(),
        width: options.width,
        color: options.color,
    };
    if options.statistics {
        diagnostics
            .out
            .push_str(&statistics(outcome, options.width));
    } else {
        render_findings(&mut diagnostics, outcome);
    }
    if options.show_suppressed {
        render_suppressed(&mut diagnostics, outcome);
    }
    render_errors(&mut diagnostics, outcome);
    let mut out = diagnostics.out;
    out.push_str(&trailer(outcome, options.show_suppressed, options.width));
    out
}

/// What follows the findings in the human and the concise report: suppressed and ignored
/// counts, skipped paths, objects not evaluated, notes and the summary line.
pub fn trailer(outcome: &Outcome, show_suppressed: bool, width: usize) -> String {
    let mut out = String::new();
    if !show_suppressed && !outcome.suppressed.is_empty() {
        out.push_str(&format!(
            "{} suppressed by imds-lint.io/ignore annotations (--show-suppressed lists them)\n",
            plural(outcome.suppressed.len(), "finding")
        ));
    }
    if !outcome.ignored_namespaces.is_empty() {
        out.push_str(&wrap(
            &format!(
                "ignored (ignore-namespaces): {}",
                outcome.ignored_namespaces.join(", ")
            ),
            width,
            "  ",
        ));
    }
    for line in skipped_lines(outcome) {
        out.push_str(&wrap(&line, width, "  "));
    }
    for ((kind, reason), objects) in &outcome.model.not_evaluated {
        out.push_str(&format!(
            "not evaluated: {} × {kind} ({reason})\n",
            objects.len()
        ));
    }
    for note in &outcome.notes {
        out.push_str(&wrap(&format!("note: {note}"), width, "  "));
    }
    let summary = summary_line(&Summary::of(outcome), outcome.elapsed.as_secs_f64());
    // `in 0.02s` kept on one line, as scripts that mask the time read it.
    let glued = match summary.trim_end().rsplit_once(" in ") {
        Some((counts, time)) => format!("{counts} in\u{a0}{time}"),
        None => summary.trim_end().to_string(),
    };
    out.push_str(&wrap(&glued, width, "  ").replace('\u{a0}', " "));
    out
}

/// `cluster/namespace`, `namespace` or `cluster`: where a finding is, as the concise report
/// and the statistics name it; `None` when it is in neither.
pub fn place_name(cluster: Option<&str>, namespace: Option<&str>) -> Option<String> {
    match (cluster, namespace) {
        (Some(c), Some(n)) => Some(format!("{c}/{n}")),
        (Some(c), None) => Some(c.to_string()),
        (None, Some(n)) => Some(n.to_string()),
        (None, None) => None,
    }
}

/// The findings of one namespace (or of none) in one cluster (or in none).
struct Group<'a> {
    cluster: Option<&'a str>,
    namespace: Option<&'a str>,
    items: Vec<Item<'a>>,
}

/// A finding shown with its snippet, and the findings at the same place it stands for.
struct Item<'a> {
    finding: &'a Finding,
    also: Vec<&'a Finding>,
}

/// Rules whose namespace finding a namespace-wide IMDS001 at the same place stands for: the
/// pair it already tells to add.
const FOLDED_INTO_IMDS001: [&str; 2] = ["IMDS002", "IMDS003"];

/// The findings by cluster, then namespace (the outcome's order within each); in each group
/// an IMDS002 or IMDS003 at the place of a namespace-wide IMDS001 (a namespace no Egress
/// policy isolates) goes under it as an "also", not as a snippet of the same line.
fn groups(findings: &[Finding]) -> Vec<Group<'_>> {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by_key(|f| (f.cluster.as_deref(), f.namespace.as_deref()));
    let mut groups: Vec<Group> = Vec::new();
    for finding in sorted {
        let (cluster, namespace) = (finding.cluster.as_deref(), finding.namespace.as_deref());
        match groups.last_mut() {
            Some(g) if g.cluster == cluster && g.namespace == namespace => {}
            _ => groups.push(Group {
                cluster,
                namespace,
                items: Vec::new(),
            }),
        }
        if let Some(group) = groups.last_mut() {
            group.items.push(Item {
                finding,
                also: Vec::new(),
            });
        }
    }
    for group in &mut groups {
        let host = group.items.iter().position(|i| {
            i.finding.rule == "IMDS001" && i.finding.subject == crate::lint::Subject::Namespace
        });
        let Some(host) = host else { continue };
        let at = group.items[host].finding.at;
        let (folded, kept): (Vec<Item>, Vec<Item>) =
            std::mem::take(&mut group.items).into_iter().partition(|i| {
                FOLDED_INTO_IMDS001.contains(&i.finding.rule)
                    && i.finding.subject == crate::lint::Subject::Namespace
                    && i.finding.at == at
            });
        group.items = kept;
        if let Some(item) = group.items.iter_mut().find(|i| {
            i.finding.rule == "IMDS001" && i.finding.subject == crate::lint::Subject::Namespace
        }) {
            item.also = folded.into_iter().map(|i| i.finding).collect();
        }
    }
    groups
}

/// The heading of a group.
fn heading(group: &Group, several_clusters: bool) -> String {
    let cluster = match group.cluster {
        Some(cluster) => format!("cluster {cluster}"),
        None if several_clusters => "no cluster (no GitOps entry point reaches it)".into(),
        None => String::new(),
    };
    let namespace = match group.namespace {
        Some(namespace) => format!("namespace {namespace}"),
        None => "no namespace (cluster-scoped objects)".into(),
    };
    if cluster.is_empty() {
        format!("── {namespace}")
    } else {
        format!("── {namespace} · {cluster}")
    }
}

/// The findings under a heading per namespace and cluster, a blank line after each.
fn render_findings(diagnostics: &mut Diagnostics, outcome: &Outcome) {
    let clusters: BTreeSet<Option<&str>> = outcome
        .analysis
        .namespaces
        .iter()
        .map(|n| n.cluster.as_deref())
        .chain(outcome.findings.iter().map(|f| f.cluster.as_deref()))
        .collect();
    for group in groups(&outcome.findings) {
        let heading = wrap(
            &heading(&group, clusters.len() > 1),
            diagnostics.width,
            "   ",
        );
        if diagnostics.color {
            // Bold, one line at a time.
            for line in heading.lines() {
                diagnostics.out.push_str(&format!("\x1b[1m{line}\x1b[0m\n"));
            }
        } else {
            diagnostics.out.push_str(&heading);
        }
        diagnostics.out.push('\n');
        for item in group.items {
            let finding = item.finding;
            diagnostics.render(
                finding_diagnostic(outcome, finding),
                finding.at,
                &finding.label,
                // The message does not say where the finding is: link it when there is no
                // snippet.
                Some(place_of(outcome, &finding.at)),
            );
            if !item.also.is_empty() {
                let also = item
                    .also
                    .iter()
                    .map(|f| {
                        let name = RULES.iter().find(|r| r.id == f.rule).map_or("", |r| r.name);
                        format!("{} {name}", f.rule)
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                diagnostics.out.push_str(&wrap(
                    &format!("  also: {also} at this line (the help above adds both policies)"),
                    diagnostics.width,
                    "        ",
                ));
            }
            diagnostics.out.push('\n');
        }
    }
}

/// Reachable namespaces the statistics name before cutting the list short.
const REACHABLE_SHOWN: usize = 20;

/// Counts of findings per rule, most first, then the namespaces where metadata is reachable.
pub fn statistics(outcome: &Outcome, width: usize) -> String {
    let mut counts: Vec<(usize, &Rule)> = RULES
        .iter()
        .map(|&rule| {
            let n = outcome
                .findings
                .iter()
                .filter(|f| f.rule == rule.id)
                .count();
            (n, rule)
        })
        .filter(|(n, _)| *n > 0)
        .collect();
    counts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.id.cmp(b.1.id)));
    let digits = counts.first().map_or(1, |(n, _)| n.to_string().len());
    let name_width = counts.iter().map(|(_, r)| r.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (n, rule) in &counts {
        // Severities as found: settings and the namespace's other policies may change them.
        let of = |severity| {
            outcome
                .findings
                .iter()
                .filter(|f| f.rule == rule.id && f.severity == severity)
                .count()
        };
        let severity = match (of(Severity::Error), of(Severity::Warning)) {
            (0, _) => "warning".to_string(),
            (_, 0) => "error".to_string(),
            (errors, warnings) => format!(
                "{}, {}",
                plural(errors, "error"),
                plural(warnings, "warning")
            ),
        };
        out.push_str(&format!(
            "{n:>digits$}  {}  {:name_width$}  {severity}\n",
            rule.id, rule.name,
        ));
    }
    let reachable: Vec<String> = outcome
        .analysis
        .namespaces
        .iter()
        .filter(|n| !n.reachable.is_empty())
        .filter_map(|n| place_name(n.cluster.as_deref(), Some(&n.name)))
        .collect();
    if !counts.is_empty() {
        out.push('\n');
    }
    if reachable.is_empty() {
        out.push_str("metadata is reachable from no namespace\n");
    } else {
        let mut shown = reachable
            .iter()
            .take(REACHABLE_SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if reachable.len() > REACHABLE_SHOWN {
            shown.push_str(&format!(
                " … and {} more (--format json lists every one)",
                reachable.len() - REACHABLE_SHOWN
            ));
        }
        out.push_str(&wrap(
            &format!(
                "metadata reachable from {}: {shown}",
                plural(reachable.len(), "namespace")
            ),
            width,
            "  ",
        ));
    }
    out.push('\n');
    out
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
    if !outcome.suppressed.is_empty() {
        diagnostics
            .out
            .push_str("── suppressed by imds-lint.io/ignore annotations\n\n");
    }
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
        diagnostics.out.push('\n');
    }
}

/// The inputs that could not be read or parsed, with a snippet where the position is known.
fn render_errors(diagnostics: &mut Diagnostics, outcome: &Outcome) {
    if !outcome.errors.is_empty() {
        diagnostics.out.push_str("── inputs not read or parsed\n\n");
    }
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
                    line: p.line as usize,
                    column: p.column as usize,
                    end_line: p.line as usize,
                    end_column: p.column as usize + 1,
                };
                diagnostics.render(diagnostic, at, "here", None);
            }
            None => {
                let _ = diagnostics
                    .handler
                    .render_report(&mut diagnostics.out, &diagnostic);
            }
        }
        diagnostics.out.push('\n');
    }
}

/// One line per reason, however many paths it skipped.
fn skipped_lines(outcome: &Outcome) -> Vec<String> {
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
                "skipped {} ({reason}): {}",
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
        let shown = window(&line, 10, WINDOW);
        assert_eq!(shown.chars().count(), WINDOW);
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert_eq!(window("short", 0, WINDOW), "short");
        assert_eq!(window("short", 10, WINDOW), "…");
        assert_eq!(window("", 10, WINDOW), "");
    }

    #[test]
    fn short_lines_are_kept_whole() {
        let text = "a: 1\nb: [x, y]\nc: 3\n";
        let (excerpt, span) = excerpt("f".into(), text, &at(2, 5, 6), WINDOW).unwrap();
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
        let (excerpt, span) =
            excerpt("f".into(), &text, &at(4, column, column + 6), WINDOW).unwrap();
        assert_eq!(excerpt.first_line, 1);
        assert_eq!(&excerpt.text[span.0..span.1], "target");
        let lines: Vec<&str> = excerpt.text.lines().collect();
        assert_eq!(lines, ["…", "…", lines[2], "…"]);
        assert!(lines[2].starts_with('…') && lines[2].ends_with('…'));
        assert_eq!(lines[2].chars().count(), WINDOW);
        let before = &excerpt.text[..span.0];
        assert_eq!(
            before.rsplit('\n').next().unwrap().chars().count(),
            window_before(WINDOW)
        );
        // The heading keeps the file's column (in bytes, as miette counts).
        let bytes = long.find("target").unwrap();
        assert_eq!(excerpt.cut_column, Some((span.0, bytes)));
    }

    #[test]
    fn an_underline_past_the_window_stops_at_its_mark() {
        let text = format!("{}\n", "y".repeat(1000));
        let (excerpt, span) = excerpt("f".into(), &text, &at(1, 500, 900), WINDOW).unwrap();
        assert_eq!(span.1, excerpt.text.lines().next().unwrap().len());
        assert!(excerpt.text[span.0..span.1].ends_with('…'));
    }

    #[test]
    fn wrapping_breaks_at_spaces_only() {
        let path = "(clusters/prod/monitoring/daemonset-node-exporter.yaml:15)";
        let text = format!("IMDS005 host-network-pod: block the endpoint for its pods {path}");
        let wrapped = wrap(&text, 40, "    ");
        assert!(wrapped.lines().any(|l| l.trim() == path), "{wrapped}");
        assert!(wrapped.lines().skip(1).all(|l| l.starts_with("    ")));
        assert_eq!(wrap("short", 40, "  "), "short\n");
    }

    #[test]
    fn the_window_follows_the_width_within_bounds() {
        assert_eq!(window_width(200), WINDOW);
        assert_eq!(window_width(100), 90);
        assert_eq!(window_width(20), MIN_WINDOW);
        assert_eq!(window_before(WINDOW), 60);
    }

    #[test]
    fn place_names_join_cluster_and_namespace() {
        assert_eq!(
            place_name(Some("prod"), Some("web")).as_deref(),
            Some("prod/web")
        );
        assert_eq!(place_name(None, Some("web")).as_deref(), Some("web"));
        assert_eq!(place_name(Some("prod"), None).as_deref(), Some("prod"));
        assert_eq!(place_name(None, None), None);
    }
}
