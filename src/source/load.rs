//! Read files and parse their YAML documents into positioned trees.
//!
//! Each document is parsed on its own, so one broken document never hides the next. The
//! caller's [`yaml::Keep`] filter decides which parts of a document are built, so that large
//! documents nobody reads never cost a tree.

use crate::source::discover::{KUSTOMIZATION_NAMES, SourcePath};
use crate::source::lines::{is_marker, lines, trim_break};
use crate::source::skim;
use crate::source::yaml::{self, Node, Pos};
use std::path::{Path, PathBuf};

/// Files larger than this are reported, not parsed: no manifest is this big.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// A problem that kept (part of) a file from being linted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LoadError {
    pub file: String,
    pub pos: Option<Pos>,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct LoadedFile {
    pub path: PathBuf,
    pub display: String,
    /// Non-empty YAML documents in the file.
    pub documents: usize,
    /// The documents' trees, until the decode stage takes them.
    pub trees: Vec<Node>,
    /// The parsed kustomization, when the file is one.
    pub kustomization: Option<Node>,
    /// The bytes, kept for input that cannot be read again (standard input).
    pub bytes: Option<Vec<u8>>,
    pub errors: Vec<LoadError>,
}

pub fn is_kustomization(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| KUSTOMIZATION_NAMES.contains(&n))
}

pub fn load_file(source: &SourcePath, keep: &yaml::Keep) -> LoadedFile {
    load_file_into(source, keep, None)
}

/// Where each parsed document's tree goes instead of `LoadedFile::trees`: straight to the
/// next stage, so that only one tree of a large file is alive at a time.
pub type TreeSink<'a> = dyn FnMut(Node) + 'a;

/// Like [`load_file`], handing each document's tree to `sink` as soon as it is parsed.
pub fn load_file_into(
    source: &SourcePath,
    keep: &yaml::Keep,
    sink: Option<&mut TreeSink>,
) -> LoadedFile {
    let (path, display) = (&source.path, &source.display);
    let mut file = LoadedFile {
        path: path.clone(),
        display: display.clone(),
        ..LoadedFile::default()
    };
    let fail = |message: String| LoadError {
        file: display.clone(),
        pos: None,
        message,
    };
    // Each thread reads into a buffer it keeps: a fresh one per file would be handed back to
    // the system when freed and faulted in again for the next file.
    let mut buffer = READ_BUFFER.take();
    buffer.clear();
    match read_limited(path, &mut buffer) {
        Ok(Ok(())) => parse_bytes(&mut file, &buffer, keep, true, sink),
        Ok(Err(too_large)) => file.errors.push(fail(format!(
            "file is {} MiB, larger than the {} MiB limit",
            too_large / (1024 * 1024),
            MAX_FILE_BYTES / (1024 * 1024)
        ))),
        Err(e) => file.errors.push(fail(format!("cannot read: {e}"))),
    }
    // A large file's buffer is not kept for the rest of the run.
    if buffer.capacity() <= KEPT_BUFFER_BYTES {
        READ_BUFFER.set(buffer);
    }
    file
}

/// The largest read buffer a thread keeps for its next file.
const KEPT_BUFFER_BYTES: usize = 1024 * 1024;

