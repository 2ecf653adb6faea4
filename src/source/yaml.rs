//! A YAML tree with a source position on every node, built from saphyr's event stream.
//!
//! Kubernetes reads manifests through sigs.k8s.io/yaml (go-yaml v2, YAML 1.1 plain scalars),
//! so plain scalars are resolved the way it does: `yes`/`no`/`on`/`off` are booleans.
//! Guards against hostile input live here: a nesting limit and an alias-expansion budget
//! (billion laughs), both reported as ordinary parse errors.

use saphyr_parser::{Event, Parser, ScalarStyle, Span as EventSpan};
use std::collections::HashMap;

/// Deepest nesting accepted; real manifests stay far below it.
pub const MAX_DEPTH: usize = 256;
/// Nodes an alias may copy in one document before it counts as an alias bomb.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// A 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// Where a node starts and ends in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar with its text and whether it was quoted (quoted scalars are always strings).
    Scalar {
        text: String,
        quoted: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A typed reading of a scalar, as Kubernetes' YAML-to-JSON conversion would see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float,
    Str(&'a str),
}

/// A document that could not be parsed, with the position of the problem.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub pos: Pos,
    pub message: String,
}

impl Node {
    pub fn scalar(&self) -> Option<Scalar<'_>> {
        match &self.value {
            Value::Scalar { text, quoted } => Some(if *quoted {
                Scalar::Str(text)
            } else {
                resolve_plain(text)
            }),
            _ => None,
        }
    }

    /// The node as a string, only if YAML would read it as one.
    pub fn as_str(&self) -> Option<&str> {
        match self.scalar()? {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.scalar(), Some(Scalar::Null))
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The value under `key` in a mapping, if any.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and value node under `key` in a mapping, if any.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.key_text() == Some(key))
            .map(|(k, v)| (k, v))
    }

    /// A mapping key's text, whatever its style (`"kind"` and `kind` are the same key).
    pub fn key_text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// A short name for the node's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Map(_) => "a mapping",
            Value::Seq(_) => "a list",
            Value::Scalar { .. } => match self.scalar() {
                Some(Scalar::Null) => "null",
                Some(Scalar::Bool(_)) => "a boolean",
                Some(Scalar::Int(_)) => "an integer",
                Some(Scalar::Float) => "a number",
                _ => "a string",
            },
        }
    }
}

/// YAML 1.1 plain-scalar resolution, as go-yaml v2 does it.
fn resolve_plain(text: &str) -> Scalar<'_> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
            return Scalar::Bool(true);
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => {
            return Scalar::Bool(false);
        }
        _ => {}
    }
    if let Some(n) = parse_int(text) {
        return Scalar::Int(n);
    }
    if looks_like_float(text) {
        return Scalar::Float;
    }
    Scalar::Str(text)
}

fn parse_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let digits = digits.replace('_', "");
    if digits.is_empty() {
        return None;
    }
    let magnitude = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else if digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()?
    } else {
        return None;
    };
    Some(if negative { -magnitude } else { magnitude })
}

fn looks_like_float(text: &str) -> bool {
    let t = text.trim_start_matches(['-', '+']);
    matches!(t, ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN")
        || (t.bytes().any(|b| b.is_ascii_digit())
            && t.bytes().all(|b| {
                b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+' | b'_')
            })
            && t.replace('_', "").parse::<f64>().is_ok())
}

/// Byte offset in `text` of a 1-based line and (character) column, as in [`Pos`].
pub fn offset_of(text: &str, line: usize, column: usize) -> Option<usize> {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2).map(|(i, _)| i + 1)?
    };
    let rest = &text[line_start..];
    let within = rest
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(rest.len(), |(i, _)| i);
    Some(line_start + within)
}

fn pos(marker: &saphyr_parser::Marker, line_offset: usize) -> Pos {
    Pos {
        line: marker.line() + line_offset,
        column: marker.col() + 1,
    }
}

fn span(s: &EventSpan, line_offset: usize) -> Span {
    Span {
        start: pos(&s.start, line_offset),
        end: pos(&s.end, line_offset),
    }
}

/// A collection being built, with what it has so far.
enum Frame {
    Seq {
        items: Vec<Node>,
        start: Span,
        anchor: usize,
    },
    Map {
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        start: Span,
        anchor: usize,
    },
}

