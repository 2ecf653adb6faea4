//! A document's kind read off its text before any tree is built, so that the bodies of the
//! top-level entries the caller's [`Keep`] filter leaves out are passed over, not parsed.
//!
//! Most bytes of a real repository are in objects nobody reads (ConfigMap data, CRD schemas,
//! dashboards). [`skim`] looks at a document line by line: when it is a block mapping whose
//! top-level keys are plain words at column 0, each written once, with a plain `kind`, the
//! entries `keep` leaves out for that kind are blanked (their lines kept as bare line breaks, so
//! positions do not move) and only the rest goes to the YAML parser. Anything else (flow style,
//! merge keys, quoted keys, an indented document, a directive, aliases or deep nesting in a part
//! to skip) is `None`: the caller parses the whole document as before. The caller also checks
//! that the parsed rest has exactly the top-level keys found here, at their lines, and parses
//! the whole document when it does not.

use super::lines::{is_marker, lines, trim_break};
use super::yaml::{self, Keep, MAX_DEPTH, Node, Value};
use std::borrow::Cow;
use std::collections::HashSet;

/// The part of a document to parse, and the top-level keys it must yield.
#[derive(Debug)]
pub struct Skimmed<'a> {
    /// The document's text with the bodies not kept blanked; borrowed when the kept entries
    /// are one run of lines.
    pub text: Cow<'a, str>,
    /// Lines of the document before `text` starts.
    pub lines_before: usize,
    /// The kept top-level keys in order, each with its 0-based line in the document.
    pub keys: Vec<(&'a str, usize)>,
    /// The byte ranges of the document passed over, one per top-level entry not kept.
    pub skipped: Vec<std::ops::Range<usize>>,
}

impl Skimmed<'_> {
    /// Whether a document parsed from [`Skimmed::text`] is the one the skim expected: a
    /// mapping with exactly the kept keys, each at column 1 of its line. `first_line` is the
    /// 1-based file line of the document's first line.
    pub fn agrees(&self, doc: &Node, first_line: usize) -> bool {
        let Value::Map(entries) = &doc.value else {
            return false;
        };
        entries.len() == self.keys.len()
            && entries
                .iter()
                .zip(&self.keys)
                .all(|((key, _), (text, line))| {
                    key.key_text() == Some(*text)
                        && key.span.start.line as usize == first_line + line
                        && key.span.start.column == 1
                })
    }
}

/// One top-level entry: its key, first line, and byte range (to the next entry).
struct Entry<'a> {
    key: &'a str,
    line: usize,
    start: usize,
    end: usize,
}

/// The kept part of `text` (one document, as the loader splits them), or `None` when the
/// whole document must be parsed: the skim cannot tell its shape, or nothing is left out.
pub fn skim<'a>(text: &'a str, keep: &Keep) -> Option<Skimmed<'a>> {
    let entries = top_level_entries(text)?;
    let kind_entry = entries.iter().find(|e| e.key == "kind")?;
    let kind = plain_kind(&text[kind_entry.start..kind_entry.end])?;
    let kept: Vec<bool> = entries.iter().map(|e| keep(Some(kind), &[e.key])).collect();
    if kept.iter().all(|&k| k) || !kept[entries.iter().position(|e| e.key == "kind")?] {
        return None;
    }
    // A part passed over must pass the lexical check; otherwise the whole document is parsed,
    // and any error reported where it is.
    for (entry, _) in entries.iter().zip(&kept).filter(|(_, k)| !**k) {
        let body = &text[entry.start..entry.end];
        if !passable(body.as_bytes()) {
            return None;
        }
    }
    let keys: Vec<(&str, usize)> = entries
        .iter()
        .zip(&kept)
        .filter(|(_, k)| **k)
        .map(|(e, _)| (e.key, e.line))
        .collect();
    let skipped = entries
        .iter()
        .zip(&kept)
        .filter(|(_, k)| !**k)
        .map(|(e, _)| e.start..e.end)
        .collect();
    let first = kept.iter().position(|&k| k)?;
    let last = kept.iter().rposition(|&k| k)?;
    if kept[first..=last].iter().all(|&k| k) {
        // One run of lines: parse it where it stands.
        return Some(Skimmed {
            text: Cow::Borrowed(&text[entries[first].start..entries[last].end]),
            lines_before: entries[first].line,
            keys,
            skipped,
        });
    }
    let mut out = String::with_capacity(entries[last].end - entries[first].start);
    for (entry, &k) in entries[first..=last].iter().zip(&kept[first..=last]) {
        let body = &text[entry.start..entry.end];
        if k {
            out.push_str(body);
        } else {
            out.extend(std::iter::repeat_n('\n', line_breaks(body.as_bytes())));
        }
    }
    Some(Skimmed {
        text: Cow::Owned(out),
        lines_before: entries[first].line,
        keys,
        skipped,
    })
}