thread_local! {
    static READ_BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Reads the file at `path` into `buffer`, or says how large it is when that is over
/// [`MAX_FILE_BYTES`].
fn read_limited(path: &Path, buffer: &mut Vec<u8>) -> std::io::Result<Result<(), u64>> {
    use std::io::Read;
    let opened = std::fs::File::open(path)?;
    let len = opened.metadata()?.len();
    if len > MAX_FILE_BYTES {
        return Ok(Err(len));
    }
    buffer.reserve(usize::try_from(len).unwrap_or(0));
    // A file that grew since is still read only up to the limit.
    opened.take(MAX_FILE_BYTES + 1).read_to_end(buffer)?;
    if buffer.len() as u64 > MAX_FILE_BYTES {
        return Ok(Err(buffer.len() as u64));
    }
    Ok(Ok(()))
}

/// Loads manifests from standard input (or any stream), named `display` in messages.
pub fn load_stream(display: &str, bytes: &[u8], keep: &yaml::Keep) -> LoadedFile {
    let mut file = LoadedFile {
        path: PathBuf::from(display),
        display: display.to_string(),
        ..LoadedFile::default()
    };
    parse_bytes(&mut file, bytes, keep, true, None);
    file.bytes = Some(bytes.to_vec());
    file
}

/// Like [`load_stream`], with every document parsed whole, none skimmed: the reference the
/// skim ([`skim::skim`]) is checked against.
pub fn load_stream_parsed_whole(display: &str, bytes: &[u8], keep: &yaml::Keep) -> LoadedFile {
    let mut file = LoadedFile {
        path: PathBuf::from(display),
        display: display.to_string(),
        ..LoadedFile::default()
    };
    parse_bytes(&mut file, bytes, keep, false, None);
    file
}

/// Parses the documents of `bytes` into `file`; with `skim`, a document whose kind the text
/// tells is parsed only where `keep` asks ([`skim::skim`]).
fn parse_bytes(
    file: &mut LoadedFile,
    bytes: &[u8],
    keep: &yaml::Keep,
    skim: bool,
    mut sink: Option<&mut TreeSink>,
) {
    let is_kustomization = is_kustomization(&file.path);
    let keep: &yaml::Keep = if is_kustomization { &|_, _| true } else { keep };
    // Split first, decode each document on its own: a stray byte in one document is an error
    // for that document only.
    let chunks = json_stream(bytes).unwrap_or_else(|| split_documents(bytes));
    for chunk in chunks {
        let text = match decode_chunk(bytes, &chunk) {
            Ok(text) => text,
            Err((pos, message)) => {
                file.errors.push(LoadError {
                    file: file.display.clone(),
                    pos: Some(pos),
                    message,
                });
                continue;
            }
        };
        let origin = yaml::Origin {
            line_offset: chunk.line_offset,
            column_offset: chunk.column_offset,
        };
        let skimmed = (skim && !is_kustomization)
            .then(|| skimmed(text, &chunk, keep))
            .flatten();
        let parsed = match skimmed {
            Some(documents) => Ok(documents),
            None => yaml::parse_documents_at(text, origin, keep),
        };
        match parsed {
            Ok(documents) => {
                file.documents += documents.len();
                for doc in documents {
                    if is_kustomization {
                        if file.kustomization.is_none() && doc.as_map().is_some() {
                            file.kustomization = Some(doc);
                        }
                    } else if let Some(sink) = sink.as_deref_mut() {
                        sink(doc);
                    } else {
                        file.trees.push(doc);
                    }
                }
            }
            Err(e) => file.errors.push(LoadError {
                file: file.display.clone(),
                pos: Some(e.pos),
                message: e.message,
            }),
        }
    }
}

/// The document of `text` parsed from its skim ([`skim::skim`]): only the top-level entries
/// `keep` asks for, the others passed over unparsed. `None` when the skim does not apply or
/// its parse does not agree with it; the caller then parses the whole text.
fn skimmed(text: &str, chunk: &Chunk, keep: &yaml::Keep) -> Option<Vec<Node>> {
    if chunk.column_offset != 0 {
        return None;
    }
    if text.trim_start().starts_with('{') {
        return flow_skimmed(text, chunk, keep);
    }
    let skimmed = skim::skim(text, keep)?;
    let origin = yaml::Origin::line(chunk.line_offset + skimmed.lines_before);
    let documents = yaml::parse_strict_at(&skimmed.text, origin, keep)?;
    match documents.as_slice() {
        [doc] if skimmed.agrees(doc, chunk.line_offset + 1) => Some(documents),
        _ => None,
    }
}

/// The document of `text`, one flow mapping, parsed from its skim ([`skim::skim_flow`]): each
/// kept entry parsed on its own, in place, into the mapping. `None` as for [`skimmed`].
fn flow_skimmed(text: &str, chunk: &Chunk, keep: &yaml::Keep) -> Option<Vec<Node>> {
    let skimmed = skim::skim_flow(text, keep)?;
    let place = |p: Pos| Pos::new(chunk.line_offset + p.line as usize, p.column as usize);
    let mut entries = Vec::with_capacity(skimmed.entries.len());
    for entry in &skimmed.entries {
        // The entry in braces, the `{` just before where the key stands.
        let origin = yaml::Origin {
            line_offset: chunk.line_offset + entry.at.line as usize - 1,
            column_offset: entry.at.column as usize - 2,
        };
        let documents = yaml::parse_strict_at(&format!("{{{}}}", entry.text), origin, keep)?;
        let [doc] = documents.as_slice() else {
            return None;
        };
        let [(key, value)] = doc.as_map()? else {
            return None;
        };
        if key.key_text() != Some(entry.key) || key.span.start != place(entry.at) {
            return None;
        }
        entries.push((key.clone(), value.clone()));
    }
    let span = yaml::Span {
        start: place(skimmed.start),
        end: place(skimmed.end),
        file: None,
    };
    Some(vec![Node::mapping(entries, span)])
}

/// One document's bytes in a file: `bytes[start..end]`, whose first line is line
/// `line_offset + 1`, starting at column `column_offset + 1` of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Chunk {
    start: usize,
    end: usize,
    line_offset: usize,
    column_offset: usize,
}