/// Decides which parts of a document to build, given the document's `kind` (once seen) and
/// the mapping keys from the root to a value. Parts not kept are still parsed, so their syntax
/// errors are found, but cost no allocation.
pub type Keep = dyn Fn(Option<&str>, &[&str]) -> bool + Sync;

/// Keys deeper than this are always kept when their ancestors are.
const FILTER_DEPTH: usize = 8;

/// Parses every YAML document in `text` (whose first line is line `line_offset + 1` of its
/// file). Documents that are empty or hold only comments yield nothing.
pub fn parse_documents(text: &str, line_offset: usize) -> Result<Vec<Node>, ParseError> {
    parse_documents_filtered(text, line_offset, &|_, _| true)
}

/// Like [`parse_documents`], building only the parts `keep` asks for.
pub fn parse_documents_filtered(
    text: &str,
    line_offset: usize,
    keep: &Keep,
) -> Result<Vec<Node>, ParseError> {
    let built = match build(text, line_offset, keep) {
        // An alias into a part that was not built: build everything instead.
        Err(BuildError::NeedsEverything) => build(text, line_offset, &|_, _| true),
        other => other,
    };
    built.or_else(|error| match error {
        BuildError::Syntax(e) => lenient_parse(text, line_offset).ok_or(e),
        BuildError::Guard(e) => Err(e),
        BuildError::NeedsEverything => Err(ParseError {
            pos: Pos {
                line: line_offset + 1,
                column: 1,
            },
            message: "alias refers to an unknown anchor".into(),
        }),
    })
}

/// kubectl reads YAML with go-yaml, a libyaml port that accepts a few things the YAML spec
/// (and saphyr) refuse, such as under-indented continuation lines of quoted scalars. When
/// saphyr refuses a document, libyaml (through serde_yaml) gets a second opinion; if it
/// accepts, the document is linted, with every node placed at the document's first line.
fn lenient_parse(text: &str, line_offset: usize) -> Option<Vec<Node>> {
    use serde::Deserialize;
    let first_line = text
        .lines()
        .position(|l| {
            let t = l.trim_start();
            !(t.is_empty() || t.starts_with('#') || t.starts_with("---") || l.starts_with('%'))
        })
        .unwrap_or(0);
    let at = Pos {
        line: line_offset + first_line + 1,
        column: 1,
    };
    let mut documents = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let value = serde_yaml::Value::deserialize(document).ok()?;
        documents.push(from_serde(value, Span { start: at, end: at }));
    }
    documents.retain(|d| !d.is_null());
    Some(documents)
}

fn from_serde(value: serde_yaml::Value, span: Span) -> Node {
    use serde_yaml::Value as V;
    let scalar = |text: String, quoted: bool| Value::Scalar { text, quoted };
    let value = match value {
        V::Null => scalar(String::new(), false),
        V::Bool(b) => scalar(b.to_string(), false),
        V::Number(n) => scalar(n.to_string(), false),
        V::String(s) => scalar(s, true),
        V::Sequence(items) => Value::Seq(items.into_iter().map(|v| from_serde(v, span)).collect()),
        V::Mapping(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (from_serde(k, span), from_serde(v, span)))
                .collect(),
        ),
        V::Tagged(tagged) => return from_serde(tagged.value, span),
    };
    Node { value, span }
}

enum BuildError {
    /// The text is not YAML as the spec has it.
    Syntax(ParseError),
    /// Hostile or absurd input: too deep, or aliases expanding too far.
    Guard(ParseError),
    /// An alias refers to an anchor inside a part that `keep` skipped.
    NeedsEverything,
}