/// A document written as one flow mapping (JSON, as `kubectl get -o json` writes it), its
/// kind read off its text: the kept top-level entries, each to parse on its own, and the
/// places of the mapping itself.
#[derive(Debug)]
pub struct FlowSkimmed<'a> {
    /// Each kept entry (`"key": value`), with the 1-based line and column its key starts at.
    pub entries: Vec<FlowEntry<'a>>,
    /// Where the mapping's `{` is, and where its `}` ends (1-based, columns in characters).
    pub start: yaml::Pos,
    pub end: yaml::Pos,
    /// The byte ranges passed over, one per top-level entry not kept.
    pub skipped: Vec<std::ops::Range<usize>>,
}

#[derive(Debug)]
pub struct FlowEntry<'a> {
    pub key: &'a str,
    /// The entry's text, from its key's opening quote to the end of its value.
    pub text: &'a str,
    pub at: yaml::Pos,
}

/// Like [`skim`], for a document that is one flow mapping with double-quoted keys (JSON):
/// `None` unless its text is `{ "key": value, ... }` with white space around, each key once
/// and without escapes, a `"kind"` whose value is one quoted word, values with no comment,
/// single quote, anchor, alias or tag outside double-quoted strings and no nesting past the
/// limit; and something left out. Positions count lines and characters as YAML does.
pub fn skim_flow<'a>(text: &'a str, keep: &Keep) -> Option<FlowSkimmed<'a>> {
    let mut s = FlowScan::new(text.as_bytes());
    s.blank();
    if s.peek() != Some(b'{') {
        return None;
    }
    let start = s.pos();
    s.bump();
    let mut all: Vec<(FlowEntry, std::ops::Range<usize>)> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    loop {
        s.blank();
        if s.peek() == Some(b'}') && all.is_empty() {
            return None;
        }
        let at = s.pos();
        let key_start = s.i;
        let key = s.key()?;
        let key = &text[key_start + 1..key_start + 1 + key.len()];
        s.blank();
        if s.peek() != Some(b':') {
            return None;
        }
        s.bump();
        s.blank();
        s.value()?;
        if !seen.insert(key) {
            return None;
        }
        let entry = text[key_start..s.i].trim_end();
        all.push((
            FlowEntry {
                key,
                text: entry,
                at,
            },
            key_start..key_start + entry.len(),
        ));
        s.blank();
        match s.peek() {
            Some(b',') => s.bump(),
            Some(b'}') => {
                s.bump();
                break;
            }
            _ => return None,
        }
    }
    let end = s.pos();
    s.blank();
    if s.i != text.len() {
        return None;
    }
    let kind = all.iter().find(|(e, _)| e.key == "kind")?.0.text;
    let kind = kind.strip_prefix("\"kind\"")?.trim_start();
    let kind = kind.strip_prefix(':')?.trim_start();
    let kind = kind.strip_prefix('"')?.strip_suffix('"')?;
    if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let (kept, skipped): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|(e, _)| keep(Some(kind), &[e.key]));
    // A key at column 1 leaves no room for the `{` its entry is parsed in.
    if skipped.is_empty() || kept.iter().any(|(e, _)| e.at.column < 2) {
        return None;
    }
    Some(FlowSkimmed {
        entries: kept.into_iter().map(|(e, _)| e).collect(),
        start,
        end,
        skipped: skipped.into_iter().map(|(_, r)| r).collect(),
    })
}

/// A cursor over a flow document that counts lines and columns as it goes.
struct FlowScan<'a> {
    b: &'a [u8],
    i: usize,
    line: usize,
    column: usize,
}

