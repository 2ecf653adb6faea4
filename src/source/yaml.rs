//! A YAML tree with a source position on every node, built from saphyr's event stream.
//!
//! Kubernetes reads manifests through sigs.k8s.io/yaml (go-yaml v2, YAML 1.1 plain scalars),
//! so plain scalars are resolved the way it does: `yes`/`no`/`on`/`off` are booleans.
//! Guards against hostile input live here: a nesting limit and an alias-expansion budget
//! (billion laughs), both reported as ordinary parse errors.

use saphyr_parser::{Event, Parser, ScalarStyle, Span as EventSpan};
use std::collections::HashMap;
use std::sync::Arc;

/// Deepest nesting accepted; real manifests stay far below it.
pub const MAX_DEPTH: usize = 256;
/// Nodes an alias may copy in one document before it counts as an alias bomb.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// A 1-based line and column (columns count characters). `u32`: a file is at most
/// [`crate::source::load::MAX_FILE_BYTES`], and every node of every tree carries two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    /// The position of a line and column counted in `usize`; one past `u32::MAX` (which no
    /// file imds-lint reads reaches) stays at `u32::MAX`.
    pub fn new(line: usize, column: usize) -> Pos {
        let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Pos {
            line: narrow(line),
            column: narrow(column),
        }
    }
}

/// Where a node starts and ends, and in which file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
    /// `None`: the file the node's tree was read from. A node grafted into another file's
    /// tree (by a kustomize patch, a label transformer, a Flux substitution) names its own.
    pub file: Option<FileRef>,
}

/// A loaded file, by its index among the files of one run (the index locations use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileRef(u32);

impl FileRef {
    pub fn new(index: usize) -> Self {
        FileRef(u32::try_from(index).unwrap_or(u32::MAX))
    }

    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl Span {
    /// The same place, in `file` unless it already names one.
    pub fn in_file(self, file: FileRef) -> Span {
        Span {
            file: self.file.or(Some(file)),
            ..self
        }
    }
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
    /// Items are shared, so an alias costs no copy of what its anchor names.
    Seq(Arc<Vec<Node>>),
    Map(Arc<Vec<(Node, Node)>>),
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

    pub fn string(text: &str, span: Span) -> Node {
        Node {
            value: Value::Scalar {
                text: text.to_string(),
                quoted: true,
            },
            span,
        }
    }

    pub fn mapping(entries: Vec<(Node, Node)>, span: Span) -> Node {
        Node {
            value: Value::Map(Arc::new(entries)),
            span,
        }
    }

    pub fn sequence(items: Vec<Node>, span: Span) -> Node {
        Node {
            value: Value::Seq(Arc::new(items)),
            span,
        }
    }

    /// The entries of a mapping, to edit (copied first when shared with another tree).
    pub fn map_mut(&mut self) -> Option<&mut Vec<(Node, Node)>> {
        match &mut self.value {
            Value::Map(entries) => Some(Arc::make_mut(entries)),
            _ => None,
        }
    }

    /// The items of a sequence, to edit (copied first when shared with another tree).
    pub fn seq_mut(&mut self) -> Option<&mut Vec<Node>> {
        match &mut self.value {
            Value::Seq(items) => Some(Arc::make_mut(items)),
            _ => None,
        }
    }

    /// The value under `key` in a mapping, to edit.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.map_mut()?
            .iter_mut()
            .find(|(k, _)| k.key_text() == Some(key))
            .map(|(_, v)| v)
    }