fn build(text: &str, line_offset: usize, keep: &Keep) -> Result<Vec<Node>, BuildError> {
    let mut builder = Builder {
        keep,
        documents: Vec::new(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        skipped: Skipped::default(),
        alias_budget: MAX_ALIAS_NODES,
        root: None,
        kind: None,
    };
    for event in Parser::new_from_str(text) {
        let (event, event_span) = event.map_err(|e| {
            BuildError::Syntax(ParseError {
                pos: pos(e.marker(), line_offset),
                message: e.info().to_string(),
            })
        })?;
        let at = span(&event_span, line_offset);
        let alias_size = builder.guard(&event, at)?;
        if builder.skips(&event, alias_size) {
            continue;
        }
        if let Some(node) = builder.node(event, at)? {
            builder.attach(node);
        }
    }
    builder.documents.extend(builder.root.take());
    // An empty document (`---` followed by nothing) parses as a null scalar: not a manifest.
    builder.documents.retain(|d| !d.is_null());
    Ok(builder.documents)
}

/// The tree builder's state over one text's events.
struct Builder<'k> {
    keep: &'k Keep,
    /// The documents finished so far.
    documents: Vec<Node>,
    /// The collections open in the part being built, innermost last.
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    skipped: Skipped,
    /// Nodes aliases may still expand to in this document.
    alias_budget: usize,
    /// The current document's root, once finished.
    root: Option<Node>,
    /// The current document's `kind`, once seen.
    kind: Option<String>,
}

impl Builder<'_> {
    /// Refuses nesting too deep and aliases expanding too far; returns what an alias event
    /// expands to (0 for other events).
    fn guard(&mut self, event: &Event, at: Span) -> Result<usize, BuildError> {
        if matches!(event, Event::SequenceStart(..) | Event::MappingStart(..))
            && self.stack.len() + self.skipped.open.len() >= MAX_DEPTH
        {
            return Err(BuildError::Guard(ParseError {
                pos: at.start,
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
            }));
        }
        // Aliases cost their expanded size even where nothing is built, so an alias bomb in a
        // part that is skipped is still refused, as kubectl refuses it.
        let alias_size = match event {
            Event::Alias(id) => match self.anchors.get(id) {
                Some(node) => count_nodes(node),
                None => self.skipped.sizes.get(id).copied().unwrap_or(1),
            },
            _ => 0,
        };
        if alias_size > 0 {
            if alias_size > self.alias_budget {
                return Err(BuildError::Guard(ParseError {
                    pos: at.start,
                    message: format!(
                        "aliases expand to more than {MAX_ALIAS_NODES} nodes (a YAML alias bomb?)"
                    ),
                }));
            }
            self.alias_budget -= alias_size;
        }
        Ok(alias_size)
    }

    /// Whether `event` belongs to a part not built (inside one, or starting one that `keep`
    /// refuses); such events are only accounted for.
    fn skips(&mut self, event: &Event, alias_size: usize) -> bool {
        if !self.skipped.open.is_empty() {
            self.skipped.event(event, alias_size);
            return true;
        }
        let is_value = matches!(
            event,
            Event::Scalar(..)
                | Event::SequenceStart(..)
                | Event::MappingStart(..)
                | Event::Alias(_)
        );
        if is_value
            && self.stack.len() <= FILTER_DEPTH
            && matches!(self.stack.last(), Some(Frame::Map { key: Some(_), .. }))
        {
            let path: Vec<&str> = self
                .stack
                .iter()
                .filter_map(|f| match f {
                    Frame::Map { key: Some(k), .. } => k.key_text(),
                    _ => None,
                })
                .collect();
            if !(self.keep)(self.kind.as_deref(), &path) {
                if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                    *key = None;
                }
                self.skipped.event(event, alias_size);
                return true;
            }
        }
        false
    }

    /// Applies one event; returns the node it finishes, if any.
    fn node(&mut self, event: Event, at: Span) -> Result<Option<Node>, BuildError> {
        let finished = match event {
            Event::Scalar(value, style, anchor, _tag) => {
                let node = Node {
                    value: Value::Scalar {
                        text: value.into_owned(),
                        quoted: style != ScalarStyle::Plain,
                    },
                    span: at,
                };
                remember(&mut self.anchors, anchor, &node);
                Some(node)
            }
            Event::Alias(id) => {
                let Some(node) = self.anchors.get(&id) else {
                    if self.skipped.sizes.contains_key(&id) {
                        return Err(BuildError::NeedsEverything);
                    }
                    return Err(BuildError::Syntax(ParseError {
                        pos: at.start,
                        message: "alias refers to an unknown anchor".into(),
                    }));
                };
                Some(Node {
                    value: node.value.clone(),
                    span: at,
                })
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    start: at,
                    anchor,
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map {
                    entries: Vec::new(),
                    key: None,
                    start: at,
                    anchor,
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(at),
            Event::DocumentStart(_) | Event::DocumentEnd => {
                self.documents.extend(self.root.take());
                self.anchors.clear();
                self.skipped = Skipped::default();
                self.alias_budget = MAX_ALIAS_NODES;
                self.kind = None;
                None
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => None,
        };
        Ok(finished)
    }

    /// Closes the innermost collection, which ends at `at`.
    fn close(&mut self, at: Span) -> Option<Node> {
        let (value, start, anchor) = match self.stack.pop()? {
            Frame::Seq {
                items,
                start,
                anchor,
            } => (Value::Seq(items), start, anchor),
            Frame::Map {
                entries,
                start,
                anchor,
                ..
            } => (Value::Map(entries), start, anchor),
        };
        let node = Node {
            value,
            span: Span {
                start: start.start,
                end: at.end,
            },
        };
        remember(&mut self.anchors, anchor, &node);
        Some(node)
    }

    /// Puts a finished node into its parent: an item, a key, a value, or the root.
    fn attach(&mut self, node: Node) {
        let depth = self.stack.len();
        match self.stack.last_mut() {
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some(k) => {
                    if depth == 1 && k.key_text() == Some("kind") {
                        self.kind = node.as_str().map(str::to_string);
                    }
                    entries.push((k, node));
                }
                None => *key = Some(node),
            },
            None => self.root = Some(node),
        }
    }
}

/// What is known of the parts not built: the collections open in the part being skipped,
/// with their anchor and size so far, and the expanded size of every anchor defined there.
#[derive(Default)]
struct Skipped {
    open: Vec<(usize, usize)>,
    sizes: HashMap<usize, usize>,
}

impl Skipped {
    /// Accounts for one event of a skipped part; `alias_size` is what an alias expands to.
    fn event(&mut self, event: &Event, alias_size: usize) {
        let done = match *event {
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                self.open.push((anchor, 1));
                return;
            }
            Event::SequenceEnd | Event::MappingEnd => match self.open.pop() {
                Some(collection) => collection,
                None => return,
            },
            Event::Scalar(_, _, anchor, _) => (anchor, 1),
            Event::Alias(_) => (0, alias_size),
            _ => return,
        };
        let (anchor, size) = done;
        if anchor != 0 {
            self.sizes.insert(anchor, size);
        }
        if let Some(parent) = self.open.last_mut() {
            parent.1 = parent.1.saturating_add(size);
        }
    }
}