/// A chunk as text: valid UTF-8 without NUL bytes, a leading byte order mark dropped.
fn decode_chunk<'a>(bytes: &'a [u8], chunk: &Chunk) -> Result<&'a str, (Pos, String)> {
    let raw = &bytes[chunk.start..chunk.end];
    // Counted from the chunk's start, so that many bad chunks cost one pass over the file.
    let place = |at: usize| {
        let pos = position_of(raw, at);
        yaml::Origin {
            line_offset: chunk.line_offset,
            column_offset: chunk.column_offset,
        }
        .place(pos.line as usize, pos.column as usize)
    };
    let binary = |at: usize| Err((place(at), "binary data (contains a NUL byte)".into()));
    // Text first: a search for NUL in valid text goes a word at a time.
    match std::str::from_utf8(raw) {
        Ok(text) => match text.find('\0') {
            Some(at) => binary(at),
            None => Ok(text.strip_prefix('\u{feff}').unwrap_or(text)),
        },
        Err(e) => match raw.iter().position(|&b| b == 0) {
            Some(at) => binary(at),
            None => Err((place(e.valid_up_to()), "invalid UTF-8".into())),
        },
    }
}

/// The 1-based line and column of a byte offset; every YAML line break (`\n`, `\r\n`, a lone
/// `\r`) counts.
fn position_of(bytes: &[u8], offset: usize) -> Pos {
    let offset = offset.min(bytes.len());
    let (mut line, mut line_start) = (1, 0);
    for (i, &b) in bytes[..offset].iter().enumerate() {
        let breaks = b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
        if breaks {
            line += 1;
            line_start = i + 1;
        }
    }
    let column = String::from_utf8_lossy(&bytes[line_start..offset])
        .chars()
        .count()
        + 1;
    Pos::new(line, column)
}

/// Splits a YAML stream into documents: before each `---` that follows content, and after
/// each `...`. Comments, blank lines and directives before a document belong to it.
fn split_documents(bytes: &[u8]) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut current = Chunk::default();
    let mut has_content = false;
    for (line_no, (start, end)) in lines(bytes).enumerate() {
        let line = trim_break(&bytes[start..end]);
        if is_marker(line, b"---") {
            if has_content {
                current.end = start;
                chunks.push(current);
                current = Chunk {
                    start,
                    end: start,
                    line_offset: line_no,
                    column_offset: 0,
                };
            }
            // An explicit start makes a document, even an empty one.
            has_content = true;
        } else if is_marker(line, b"...") {
            current.end = end;
            chunks.push(current);
            current = Chunk {
                start: end,
                end,
                line_offset: line_no + 1,
                column_offset: 0,
            };
            has_content = false;
            continue;
        } else if !has_content {
            let text = line.trim_ascii_start();
            // A directive is a `%` line before a document's content.
            let directive = line.first() == Some(&b'%');
            has_content = !(text.is_empty() || text.starts_with(b"#") || directive);
        }
        current.end = end;
    }
    if current.start < bytes.len() {
        current.end = bytes.len();
        chunks.push(current);
    }
    chunks
}