impl<'a> FlowScan<'a> {
    fn new(b: &'a [u8]) -> Self {
        FlowScan {
            b,
            i: 0,
            line: 1,
            column: 1,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn pos(&self) -> yaml::Pos {
        yaml::Pos::new(self.line, self.column)
    }

    /// Steps over one byte, counting `\n`, `\r\n` and a lone `\r` as line breaks and
    /// continuation bytes of a character as no column.
    fn bump(&mut self) {
        let b = self.b[self.i];
        self.i += 1;
        match b {
            b'\n' => (self.line, self.column) = (self.line + 1, 1),
            b'\r' if self.peek() != Some(b'\n') => (self.line, self.column) = (self.line + 1, 1),
            b'\r' => {}
            _ if b & 0xc0 != 0x80 => self.column += 1,
            _ => {}
        }
    }

    fn blank(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    /// A double-quoted key without escapes; its text.
    fn key(&mut self) -> Option<&'a [u8]> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.bump();
        let from = self.i;
        loop {
            match self.peek()? {
                b'"' => break,
                b'\\' | b'\n' | b'\r' => return None,
                _ => self.bump(),
            }
        }
        let key = &self.b[from..self.i];
        self.bump();
        Some(key)
    }

    /// A double-quoted string, escapes and all.
    fn string(&mut self) -> Option<()> {
        self.bump();
        loop {
            match self.peek()? {
                b'"' => {
                    self.bump();
                    return Some(());
                }
                b'\\' => {
                    self.bump();
                    self.peek()?;
                    self.bump();
                }
                _ => self.bump(),
            }
        }
    }

    /// One value: a string, a collection with its brackets matched, or a plain scalar.
    fn value(&mut self) -> Option<()> {
        let mut open: Vec<u8> = Vec::new();
        loop {
            match self.peek()? {
                b'"' => self.string()?,
                b'[' | b'{' => {
                    if open.len() + 2 > MAX_DEPTH {
                        return None;
                    }
                    open.push(if self.peek() == Some(b'[') {
                        b']'
                    } else {
                        b'}'
                    });
                    self.bump();
                }
                b @ (b']' | b'}') => {
                    if open.is_empty() {
                        // The end of the mapping around: the value before it was plain.
                        return Some(());
                    }
                    if open.pop() != Some(b) {
                        return None;
                    }
                    self.bump();
                }
                b',' if open.is_empty() => return Some(()),
                b'\'' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'%' | b'@' | b'`' | b'?' => {
                    return None;
                }
                _ => self.bump(),
            }
            if open.is_empty() && matches!(self.peek(), Some(b',' | b'}' | b']') | None) {
                return Some(());
            }
        }
    }
}

/// The top-level entries of a block mapping written at column 0, or `None` for any other
/// shape. Comment lines, blank lines and a first `---` line may come before the first key;
/// a `...` line may end the document.
fn top_level_entries(text: &str) -> Option<Vec<Entry<'_>>> {
    let bytes = text.as_bytes();
    let mut entries: Vec<Entry> = Vec::new();
    // Keys seen, to refuse a duplicate in one lookup each.
    let mut seen: HashSet<&str> = HashSet::new();
    let mut ended = false;
    let mut start_seen = false;
    for (line_no, (start, end)) in lines(bytes).enumerate() {
        let line = trim_break(&bytes[start..end]);
        let blank_or_comment = {
            let t = line.trim_ascii_start();
            t.is_empty() || t.starts_with(b"#")
        };
        if ended {
            if !blank_or_comment {
                return None;
            }
            continue;
        }
        if is_marker(line, b"---") {
            // Only a bare document start before the first key.
            let rest = line[3..].trim_ascii_start();
            if start_seen || !entries.is_empty() || !(rest.is_empty() || rest.starts_with(b"#")) {
                return None;
            }
            start_seen = true;
            continue;
        }
        if is_marker(line, b"...") {
            if let Some(last) = entries.last_mut() {
                last.end = start;
            }
            ended = true;
            continue;
        }
        match line.first() {
            // A continuation of the entry before (or, before any key, nothing but comments).
            None | Some(b' ' | b'\t' | b'#' | b'-') => {
                if entries.is_empty() && !blank_or_comment {
                    return None;
                }
            }
            Some(_) => {
                let key = plain_key(line)?;
                if !seen.insert(key) {
                    return None;
                }
                if let Some(last) = entries.last_mut() {
                    last.end = start;
                }
                entries.push(Entry {
                    // Key bytes are ASCII: this slice is on character boundaries.
                    key: &text[start..start + key.len()],
                    line: line_no,
                    start,
                    end: bytes.len(),
                });
            }
        }
    }
    (!entries.is_empty()).then_some(entries)
}

/// The key of a line `word: ...` (or `word:` alone), where a word is ASCII letters, digits,
/// `_`, `.`, `/` and `-` not first.
fn plain_key(line: &[u8]) -> Option<&str> {
    let colon = line.iter().position(|&b| b == b':')?;
    let key = &line[..colon];
    let word = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-');
    if key.is_empty() || !key.iter().all(word) || key[0] == b'-' {
        return None;
    }
    if !line.get(colon + 1).is_none_or(|&b| b == b' ' || b == b'\t') {
        return None;
    }
    std::str::from_utf8(key).ok()
}

/// The kind of a `kind: Word` entry: one plain word of ASCII letters and digits that YAML
/// reads as a string, alone on the key's line (a comment may follow), nothing under it.
fn plain_kind(entry: &str) -> Option<&str> {
    let mut lines = entry.lines();
    let first = lines.next()?;
    if lines.any(|l| {
        let t = l.trim_start();
        !(t.is_empty() || t.starts_with('#'))
    }) {
        return None;
    }
    let value = first.strip_prefix("kind:")?.trim_start_matches([' ', '\t']);
    let end = value
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(value.len());
    let (word, rest) = value.split_at(end);
    let after = rest.trim_start_matches([' ', '\t']);
    // Nothing after the word but white space, or a comment set off by white space.
    if !(after.is_empty() || (after.starts_with('#') && after.len() < rest.len())) {
        return None;
    }
    let node = Node {
        value: Value::Scalar {
            text: word.to_string(),
            quoted: false,
        },
        span: yaml::Span::default(),
    };
    node.as_str().is_some_and(|s| !s.is_empty()).then_some(word)
}

/// Whether a top-level entry's text (its key line and what follows) may be passed over: a
/// light lexical pass finds its quoted scalars, flow collections and block scalars, and
/// refuses (so that the whole document is parsed, and any error found where it is) a quote or
/// bracket left open or closed by the wrong one, an alias (its expansion counts against the
/// document's budget), nesting that may pass [`MAX_DEPTH`], or what it does not follow
/// (complex keys, a block scalar alone on its line). What it does not check: indentation, tabs,
/// duplicate keys and the other rules a full parse applies.
fn passable(body: &[u8]) -> bool {
    let mut lexer = Lexer::default();
    for (start, end) in lines(body) {
        let line = trim_break(&body[start..end]);
        if let Some(parent) = lexer.block_scalar {
            let indent = line.iter().take_while(|&&b| b == b' ').count();
            if indent == line.len() || indent > parent {
                continue;
            }
            lexer.block_scalar = None;
        }
        if !lexer.line(line) {
            return false;
        }
    }
    lexer.quote.is_none() && lexer.flow.is_empty()
}

#[derive(Default)]
struct Lexer {
    /// The quote of a quoted scalar left open at the end of the last line.
    quote: Option<u8>,
    /// The closing brackets of the flow collections open, innermost last.
    flow: Vec<u8>,
    /// Inside a block scalar whose parent node is at this column.
    block_scalar: Option<usize>,
}

impl Lexer {
    /// Reads one line; `false` for what the skim refuses.
    fn line(&mut self, line: &[u8]) -> bool {
        let mut i = 0;
        // The column of the last key or `-` entry on this line: a block scalar's parent.
        let mut node_col = None;
        // Where a node may start: after indentation, an indicator, or a flow separator.
        let mut token_start = true;
        while i < line.len() {
            let b = line[i];
            if let Some(q) = self.quote {
                match (q, b) {
                    (b'"', b'\\') => i += 1,
                    (b'\'', b'\'') if line.get(i + 1) == Some(&b'\'') => i += 1,
                    _ if b == q => {
                        self.quote = None;
                        token_start = false;
                    }
                    _ => {}
                }
                i += 1;
                continue;
            }
            let in_flow = !self.flow.is_empty();
            let next = line.get(i + 1).copied();
            let ends_token =
                next.is_none_or(|n| n == b' ' || n == b'\t' || (in_flow && b",[]{}".contains(&n)));
            match b {
                b' ' | b'\t' => {}
                b'#' if token_start || i == 0 || matches!(line[i - 1], b' ' | b'\t') => {
                    return true;
                }
                b'"' | b'\'' if token_start => self.quote = Some(b),
                b'[' | b'{' if token_start || in_flow => {
                    if 2 * i + self.flow.len() + 2 > MAX_DEPTH {
                        return false;
                    }
                    self.flow.push(if b == b'[' { b']' } else { b'}' });
                    token_start = true;
                    i += 1;
                    continue;
                }
                b']' | b'}' if in_flow => {
                    if self.flow.pop() != Some(b) {
                        return false;
                    }
                    token_start = false;
                }
                b',' if in_flow => {
                    token_start = true;
                    i += 1;
                    continue;
                }
                b']' | b'}' | b'*' | b'?' | b'@' | b'`' | b'%' if token_start => return false,
                b'-' if token_start && !in_flow && ends_token => {
                    if 2 * i + 2 > MAX_DEPTH {
                        return false;
                    }
                    node_col = Some(i);
                    i += 1;
                    continue;
                }
                b':' if ends_token
                    || (in_flow
                        && !token_start
                        && matches!(line.get(i.wrapping_sub(1)), Some(b'"' | b'\''))) =>
                {
                    token_start = true;
                    i += 1;
                    continue;
                }
                b'|' | b'>' if token_start && !in_flow => {
                    // The rest of the line is the scalar's header; its content is what is
                    // indented past its parent.
                    let Some(parent) = node_col else {
                        return false;
                    };
                    self.block_scalar = Some(parent);
                    return true;
                }
                b'&' | b'!' if token_start => {
                    // An anchor or a tag: a word, then a node may start.
                    while i < line.len() && !matches!(line[i], b' ' | b'\t') {
                        i += 1;
                    }
                    continue;
                }
                _ if token_start => {
                    // A plain scalar, to the end of its token; a key when `:` follows.
                    let start = i;
                    while i < line.len() {
                        let c = line[i];
                        let after = line.get(i + 1).copied();
                        let colon_ends = c == b':'
                            && after.is_none_or(|n| {
                                n == b' ' || n == b'\t' || (in_flow && b",[]{}".contains(&n))
                            });
                        if colon_ends
                            || (c == b'#' && matches!(line[i - 1], b' ' | b'\t'))
                            || (in_flow && b",[]{}".contains(&c))
                        {
                            break;
                        }
                        i += 1;
                    }
                    if line.get(i) == Some(&b':') {
                        if 2 * start + self.flow.len() + 2 > MAX_DEPTH {
                            return false;
                        }
                        node_col = Some(start);
                    }
                    token_start = false;
                    continue;
                }
                _ => {}
            }
            if !matches!(b, b' ' | b'\t') {
                token_start = false;
            }
            i += 1;
        }
        true
    }
}

/// The number of YAML line breaks (`\n`, `\r\n`, a lone `\r`) in `bytes`.
fn line_breaks(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::load::load_stream;

    /// Keeps identity, and all of a `Policy`.
    fn keep(kind: Option<&str>, path: &[&str]) -> bool {
        kind.is_none_or(|k| {
            k == "Policy" || matches!(path.first(), Some(&"apiVersion" | &"kind" | &"metadata"))
        })
    }

    fn kept(text: &str) -> Option<(String, usize, Vec<&str>)> {
        let s = skim(text, &keep)?;
        Some((
            s.text.to_string(),
            s.lines_before,
            s.keys.iter().map(|k| k.0).collect(),
        ))
    }

    #[test]
    fn bodies_of_entries_not_kept_are_blanked_in_place() {
        let text = "# c\n---\ndata:\n  a: |\n    x: \"'\n  b: [1, {c: 2}]\nkind: ConfigMap # x\nspec: {}\nmetadata:\n  name: a\n";
        assert_eq!(
            kept(text),
            Some((
                "kind: ConfigMap # x\n\nmetadata:\n  name: a\n".into(),
                6,
                vec!["kind", "metadata"]
            ))
        );
        // One run of kept lines is parsed where it stands.
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  k: v\n";
        let s = skim(text, &keep).unwrap();
        assert!(matches!(s.text, Cow::Borrowed(_)));
        assert_eq!(s.lines_before, 0);
        assert_eq!(s.skipped.len(), 1);
        assert_eq!(s.skipped[0], text.find("data:\n").unwrap()..text.len());
    }

    #[test]
    fn what_the_skim_cannot_tell_is_parsed_whole() {
        for text in [
            // Nothing to leave out.
            "kind: Policy\nspec: {}\n",
            "kind: ConfigMap\nmetadata: {}\n",
            // Shapes the skim does not follow.
            "{kind: ConfigMap, data: {}}\n",
            "  kind: ConfigMap\n  data: {}\n",
            "\"kind\": ConfigMap\ndata: {}\n",
            "kind: ConfigMap\n<<: {data: 1}\n",
            "kind: ConfigMap\nkind: Policy\ndata: {}\n",
            "%YAML 1.1\n---\nkind: ConfigMap\ndata: {}\n",
            "--- {kind: ConfigMap}\n",
            "- kind: ConfigMap\n",
            "? kind\n: ConfigMap\ndata: {}\n",
            // A kind that is no plain word, or no string.
            "kind: \"ConfigMap\"\ndata: {}\n",
            "kind: Config Map\ndata: {}\n",
            "kind: Yes\ndata: {}\n",
            "kind: 12\ndata: {}\n",
            "kind: !!str ConfigMap\ndata: {}\n",
            "kind: &k ConfigMap\ndata: {}\n",
            "kind:\n  ConfigMap\ndata: {}\n",
            "kind: ConfigMap#x\ndata: {}\n",
            "data: {}\n",
            // A body the lexical pass refuses.
            "kind: ConfigMap\ndata: {key: [1, 2}\n",
            "kind: ConfigMap\ndata: {key: [1, 2\n",
            "kind: ConfigMap\ndata: \"abc\n",
            "kind: ConfigMap\ndata: 'it''s\n",
            "kind: ConfigMap\ndata: [*a]\n",
            "kind: ConfigMap\ndata:\n  b: *a\n",
            "kind: ConfigMap\ndata:\n  - *a\n",
            "kind: ConfigMap\ndata:\n|\n x\n",
            "kind: ConfigMap\ndata:\n  ? a\n  : b\n",
        ] {
            assert_eq!(kept(text), None, "{text:?}");
        }
        let deep = format!("kind: ConfigMap\ndata: {}\n", "[".repeat(200));
        assert_eq!(kept(&deep), None);
        let deep = format!(
            "kind: ConfigMap\ndata: {}{}\n",
            "[".repeat(300),
            "]".repeat(300)
        );
        assert_eq!(kept(&deep), None);
    }

    #[test]
    fn the_lexical_pass_reads_quotes_flows_and_block_scalars() {
        for body in [
            "data:\n  a: don't\n  b: say \"hi\n  c: 'it''s' # it's\n",
            "data:\n  a: |\n    echo \"$(cat 'x\n    [ -f x ] && *y\n  b: >-\n    {\n",
            "data:\n  - |\n    [\n  - key: |\n      ]\n",
            "data: {\"a\":\"b\", c: [1, 2, {d: e}], 'f': \"g\\\" ]\"}\n",
            "data: [a,\n  b, {c: d,\n  e: f}]\n",
            "data: \"multi\n  line\"\n",
            "data:\n  url: http://x:80/*\n  glob: a*b\n  k: !!binary |\n    AAAA\n",
            "data:\n  - &a x\n  - !t [y]\n",
        ] {
            assert!(passable(body.as_bytes()), "{body:?}");
        }
        for body in [
            "data:\n  a: |\n    x\n  b: \"y\n",
            "data: [a, {b: c]}\n",
            "data: [a\n",
            "data: ]\n",
            "data:\n  - *a\n",
            "data: {a: *b}\n",
        ] {
            assert!(!passable(body.as_bytes()), "{body:?}");
        }
    }

    #[test]
    fn a_json_document_keeps_its_identity_entries() {
        let text = "{\n  \"apiVersion\": \"v1\",\n  \"data\": {\"a\": \"{'x': [1, 2]}\\\"\", \"b\": [1, {\"c\": null}]},\n  \"kind\": \"ConfigMap\" ,\n  \"metadata\": {\"name\": \"é\", \"namespace\": \"n\"}\n}\n";
        let s = skim_flow(text, &keep).unwrap();
        let keys: Vec<(&str, u32, u32)> = s
            .entries
            .iter()
            .map(|e| (e.key, e.at.line, e.at.column))
            .collect();
        assert_eq!(
            keys,
            [("apiVersion", 2, 3), ("kind", 4, 3), ("metadata", 5, 3)]
        );
        assert_eq!(s.entries[1].text, "\"kind\": \"ConfigMap\"");
        assert_eq!(
            (s.start.line, s.start.column, s.end.line, s.end.column),
            (1, 1, 6, 2)
        );
        assert_eq!(s.skipped.len(), 1);
        assert!(text[s.skipped[0].clone()].starts_with("\"data\""));
        // Through the loader: positions as a full parse gives them, `data` not built.
        let f = load_stream("c.json", text.as_bytes(), &keep);
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        let whole = crate::source::load::load_stream_parsed_whole("c.json", text.as_bytes(), &keep);
        let name = |t: &Node| t.get("metadata").unwrap().get("name").unwrap().span;
        assert_eq!(name(&f.trees[0]), name(&whole.trees[0]));
        assert_eq!(name(&f.trees[0]).start.column, 24);
        assert_eq!(f.trees[0].span, whole.trees[0].span);
        assert!(f.trees[0].get("data").is_none());
        for text in [
            "{\"kind\": \"Policy\", \"spec\": {}}",
            "{\"kind\": \"ConfigMap\"}",
            "{\"kind\": \"ConfigMap\", \"data\": {'a': 1}}",
            "{\"kind\": \"ConfigMap\", \"data\": [*a]}",
            "{\"kind\": \"ConfigMap\", \"data\": {\"a\": 1]}",
            "{\"kind\": \"ConfigMap\", \"data\": \"x}",
            "{\"kind\": \"ConfigMap\", \"data\": 1, \"data\": 2}",
            "{\"kind\": \"ConfigMap\", \"data\": 1} x",
            "{\"kind\": \"ConfigMap\", \"data\": 1 # c\n}",
            "{\"kind\": \"Config Map\", \"data\": 1}",
            "{\"kind\": ConfigMap, \"data\": 1}",
            "{kind: ConfigMap, \"data\": 1}",
            "{\"k\\\"\": 1, \"kind\": \"ConfigMap\", \"data\": 1}",
            "{\n\"kind\": \"ConfigMap\", \"data\": 1}",
            "[{\"kind\": \"ConfigMap\", \"data\": 1}]",
        ] {
            assert!(skim_flow(text, &keep).is_none(), "{text:?}");
        }
    }

    #[test]
    fn many_top_level_keys_cost_linear_time() {
        let keys: String = (0..200_000).map(|i| format!("k{i}: v\n")).collect();
        let text = format!("kind: ConfigMap\nmetadata: {{}}\n{keys}");
        let started = std::time::Instant::now();
        assert_eq!(skim(&text, &keep).map(|s| s.skipped.len()), Some(200_000));
        let json: Vec<String> = (0..200_000).map(|i| format!("\"k{i}\": 1")).collect();
        let text = format!("{{\"kind\": \"ConfigMap\", {}}}", json.join(", "));
        assert_eq!(
            skim_flow(&text, &keep).map(|s| s.skipped.len()),
            Some(200_000)
        );
        assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    }

    #[test]
    fn a_skimmed_document_keeps_its_positions_and_errors() {
        let text = "a: 1\n---\nkind: ConfigMap\ndata:\n  x: [1, 2]\nmetadata:\n  name: m\n  labels: {a: b\n---\nkind: ConfigMap\ndata: |\n  x\nmetadata:\n  name: n\n";
        let f = load_stream("s.yaml", text.as_bytes(), &keep);
        assert_eq!(f.trees.len(), 2);
        assert_eq!(f.errors.len(), 1, "{:?}", f.errors);
        assert_eq!(f.errors[0].pos.map(|p| p.line), Some(9));
        let name = f.trees[1].get("metadata").unwrap().get("name").unwrap();
        assert_eq!(
            name.span.start,
            yaml::Pos {
                line: 14,
                column: 9
            }
        );
        assert!(f.trees[1].get("data").is_none());
    }
}