    /// Names `file` as the file of every node of the tree that names none yet; an explicit
    /// stack, so depth costs no call stack.
    pub fn retag(&mut self, file: FileRef) {
        let mut pending: Vec<&mut Node> = vec![self];
        while let Some(node) = pending.pop() {
            node.span = node.span.in_file(file);
            match &mut node.value {
                Value::Scalar { .. } => {}
                Value::Seq(items) => pending.extend(Arc::make_mut(items).iter_mut()),
                Value::Map(entries) => {
                    for (k, v) in Arc::make_mut(entries).iter_mut() {
                        pending.push(k);
                        pending.push(v);
                    }
                }
            }
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

/// Where a chunk of text starts in its file: its first line is line `line_offset + 1`, and
/// its first character is at column `column_offset + 1` of that line (a document that starts
/// mid-line, as the second object of `{...}{...}` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Origin {
    pub line_offset: usize,
    pub column_offset: usize,
}

impl Origin {
    /// A chunk starting at the beginning of line `line_offset + 1`.
    pub fn line(line_offset: usize) -> Self {
        Origin {
            line_offset,
            column_offset: 0,
        }
    }

    /// The file position of a 1-based line and column of the chunk.
    pub fn place(self, line: usize, column: usize) -> Pos {
        Pos::new(
            line + self.line_offset,
            if line <= 1 {
                column + self.column_offset
            } else {
                column
            },
        )
    }
}

fn pos(marker: &saphyr_parser::Marker, origin: Origin) -> Pos {
    origin.place(marker.line(), marker.col() + 1)
}

fn span(s: &EventSpan, origin: Origin) -> Span {
    Span {
        start: pos(&s.start, origin),
        end: pos(&s.end, origin),
        file: None,
    }
}

/// A collection being built, with what it has so far.
struct Frame {
    items: Items,
    start: Span,
    anchor: usize,
    /// Nodes in the collection so far, itself and expanded aliases included.
    size: usize,
}

enum Items {
    Seq(Vec<Node>),
    Map { entries: Entries, key: Option<Node> },
}

/// Whether a mapping key is a merge key: a plain `<<` (a quoted one is an ordinary key).
fn is_merge_key(key: &Node) -> bool {
    matches!(&key.value, Value::Scalar { text, quoted: false } if text == "<<")
}

/// What go-yaml says of a merge key whose value it cannot merge.
const MERGE_NEEDS_MAPS: &str = "map merge requires map or sequence of maps as the value";

/// The entries of a mapping being built, with merge keys (`<<: *base`, `<<: [*a, *b]`)
/// applied as go-yaml v2 (and so kubectl) applies them: where the merge key stands, each
/// merged key sets its value, over a key written before it; a key written after it sets its
/// own; of a list of maps, the earlier map wins. Until a merge key is seen this is a plain
/// list of entries (duplicate keys kept as written) and costs nothing more.
#[derive(Default)]
struct Entries {
    entries: Vec<(Node, Node)>,
    merges: Option<Box<MergeIndex>>,
}

/// Kept once a mapping has a merge key: where each key's entry is (its first, the one
/// [`Node::get`] finds), and which entries hold a merged value.
struct MergeIndex {
    index: HashMap<String, usize>,
    merged: Vec<bool>,
}

impl Entries {
    /// A key written in the mapping, with its value.
    fn push(&mut self, key: Node, value: Node) {
        if let Some(m) = &mut self.merges {
            if let Some(text) = key.key_text() {
                match m.index.get(text) {
                    Some(&i) if m.merged[i] => {
                        self.entries[i] = (key, value);
                        m.merged[i] = false;
                        return;
                    }
                    Some(_) => {}
                    None => {
                        m.index.insert(text.to_string(), self.entries.len());
                    }
                }
            }
            m.merged.push(false);
        }
        self.entries.push((key, value));
    }

    /// Applies the value of a merge key: a mapping or a list of mappings. On anything else,
    /// the position of what cannot be merged.
    fn merge(&mut self, value: &Node) -> Result<(), Pos> {
        let maps: Vec<&[(Node, Node)]> = match &value.value {
            Value::Map(entries) => vec![entries],
            Value::Seq(items) => items
                .iter()
                .map(|item| item.as_map().ok_or(item.span.start))
                .collect::<Result<_, _>>()?,
            Value::Scalar { .. } => return Err(value.span.start),
        };
        let m = self.merges.get_or_insert_with(|| {
            let mut index = HashMap::new();
            for (i, (key, _)) in self.entries.iter().enumerate() {
                if let Some(text) = key.key_text() {
                    index.entry(text.to_string()).or_insert(i);
                }
            }
            Box::new(MergeIndex {
                index,
                merged: vec![false; self.entries.len()],
            })
        });
        // Later maps first, so that earlier ones set their keys over them.
        for (key, value) in maps.iter().rev().flat_map(|map| map.iter()) {
            match key.key_text().and_then(|text| m.index.get(text)) {
                Some(&i) => {
                    self.entries[i].1 = value.clone();
                    m.merged[i] = true;
                }
                None => {
                    if let Some(text) = key.key_text() {
                        m.index.insert(text.to_string(), self.entries.len());
                    }
                    m.merged.push(true);
                    self.entries.push((key.clone(), value.clone()));
                }
            }
        }
        Ok(())
    }
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
    parse_documents_at(text, Origin::line(line_offset), keep)
}

/// Like [`parse_documents_filtered`], for text that starts at `origin` of its file.
pub fn parse_documents_at(
    text: &str,
    origin: Origin,
    keep: &Keep,
) -> Result<Vec<Node>, ParseError> {
    let line_offset = origin.line_offset;
    let built = match build(text, origin, keep) {
        // An alias into a part that was not built: build everything instead.
        Err(BuildError::NeedsEverything) => build(text, origin, &|_, _| true),
        other => other,
    };
    built.or_else(|error| match error {
        BuildError::Syntax(e) => lenient_parse(text, origin, e),
        BuildError::Guard(e) | BuildError::Refused(e) => Err(e),
        BuildError::NeedsEverything => Err(ParseError {
            pos: Pos::new(line_offset + 1, 1),
            message: "alias refers to an unknown anchor".into(),
        }),
    })
}

/// Like [`parse_documents_at`] with no second opinion and no retry: `None` on any error or
/// on an alias into a part not built. For text the caller can parse whole instead (a
/// document's kept part, found by [`super::skim`]).
pub fn parse_strict_at(text: &str, origin: Origin, keep: &Keep) -> Option<Vec<Node>> {
    build(text, origin, keep).ok()
}

/// kubectl reads YAML with go-yaml, a libyaml port that accepts a few things the YAML spec
/// (and saphyr) refuse, such as under-indented continuation lines of quoted scalars. When
/// saphyr refuses a document, libyaml (through serde_yaml) gets a second opinion; if it
/// accepts, the document is linted, with every node placed at the document's first line.
/// The second opinion runs under the same budgets: text nested deeper than [`MAX_DEPTH`]
/// (counted in one linear pass) never reaches libyaml, and building stops once the
/// document's nodes, aliases expanded, pass [`MAX_ALIAS_NODES`] more than its text holds.
fn lenient_parse(text: &str, origin: Origin, refused: ParseError) -> Result<Vec<Node>, ParseError> {
    use serde::de::DeserializeSeed;
    let first_line = text
        .lines()
        .position(|l| {
            let t = l.trim_start();
            !(t.is_empty() || t.starts_with('#') || t.starts_with("---") || l.starts_with('%'))
        })
        .unwrap_or(0);
    let at = origin.place(first_line + 1, 1);
    if nesting_bound(text) > MAX_DEPTH {
        return Err(ParseError {
            pos: refused.pos,
            message: format!("nesting deeper than {MAX_DEPTH} levels"),
        });
    }
    let mut documents = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let budget = std::cell::Cell::new(text.len() / 2 + MAX_ALIAS_NODES);
        let seed = Lenient {
            budget: &budget,
            depth: 0,
            span: Span {
                start: at,
                end: at,
                file: None,
            },
        };
        match seed.deserialize(document) {
            Ok(node) => documents.push(node),
            Err(_) if budget.get() == 0 => {
                return Err(ParseError {
                    pos: at,
                    message: format!(
                        "aliases expand to more than {MAX_ALIAS_NODES} nodes (a YAML alias bomb?)"
                    ),
                });
            }
            Err(_) => return Err(refused),
        }
    }
    documents.retain(|d| !d.is_null());
    Ok(documents)
}

/// An upper bound, found in one pass, of how deep the collections of `text` nest: open flow
/// brackets outside quotes and comments, plus the block levels (indentation steps and
/// compact `- ` entries) of the line they sit on.
fn nesting_bound(text: &str) -> usize {
    let mut indents: Vec<usize> = Vec::new();
    let (mut flow, mut deepest) = (0usize, 0usize);
    for line in text.lines() {
        let body = line.trim_start_matches(' ');
        let indent = line.len() - body.len();
        if flow == 0 && !(body.is_empty() || body.starts_with('#')) {
            while indents.last().is_some_and(|&i| i >= indent) {
                indents.pop();
            }
            indents.push(indent);
        }
        let dashes = body
            .as_bytes()
            .chunks(2)
            .take_while(|c| c == b"- " || c == b"-")
            .count();
        let mut quote: Option<u8> = None;
        for &b in body.as_bytes() {
            match (quote, b) {
                (Some(q), _) if b == q => quote = None,
                (Some(_), _) => {}
                (None, b'#') => break,
                (None, b'"' | b'\'') => quote = Some(b),
                (None, b'[' | b'{') => flow += 1,
                (None, b']' | b'}') => flow = flow.saturating_sub(1),
                _ => {}
            }
            deepest = deepest.max(indents.len() + dashes + flow);
        }
    }
    deepest
}

/// Builds a [`Node`] from serde_yaml's deserializer, counting every node it visits.
struct Lenient<'b> {
    /// Nodes still allowed; 0 means the budget ran out.
    budget: &'b std::cell::Cell<usize>,
    depth: usize,
    span: Span,
}

