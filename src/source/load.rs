//! Read files and parse their YAML documents into positioned trees.
//!
//! Each document is parsed on its own, so one broken document never hides the next. The
//! caller's [`yaml::Keep`] filter decides which parts of a document are built, so that large
//! documents nobody reads never cost a tree.

use crate::source::discover::{KUSTOMIZATION_NAMES, SourcePath};
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
    /// The text, kept for input that cannot be read again (standard input).
    pub text: Option<String>,
    pub errors: Vec<LoadError>,
}

pub fn is_kustomization(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| KUSTOMIZATION_NAMES.contains(&n))
}

pub fn load_file(source: &SourcePath, keep: &yaml::Keep) -> LoadedFile {
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
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() > MAX_FILE_BYTES => {
            file.errors.push(fail(format!(
                "file is {} MiB, larger than the {} MiB limit",
                meta.len() / (1024 * 1024),
                MAX_FILE_BYTES / (1024 * 1024)
            )));
            return file;
        }
        Ok(_) => {}
        Err(e) => {
            file.errors.push(fail(format!("cannot read: {e}")));
            return file;
        }
    }
    match std::fs::read(path) {
        Ok(bytes) => parse_bytes(&mut file, &bytes, keep),
        Err(e) => file.errors.push(fail(format!("cannot read: {e}"))),
    }
    file
}

/// Loads manifests from standard input (or any stream), named `display` in messages.
pub fn load_stream(display: &str, bytes: &[u8], keep: &yaml::Keep) -> LoadedFile {
    let mut file = LoadedFile {
        path: PathBuf::from(display),
        display: display.to_string(),
        ..LoadedFile::default()
    };
    parse_bytes(&mut file, bytes, keep);
    file.text = Some(String::from_utf8_lossy(bytes).into_owned());
    file
}

fn parse_bytes(file: &mut LoadedFile, bytes: &[u8], keep: &yaml::Keep) {
    let error = |pos: Option<Pos>, message: String| LoadError {
        file: file.display.clone(),
        pos,
        message,
    };
    if let Some(offset) = memchr_nul(bytes) {
        let e = error(
            Some(position_of(bytes, offset)),
            "binary file (contains a NUL byte)".into(),
        );
        file.errors.push(e);
        return;
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let pos = position_of(bytes, e.valid_up_to());
            file.errors.push(error(Some(pos), "invalid UTF-8".into()));
            return;
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let is_kustomization = is_kustomization(&file.path);
    let keep: &yaml::Keep = if is_kustomization { &|_, _| true } else { keep };
    for (line_offset, chunk) in split_documents(text) {
        match yaml::parse_documents_filtered(chunk, line_offset, keep) {
            Ok(documents) => {
                file.documents += documents.len();
                for doc in documents {
                    if is_kustomization {
                        if file.kustomization.is_none() && doc.as_map().is_some() {
                            file.kustomization = Some(doc);
                        }
                    } else {
                        file.trees.push(doc);
                    }
                }
            }
            Err(e) => file.errors.push(error(Some(e.pos), e.message)),
        }
    }
}

fn memchr_nul(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == 0)
}

/// The 1-based line and column of a byte offset.
fn position_of(bytes: &[u8], offset: usize) -> Pos {
    let before = &bytes[..offset.min(bytes.len())];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    Pos {
        line: before.iter().filter(|&&b| b == b'\n').count() + 1,
        column: String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1,
    }
}

/// Splits a YAML stream at `---` lines into (lines before the chunk, chunk). A `---` at the
/// start of a line always starts a document, even inside a block scalar, so this is exact.
fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut chunks = Vec::new();
    let (mut start, mut start_line) = (0, 0);
    let mut offset = 0;
    for (line_no, line) in text.split_inclusive('\n').enumerate() {
        let is_marker =
            line.starts_with("---") && line[3..].chars().next().is_none_or(|c| c.is_whitespace());
        if is_marker && offset > start && has_content(&text[start..offset]) {
            chunks.push((start_line, &text[start..offset]));
            start = offset;
            start_line = line_no;
        }
        offset += line.len();
    }
    if start < text.len() {
        chunks.push((start_line, &text[start..]));
    }
    chunks
}

/// Whether a chunk holds more than comments, blank lines and directives (those belong to the
/// document that follows them).
fn has_content(chunk: &str) -> bool {
    chunk.lines().any(|l| {
        let t = l.trim_start();
        !(t.is_empty() || t.starts_with('#') || l.starts_with('%'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> LoadedFile {
        load_stream("test.yaml", text.as_bytes(), &|_, _| true)
    }

    #[test]
    fn split_keeps_line_numbers() {
        let chunks = split_documents("a: 1\n---\nb: 2\n--- # c\nc: 3\n");
        assert_eq!(
            chunks.iter().map(|c| c.0).collect::<Vec<_>>(),
            vec![0, 1, 3]
        );
        assert_eq!(chunks[2].1, "--- # c\nc: 3\n");
    }

    #[test]
    fn leading_comments_and_directives_stay_with_their_document() {
        let chunks = split_documents("# header\n%YAML 1.2\n---\nkind: Pod\n");
        assert_eq!(chunks.len(), 1);
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