fn remember(anchors: &mut HashMap<usize, Node>, anchor: usize, node: &Node) {
    if anchor != 0 {
        anchors.insert(anchor, node.clone());
    }
}

fn count_nodes(node: &Node) -> usize {
    match &node.value {
        Value::Scalar { .. } => 1,
        Value::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| count_nodes(k) + count_nodes(v))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let mut docs = parse_documents(text, 0).expect("parses");
        assert_eq!(docs.len(), 1);
        docs.remove(0)
    }

    #[test]
    fn positions_are_one_based() {
        let doc = one("kind: NetworkPolicy\nspec:\n  podSelector: {}\n");
        let (key, value) = doc.get("spec").unwrap().entry("podSelector").unwrap();
        assert_eq!(key.span.start, Pos { line: 3, column: 3 });
        assert_eq!(
            value.span.start,
            Pos {
                line: 3,
                column: 16
            }
        );
    }

    #[test]
    fn line_offset_shifts_positions() {
        let doc = parse_documents("kind: Pod\n", 10).unwrap().remove(0);
        assert_eq!(doc.entry("kind").unwrap().0.span.start.line, 11);
    }

    #[test]
    fn plain_scalars_resolve_like_go_yaml_v2() {
        let doc = one("a: 80\nb: \"80\"\nc: yes\nd: ~\ne: 0x10\nf: 1.5\ng: web\nh:\n");
        assert_eq!(doc.get("a").unwrap().scalar(), Some(Scalar::Int(80)));
        assert_eq!(doc.get("b").unwrap().scalar(), Some(Scalar::Str("80")));
        assert_eq!(doc.get("c").unwrap().scalar(), Some(Scalar::Bool(true)));
        assert_eq!(doc.get("d").unwrap().scalar(), Some(Scalar::Null));
        assert_eq!(doc.get("e").unwrap().scalar(), Some(Scalar::Int(16)));
        assert_eq!(doc.get("f").unwrap().scalar(), Some(Scalar::Float));
        assert_eq!(doc.get("g").unwrap().as_str(), Some("web"));
        assert!(doc.get("h").unwrap().is_null());
    }

    #[test]
    fn several_documents_and_empty_ones() {
        let docs = parse_documents("---\na: 1\n---\n# only a comment\n---\nb: 2\n", 0).unwrap();
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn aliases_are_expanded() {
        let doc = one("x: &l {app: web}\ny: *l\n");
        assert_eq!(
            doc.get("y").unwrap().get("app").unwrap().as_str(),
            Some("web")
        );
    }

    #[test]
    fn alias_bomb_is_an_error_not_a_hang() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (i, name) in "bcdefghij".chars().enumerate() {
            let prev = (b'a' + i as u8) as char;
            text.push_str(&format!(
                "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let err = parse_documents(&text, 0).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{}", err.message);
    }

    #[test]
    fn alias_bomb_in_a_part_not_built_is_still_refused() {
        let mut text =
            String::from("kind: ConfigMap\ndata:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (i, name) in "bcdefghij".chars().enumerate() {
            let prev = (b'a' + i as u8) as char;
            let refs = vec![format!("*{prev}"); 10].join(", ");
            text.push_str(&format!("  {name}: &{name} [{refs}]\n"));
        }
        let err = parse_documents_filtered(&text, 0, &only_kind_and_metadata).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{}", err.message);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let err = parse_documents(&text, 0).unwrap_err();
        assert!(err.message.contains("nesting") || err.message.contains("recursion"));
    }

    #[test]
    fn syntax_error_has_a_position() {
        let err = parse_documents("a: 1\nb: [1, 2\nc: 3\n", 0).unwrap_err();
        assert!(err.pos.line >= 2, "{err:?}");
    }

    fn only_kind_and_metadata(kind: Option<&str>, path: &[&str]) -> bool {
        kind.is_none() || matches!(path.first(), Some(&"kind" | &"metadata"))
    }

    #[test]
    fn filtered_parts_are_not_built_but_still_checked() {
        let text = "kind: ConfigMap\nmetadata: {name: a}\ndata:\n  big: [1, 2, {x: y}]\n";
        let doc = parse_documents_filtered(text, 0, &only_kind_and_metadata)
            .unwrap()
            .remove(0);
        assert!(doc.get("data").is_none());
        assert_eq!(
            doc.get("metadata").unwrap().get("name").unwrap().as_str(),
            Some("a")
        );
        let broken = "kind: ConfigMap\ndata:\n  big: [1, 2\nmetadata: {}\n";
        assert!(parse_documents_filtered(broken, 0, &only_kind_and_metadata).is_err());
    }

    #[test]
    fn keys_before_kind_are_kept_and_aliases_into_skipped_parts_rebuild() {
        let text = "data: {a: 1}\nkind: ConfigMap\nspec: &s {b: 2}\nmetadata: {labels: *s}\n";
        let doc = parse_documents_filtered(text, 0, &only_kind_and_metadata)
            .unwrap()
            .remove(0);
        assert!(doc.get("data").is_some(), "kind was not known yet");
        assert_eq!(
            doc.get("metadata")
                .unwrap()
                .get("labels")
                .unwrap()
                .get("b")
                .unwrap()
                .scalar(),
            Some(Scalar::Int(2))
        );
    }

    #[test]
    fn what_libyaml_accepts_is_not_an_error() {
        // Continuation lines of a quoted scalar at column 0: refused by the spec, accepted by
        // go-yaml and so by kubectl.
        let text = "kind: ConfigMap\ndata:\n  nginx.conf: '\nevents {\n}\n'\n";
        let doc = parse_documents(text, 4).unwrap().remove(0);
        assert_eq!(doc.get("kind").unwrap().as_str(), Some("ConfigMap"));
        assert_eq!(doc.span.start.line, 5);
    }

    #[test]
    fn json_with_tabs_parses() {
        let doc = one("{\n\t\"kind\": \"Pod\",\n\t\"metadata\": {\"name\": \"x\"}\n}\n");
        assert_eq!(doc.get("kind").unwrap().as_str(), Some("Pod"));
    }
}