impl Lenient<'_> {
    fn spend<E: serde::de::Error>(&self) -> Result<(), E> {
        match self.budget.get() {
            0 | 1 => {
                self.budget.set(0);
                Err(E::custom("budget"))
            }
            left => {
                self.budget.set(left - 1);
                Ok(())
            }
        }
    }

    fn child(&self) -> Self {
        Lenient {
            budget: self.budget,
            depth: self.depth + 1,
            span: self.span,
        }
    }

    fn scalar<E: serde::de::Error>(&self, text: String, quoted: bool) -> Result<Node, E> {
        self.spend()?;
        Ok(Node {
            value: Value::Scalar { text, quoted },
            span: self.span,
        })
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Lenient<'_> {
    type Value = Node;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Lenient<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("YAML")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Node, E> {
        self.scalar(v.to_string(), false)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Node, E> {
        self.scalar(v.to_string(), false)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Node, E> {
        self.scalar(v.to_string(), false)
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Node, E> {
        self.scalar(serde_yaml::Number::from(v).to_string(), false)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Node, E> {
        self.scalar(v.to_string(), true)
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Node, E> {
        self.scalar(v, true)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Node, E> {
        self.scalar(String::new(), false)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Node, E> {
        self.scalar(String::new(), false)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        self.spend()?;
        if self.depth >= MAX_DEPTH {
            return Err(serde::de::Error::custom("too deep"));
        }
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.child())? {
            items.push(item);
        }
        Ok(Node {
            value: Value::Seq(Arc::new(items)),
            span: self.span,
        })
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        self.spend()?;
        if self.depth >= MAX_DEPTH {
            return Err(serde::de::Error::custom("too deep"));
        }
        // Merge keys apply here too; libyaml's events do not say whether a key was quoted,
        // so every `<<` key is one.
        let mut entries = Entries::default();
        while let Some(key) = map.next_key_seed(self.child())? {
            let value = map.next_value_seed(self.child())?;
            if key.key_text() == Some("<<") {
                entries
                    .merge(&value)
                    .map_err(|_| serde::de::Error::custom(MERGE_NEEDS_MAPS))?;
            } else {
                entries.push(key, value);
            }
        }
        Ok(Node {
            value: Value::Map(Arc::new(entries.entries)),
            span: self.span,
        })
    }

    /// A tagged value (`!foo bar`): the tag is dropped, as the API server's JSON has none.
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<Node, A::Error> {
        use serde::de::VariantAccess;
        let (_tag, variant): (serde::de::IgnoredAny, _) = data.variant()?;
        variant.newtype_variant_seed(self)
    }
}

enum BuildError {
    /// The text is not YAML as the spec has it.
    Syntax(ParseError),
    /// Hostile or absurd input: too deep, or aliases expanding too far.
    Guard(ParseError),
    /// An alias refers to an anchor inside a part that `keep` skipped.
    NeedsEverything,
    /// YAML go-yaml parses but refuses to build (a merge key whose value is no mapping):
    /// kubectl refuses it, so libyaml is not asked.
    Refused(ParseError),
}

fn build(text: &str, origin: Origin, keep: &Keep) -> Result<Vec<Node>, BuildError> {
    let mut builder = Builder::new(keep);
    for event in Parser::new_from_str(text) {
        let (event, event_span) = event.map_err(|e| {
            let message = e.info().to_string();
            let error = ParseError {
                pos: pos(e.marker(), origin),
                message,
            };
            // saphyr's own nesting limit: hostile input, not a dialect for libyaml to try.
            if error.message.contains("recursion limit") {
                BuildError::Guard(ParseError {
                    pos: error.pos,
                    message: format!("nesting deeper than {MAX_DEPTH} levels"),
                })
            } else {
                BuildError::Syntax(error)
            }
        })?;
        builder.event(event, span(&event_span, origin))?;
    }
    Ok(builder.finish())
}

/// Builds the documents of one chunk of text from its events.
struct Builder<'k> {
    keep: &'k Keep,
    documents: Vec<Node>,
    stack: Vec<Frame>,
    /// Anchored nodes with their size; collections share their items, so an anchor costs no
    /// copy of what it names, however deep anchors nest.
    anchors: HashMap<usize, (Node, usize)>,
    skipped: Skipped,
    alias_budget: usize,
    root: Option<Node>,
    kind: Option<String>,
}

impl<'k> Builder<'k> {
    fn new(keep: &'k Keep) -> Self {
        Builder {
            keep,
            documents: Vec::new(),
            stack: Vec::new(),
            anchors: HashMap::new(),
            skipped: Skipped::default(),
            alias_budget: MAX_ALIAS_NODES,
            root: None,
            kind: None,
        }
    }

    fn finish(mut self) -> Vec<Node> {
        self.documents.extend(self.root.take());
        // An empty document (`---` followed by nothing) parses as a null scalar: not a manifest.
        self.documents.retain(|d| !d.is_null());
        self.documents
    }

    fn event(&mut self, event: Event, at: Span) -> Result<(), BuildError> {
        if matches!(event, Event::SequenceStart(..) | Event::MappingStart(..))
            && self.stack.len() + self.skipped.open.len() >= MAX_DEPTH
        {
            return Err(BuildError::Guard(ParseError {
                pos: at.start,
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
            }));
        }
        let alias_size = self.spend_alias(&event, at)?;
        if !self.skipped.open.is_empty() || self.skips(&event) {
            self.skipped.event(&event, alias_size);
            return Ok(());
        }
        let finished = match event {
            Event::Scalar(value, style, anchor, _tag) => {
                let node = Node {
                    value: Value::Scalar {
                        text: value.into_owned(),
                        quoted: style != ScalarStyle::Plain,
                    },
                    span: at,
                };
                self.remember(anchor, &node, 1);
                Some((node, 1))
            }
            Event::Alias(id) => {
                let node = self.alias(id, at)?;
                // go-yaml merges an alias only when it names a mapping, not a list of them.
                if node.as_seq().is_some() && self.under_merge_key() {
                    return Err(BuildError::Refused(ParseError {
                        pos: at.start,
                        message: MERGE_NEEDS_MAPS.into(),
                    }));
                }
                Some((node, alias_size))
            }
            Event::SequenceStart(anchor, _) => self.open(Items::Seq(Vec::new()), at, anchor),
            Event::MappingStart(anchor, _) => {
                let items = Items::Map {
                    entries: Entries::default(),
                    key: None,
                };
                self.open(items, at, anchor)
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
        if let Some((node, size)) = finished {
            self.attach(node, size)?;
        }
        Ok(())
    }

    /// Charges an alias's expanded size to the document's budget, even where nothing is
    /// built, so an alias bomb in a skipped part is still refused, as kubectl refuses it.
    /// Returns the size (0 for other events).
    fn spend_alias(&mut self, event: &Event, at: Span) -> Result<usize, BuildError> {
        let Event::Alias(id) = event else {
            return Ok(0);
        };
        let size = match self.anchors.get(id) {
            Some((_, size)) => *size,
            None => self.skipped.sizes.get(id).copied().unwrap_or(1),
        };
        if size > self.alias_budget {
            return Err(BuildError::Guard(ParseError {
                pos: at.start,
                message: format!(
                    "aliases expand to more than {MAX_ALIAS_NODES} nodes (a YAML alias bomb?)"
                ),
            }));
        }
        self.alias_budget -= size;
        Ok(size)
    }

    /// Whether `keep` leaves out the value this event starts.
    fn skips(&mut self, event: &Event) -> bool {
        let is_value = matches!(
            event,
            Event::Scalar(..)
                | Event::SequenceStart(..)
                | Event::MappingStart(..)
                | Event::Alias(_)
        );
        let under_key = matches!(
            self.stack.last(),
            Some(Frame {
                items: Items::Map { key: Some(_), .. },
                ..
            })
        );
        if !is_value || !under_key || self.stack.len() > FILTER_DEPTH || self.under_merge_key() {
            return false;
        }
        // What a merge key's value holds lands in the mapping around it: `<<` is no step of
        // the path.
        let path: Vec<&str> = self
            .stack
            .iter()
            .filter_map(|f| match &f.items {
                Items::Map { key: Some(k), .. } if !is_merge_key(k) => k.key_text(),
                _ => None,
            })
            .collect();
        if (self.keep)(self.kind.as_deref(), &path) {
            return false;
        }
        if let Some(Frame {
            items: Items::Map { key, .. },
            ..
        }) = self.stack.last_mut()
        {
            *key = None;
        }
        true
    }

    fn alias(&self, id: usize, at: Span) -> Result<Node, BuildError> {
        match self.anchors.get(&id) {
            // Cheap: a collection's items are shared, not copied.
            Some((node, _)) => Ok(Node {
                value: node.value.clone(),
                span: at,
            }),
            None if self.skipped.sizes.contains_key(&id) => Err(BuildError::NeedsEverything),
            None => Err(BuildError::Syntax(ParseError {
                pos: at.start,
                message: "alias refers to an unknown anchor".into(),
            })),
        }
    }

    fn open(&mut self, items: Items, at: Span, anchor: usize) -> Option<(Node, usize)> {
        self.stack.push(Frame {
            items,
            start: at,
            anchor,
            size: 1,
        });
        None
    }

    fn close(&mut self, at: Span) -> Option<(Node, usize)> {
        let frame = self.stack.pop()?;
        let value = match frame.items {
            Items::Seq(items) => Value::Seq(Arc::new(items)),
            Items::Map { entries, .. } => Value::Map(Arc::new(entries.entries)),
        };
        let node = Node {
            value,
            span: Span {
                start: frame.start.start,
                end: at.end,
                file: None,
            },
        };
        self.remember(frame.anchor, &node, frame.size);
        Some((node, frame.size))
    }

    fn remember(&mut self, anchor: usize, node: &Node, size: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
    }

    /// Puts a finished node into the collection that holds it, or makes it the root; the
    /// value of a merge key is merged into its mapping.
    fn attach(&mut self, node: Node, size: usize) -> Result<(), BuildError> {
        let depth = self.stack.len();
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        frame.size = frame.size.saturating_add(size);
        match &mut frame.items {
            Items::Seq(items) => items.push(node),
            Items::Map { entries, key } => match key.take() {
                Some(k) if is_merge_key(&k) => {
                    entries.merge(&node).map_err(|pos| {
                        BuildError::Refused(ParseError {
                            pos,
                            message: MERGE_NEEDS_MAPS.into(),
                        })
                    })?;
                }
                Some(k) => {
                    if depth == 1 && k.key_text() == Some("kind") {
                        self.kind = node.as_str().map(str::to_string);
                    }
                    entries.push(k, node);
                }
                None => *key = Some(node),
            },
        }
        Ok(())
    }

    /// Whether the value being read is that of a merge key.
    fn under_merge_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                items: Items::Map { key: Some(k), .. },
                ..
            }) if is_merge_key(k)
        )
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
    fn deep_flow_nesting_is_refused_without_a_second_opinion() {
        // saphyr stops at its own limit; libyaml would take quadratic time on the rest.
        let err = parse_documents(&"{a: ".repeat(50_000), 0).unwrap_err();
        assert_eq!(
            err.message,
            format!("nesting deeper than {MAX_DEPTH} levels")
        );
    }

    #[test]
    fn anchors_share_what_they_name() {
        let doc = one("a: &x {k: &y [1, 2]}
b: *x
c: *y
");
        let (Value::Map(a), Value::Map(b)) =
            (&doc.get("a").unwrap().value, &doc.get("b").unwrap().value)
        else {
            panic!("mappings expected");
        };
        assert!(Arc::ptr_eq(a, b));
        let inner = |n: &Node| match &n.value {
            Value::Seq(items) => Arc::clone(items),
            _ => panic!("a list expected"),
        };
        assert!(Arc::ptr_eq(
            &inner(doc.get("c").unwrap()),
            &inner(doc.get("a").unwrap().get("k").unwrap())
        ));
    }

    #[test]
    fn nested_anchors_cost_no_copies() {
        // Every ancestor of the list is anchored: each anchor shares the list.
        let n = 200;
        let opens: String = (0..n).map(|i| format!("&n{i} {{k: ")).collect();
        let text = format!(
            "big: {opens}[{}]{}
last: *n0
",
            vec!["x"; 5000].join(", "),
            "}".repeat(n)
        );
        let doc = one(&text);
        let mut node = doc.get("last").unwrap();
        for _ in 0..n {
            node = node.get("k").unwrap();
        }
        assert_eq!(node.as_seq().map(<[Node]>::len), Some(5000));
    }

    /// A quoted scalar whose continuation line is under-indented: saphyr refuses it, go-yaml
    /// (and libyaml) accept it.
    const UNDER_INDENTED: &str = "kind: ConfigMap\ndata:\n  k: \"abc\n def\"\n";

    #[test]
    fn libyaml_gets_a_second_opinion() {
        let doc = one(UNDER_INDENTED);
        assert_eq!(
            doc.get("data").unwrap().get("k").unwrap().as_str(),
            Some("abc def")
        );
        assert_eq!(doc.span.start.line, 1);
    }

    #[test]
    fn the_second_opinion_runs_under_the_alias_budget() {
        let mut text = format!("{UNDER_INDENTED}a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let err = parse_documents(&text, 0).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{}", err.message);
    }

    #[test]
    fn the_second_opinion_is_not_asked_about_deep_text() {
        let text = format!(
            "{UNDER_INDENTED}x: {}{}\n",
            "[".repeat(300),
            "]".repeat(300)
        );
        let err = parse_documents(&text, 0).unwrap_err();
        assert_eq!(
            err.message,
            format!("nesting deeper than {MAX_DEPTH} levels")
        );
    }

    #[test]
    fn nesting_bound_is_never_below_the_real_depth() {
        for (text, depth) in [
            ("a: 1\n", 1),
            ("a:\n  b:\n    c: [1, {d: 2}]\n", 5),
            ("- - - x\n", 3),
            ("a: '[[['\nb: \"{{\" # [[[\n", 1),
        ] {
            assert!(
                nesting_bound(text) >= depth,
                "{text:?}: {}",
                nesting_bound(text)
            );
        }
        assert!(nesting_bound("a: '[[['\nb: \"{{\" # [[[\n") < 3);
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

    /// A node as compact flow text, mapping entries in order, for comparing whole trees.
    fn flow(node: &Node) -> String {
        match &node.value {
            Value::Scalar { text, .. } => text.clone(),
            Value::Seq(items) => format!(
                "[{}]",
                items.iter().map(flow).collect::<Vec<_>>().join(", ")
            ),
            Value::Map(entries) => format!(
                "{{{}}}",
                entries
                    .iter()
                    .map(|(k, v)| format!("{}: {}", flow(k), flow(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The flow text of the mapping under `key`, keys sorted (kubectl prints them sorted).
    fn sorted(doc: &Node, key: &str) -> String {
        let mut entries: Vec<String> = doc
            .get(key)
            .and_then(Node::as_map)
            .unwrap_or_else(|| panic!("{key} is a mapping"))
            .iter()
            .map(|(k, v)| format!("{}: {}", flow(k), flow(v)))
            .collect();
        entries.sort();
        entries.join(", ")
    }

    /// Each case as kubectl 1.x printed it (`kubectl label --local -f FILE x=y -o yaml`).
    #[test]
    fn merge_keys_apply_where_they_stand_as_in_go_yaml_v2() {
        let doc = one("base: &base {p: base, q: base}
other: &other {p: other, r: other}
data:
  q: own-before
  <<: *base
  r: own
  <<: *other
  s: own
deep: &deep
  <<: *base
  t: deep
use:
  <<: *deep
  p: use
quoted:
  \"<<\": quoted
lst:
  <<: [*other, *deep]
inline:
  <<: [{x: first, u: first}, {x: second, u: second, z: second}]
  u: own
empty:
  a: b
  <<: []
");
        // A merge sets its keys over those written before it; keys after it set their own.
        assert_eq!(sorted(&doc, "data"), "p: other, q: base, r: other, s: own");
        assert_eq!(sorted(&doc, "deep"), "p: base, q: base, t: deep");
        assert_eq!(sorted(&doc, "use"), "p: use, q: base, t: deep");
        assert_eq!(sorted(&doc, "quoted"), "<<: quoted");
        // Of a list of maps, the earlier map wins.
        assert_eq!(sorted(&doc, "lst"), "p: other, q: base, r: other, t: deep");
        assert_eq!(sorted(&doc, "inline"), "u: own, x: first, z: second");
        assert_eq!(sorted(&doc, "empty"), "a: b");
        // `get` finds the merged value.
        assert_eq!(
            doc.get("data").unwrap().get("q").unwrap().as_str(),
            Some("base")
        );
    }

    #[test]
    fn a_merge_key_with_no_mappings_is_refused_at_the_value() {
        for (value, column) in [
            ("null", 7),
            ("1", 7),
            ("", 5),
            ("[1]", 8),
            ("[{a: 1}, 2]", 16),
            ("[{a: 1}, [{b: 2}]]", 16),
            ("*l", 7),
        ] {
            let text = format!("l: &l [{{a: 1}}]\nm:\n  a: b\n  <<: {value}\n");
            let err = parse_documents(&text, 0).unwrap_err();
            assert_eq!(err.message, MERGE_NEEDS_MAPS, "{value:?}");
            assert_eq!(err.pos, Pos { line: 4, column }, "{value:?}");
        }
        // Through the tree filter too, and never handed to libyaml.
        let err = parse_documents_filtered(
            "kind: ConfigMap\nmetadata: {name: a, <<: 1}\n",
            3,
            &only_kind_and_metadata,
        )
        .unwrap_err();
        assert_eq!((err.pos.line, err.message.as_str()), (5, MERGE_NEEDS_MAPS));
    }

    #[test]
    fn merged_values_are_shared_and_count_against_the_alias_budget() {
        let doc = one("a: &a {k: [1, 2], j: 3}\nb: {<<: *a}\n");
        let list = |n: &Node| match &n.get("k").unwrap().value {
            Value::Seq(items) => Arc::clone(items),
            _ => panic!("a list expected"),
        };
        assert!(Arc::ptr_eq(
            &list(doc.get("a").unwrap()),
            &list(doc.get("b").unwrap())
        ));
        // Merging a 10,000-key map eleven times expands to more than the budget.
        let keys: Vec<String> = (0..10_000).map(|i| format!("k{i}: v")).collect();
        let mut text = format!("big: &big {{{}}}\n", keys.join(", "));
        for i in 0..11 {
            text.push_str(&format!("m{i}: {{<<: *big}}\n"));
        }
        let err = parse_documents(&text, 0).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{}", err.message);
    }

    #[test]
    fn merge_keys_are_built_where_the_filter_keeps_their_mapping() {
        // `<<` at the root after `kind`, and inside a kept mapping: what they merge lands
        // where they stand.
        let text = "kind: ConfigMap\nx: &m {name: a, labels: {app: web}}\nmetadata:\n  <<: *m\n<<: {metadata: {name: b}}\n";
        let doc = parse_documents_filtered(text, 0, &only_kind_and_metadata)
            .unwrap()
            .remove(0);
        assert_eq!(
            doc.get("metadata").unwrap().get("name").unwrap().as_str(),
            Some("b")
        );
        let text = "kind: ConfigMap\nx: &m {name: a, labels: {app: web}}\nmetadata:\n  <<: *m\n";
        let doc = parse_documents_filtered(text, 0, &only_kind_and_metadata)
            .unwrap()
            .remove(0);
        let metadata = doc.get("metadata").unwrap();
        assert_eq!(metadata.get("name").unwrap().as_str(), Some("a"));
        assert_eq!(flow(metadata.get("labels").unwrap()), "{app: web}");
    }

    #[test]
    fn the_second_opinion_applies_merge_keys() {
        let text =
            format!("{UNDER_INDENTED}base: &b {{p: base, q: base}}\nm:\n  p: own\n  <<: *b\n");
        let doc = one(&text);
        assert_eq!(sorted(&doc, "m"), "p: base, q: base");
    }

    #[test]
    fn json_with_tabs_parses() {
        let doc = one("{\n\t\"kind\": \"Pod\",\n\t\"metadata\": {\"name\": \"x\"}\n}\n");
        assert_eq!(doc.get("kind").unwrap().as_str(), Some("Pod"));
    }
}