/// A stream of JSON objects one after another (`{...}{...}` or one per line), as `kubectl
/// get -o json` pieces are often concatenated: kubectl reads a file whose text starts with
/// `{` as a JSON stream. Splits it into one chunk per top-level object, each placed at its
/// line and column, in one linear pass. `None` (the file is read as YAML, as before) unless
/// the text is two or more top-level `{...}` separated by white space only; a last object
/// left open is a chunk of its own, so its syntax error is reported where it starts.
fn json_stream(bytes: &[u8]) -> Option<Vec<Chunk>> {
    let body_start = if bytes.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    let mut chunks: Vec<Chunk> = Vec::new();
    let (mut line, mut column) = (0usize, 0usize);
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut i = body_start;
    while i < bytes.len() {
        let b = bytes[i];
        if depth == 0 {
            match b {
                b'{' => chunks.push(Chunk {
                    start: if chunks.is_empty() { 0 } else { i },
                    end: bytes.len(),
                    line_offset: line,
                    column_offset: if chunks.is_empty() { 0 } else { column },
                }),
                b' ' | b'\t' | b'\n' | b'\r' => {}
                // Anything else between objects: not a JSON stream.
                _ => return None,
            }
        }
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' if depth > 0 => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth > 0 => {
                    depth -= 1;
                    if let Some(last) = chunks.last_mut().filter(|_| depth == 0) {
                        last.end = i + 1;
                    }
                }
                _ => {}
            }
        }
        // Lines and columns as YAML counts them: `\n`, `\r\n` and a lone `\r` break a line;
        // a column is a character.
        match b {
            b'\n' => (line, column) = (line + 1, 0),
            b'\r' if bytes.get(i + 1) != Some(&b'\n') => (line, column) = (line + 1, 0),
            b'\r' => {}
            _ if b & 0xc0 != 0x80 => column += 1,
            _ => {}
        }
        i += 1;
    }
    if chunks.len() < 2 {
        return None;
    }
    // White space after the last object belongs to it.
    if let Some(last) = chunks.last_mut().filter(|_| depth == 0) {
        last.end = bytes.len();
    }
    Some(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> LoadedFile {
        load_stream("test.yaml", text.as_bytes(), &|_, _| true)
    }

    /// The chunks of a stream as (line offset, text).
    fn split(text: &str) -> Vec<(usize, &str)> {
        split_documents(text.as_bytes())
            .iter()
            .map(|c| (c.line_offset, &text[c.start..c.end]))
            .collect()
    }

    /// The names of the objects a stream's documents hold, in order.
    fn names(f: &LoadedFile) -> Vec<&str> {
        f.trees
            .iter()
            .filter_map(|t| t.get("metadata")?.get("name")?.as_str())
            .collect()
    }

    #[test]
    fn split_keeps_line_numbers() {
        let chunks = split("a: 1\n---\nb: 2\n--- # c\nc: 3\n");
        assert_eq!(
            chunks.iter().map(|c| c.0).collect::<Vec<_>>(),
            vec![0, 1, 3]
        );
        assert_eq!(chunks[2].1, "--- # c\nc: 3\n");
    }

    #[test]
    fn leading_comments_and_directives_stay_with_their_document() {
        assert_eq!(split("# header\n%YAML 1.2\n---\nkind: Pod\n").len(), 1);
    }

    #[test]
    fn a_document_end_marker_ends_the_document_before_a_directive() {
        let text =
            "kind: Pod\nmetadata: {name: p}\n...\n%YAML 1.2\n---\nkind: Pod\nmetadata: {name: q}\n";
        let chunks = split(text);
        assert_eq!(chunks.len(), 2);
        assert_eq!(
            chunks[1],
            (3, "%YAML 1.2\n---\nkind: Pod\nmetadata: {name: q}\n")
        );
        let f = load(text);
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        assert_eq!(names(&f), ["p", "q"]);
    }

    #[test]
    fn every_line_break_separates_documents() {
        for br in ["\n", "\r\n", "\r"] {
            let text = [
                "kind: Pod",
                "metadata: {name: p}",
                "---",
                "kind: Pod",
                "metadata: {name: q}",
                "",
            ]
            .join(br);
            let f = load(&text);
            assert!(f.errors.is_empty(), "{br:?}: {:?}", f.errors);
            assert_eq!(names(&f), ["p", "q"], "{br:?}");
            // An error in the second document is placed on its own line, whatever the breaks.
            let broken = text.replace("{name: q}", "{name: q");
            let f = load(&broken);
            assert_eq!(names(&f), ["p"], "{br:?}");
            assert_eq!(f.errors.len(), 1, "{br:?}");
            assert!(
                f.errors[0].pos.is_some_and(|p| p.line >= 4 && p.line <= 6),
                "{br:?}: {:?}",
                f.errors
            );
        }
    }

    #[test]
    fn a_bad_byte_spoils_only_its_own_document() {
        let f = load_stream(
            "m.yaml",
            b"kind: Pod\nmetadata: {name: p}\n---\n# caf\xe9\nkind: Pod\nmetadata: {name: q}\n---\nkind: Pod\nmetadata: {name: r}\n\x00\n---\nkind: Pod\nmetadata: {name: s}\n",
            &|_, _| true,
        );
        assert_eq!(names(&f), ["p", "s"]);
        let errors: Vec<(u32, u32, &str)> = f
            .errors
            .iter()
            .map(|e| {
                (
                    e.pos.unwrap().line,
                    e.pos.unwrap().column,
                    e.message.as_str(),
                )
            })
            .collect();
        assert_eq!(
            errors,
            [
                (4, 6, "invalid UTF-8"),
                (10, 1, "binary data (contains a NUL byte)")
            ]
        );
    }

    /// The chunks of a JSON stream as (line offset, column offset, text).
    fn stream(text: &str) -> Option<Vec<(usize, usize, &str)>> {
        Some(
            json_stream(text.as_bytes())?
                .iter()
                .map(|c| (c.line_offset, c.column_offset, &text[c.start..c.end]))
                .collect(),
        )
    }

    #[test]
    fn json_streams_split_at_top_level_objects() {
        assert_eq!(
            stream(" {\"a\": \"}{\"}{\"b\": [{}]}\r\n\r\n  {\"c\": \"\\\"}\"}\r{\"d\": 1}\n"),
            Some(vec![
                (0, 0, " {\"a\": \"}{\"}"),
                (0, 12, "{\"b\": [{}]}"),
                (2, 2, "{\"c\": \"\\\"}\"}"),
                (3, 0, "{\"d\": 1}\n"),
            ])
        );
        // Columns count characters.
        assert_eq!(stream("{\"é\": 1}{\"x\": 2}").map(|c| c[1].1), Some(8));
        // A last object left open runs to the end of the file.
        assert_eq!(
            stream("\u{feff}{\"a\": 1}\n{\"b\": [\n"),
            Some(vec![(0, 0, "\u{feff}{\"a\": 1}"), (1, 0, "{\"b\": [\n")])
        );
    }

    #[test]
    fn other_text_is_not_a_json_stream() {
        for text in [
            "{\"a\": 1}\n",
            "{\"a\": 1}\n---\n{\"b\": 2}\n",
            "{\"a\": 1}\nb: 2\n",
            "[{\"a\": 1}, {\"b\": 2}]",
            "kind: Pod\n",
            "# {\"a\": 1}\n{\"b\": 2}\n",
            "",
        ] {
            assert_eq!(stream(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_json_stream_is_read_object_by_object_at_exact_positions() {
        let f = load(
            "{\"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"}}  {\"kind\": \"Pod\",\n \"metadata\": {\"name\": \"q\"}}\n{\"kind\": \"Pod\", \"metadata\": {\"name\": \"r\",}\n",
        );
        assert_eq!(names(&f), ["p", "q"]);
        assert_eq!(f.documents, 2);
        let kind = |t: &Node| t.entry("kind").unwrap().0.span.start;
        assert_eq!(kind(&f.trees[0]), Pos { line: 1, column: 2 });
        assert_eq!(
            kind(&f.trees[1]),
            Pos {
                line: 1,
                column: 46
            }
        );
        let name = f.trees[1].get("metadata").unwrap().get("name").unwrap();
        assert_eq!(
            name.span.start,
            Pos {
                line: 2,
                column: 23
            }
        );
        // The last object is left open: an error where the file ends, the others are read.
        assert_eq!(f.errors.len(), 1, "{:?}", f.errors);
        assert_eq!(f.errors[0].pos.map(|p| p.line), Some(4));
        // A bad byte in one object spoils that object only, placed on its line and column.
        let f = load_stream(
            "s.json",
            b"{\"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"}}{\"kind\": \"Pod\", \"x\": \"\xff\"}\n{\"kind\": \"Pod\", \"metadata\": {\"name\": \"r\"}}",
            &|_, _| true,
        );
        assert_eq!(names(&f), ["p", "r"]);
        let error = &f.errors[0];
        assert_eq!(
            (error.pos, error.message.as_str()),
            (
                Some(Pos {
                    line: 1,
                    column: 65
                }),
                "invalid UTF-8"
            )
        );
    }

    #[test]
    fn positions_count_every_line_break() {
        assert_eq!(position_of(b"a\r\nb\rc\nd", 7), Pos { line: 4, column: 1 });
        assert_eq!(position_of(b"a\r\nb\rcd", 7), Pos { line: 3, column: 3 });
    }

    #[test]
    fn a_broken_document_does_not_hide_the_next() {
        let f = load("kind: Pod\nmetadata: {name: a\n---\nkind: Pod\nmetadata: {name: b}\n");
        assert_eq!(f.errors.len(), 1);
        assert_eq!(f.errors[0].pos.map(|p| p.line), Some(3));
        assert_eq!(f.trees.len(), 1);
        let name = f.trees[0].get("metadata").and_then(|m| m.get("name"));
        assert_eq!(name.and_then(Node::as_str), Some("b"));
    }

    #[test]
    fn binary_and_invalid_utf8_are_errors() {
        let f = load_stream("b.yaml", b"kind: Pod\n\x00\x01", &|_, _| true);
        assert!(f.errors[0].message.contains("binary"));
        let f = load_stream("u.yaml", b"kind: Pod\nmetadata: {name: \xff}\n", &|_, _| {
            true
        });
        assert_eq!(f.errors[0].message, "invalid UTF-8");
        assert_eq!(
            f.errors[0].pos,
            Some(Pos {
                line: 2,
                column: 18
            })
        );
    }
}
