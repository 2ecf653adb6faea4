//! Typed decoding of YAML nodes that keeps every problem with the position of its node.

use crate::yaml::{Node, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// The API server would refuse the object.
    Invalid,
    /// A field the API does not know: strict kubectl refuses it, a lax client drops it.
    UnknownField,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub span: Span,
    pub message: String,
}

/// Collects the problems met while decoding one object.
#[derive(Debug, Default)]
pub struct Decoder {
    pub problems: Vec<Problem>,
}

impl Decoder {
    pub fn invalid(&mut self, at: &Node, message: String) {
        self.problems.push(Problem {
            kind: ProblemKind::Invalid,
            span: at.span,
            message,
        });
    }

    pub fn unknown_field(&mut self, key: &Node) {
        let name = key.key_text().unwrap_or("?");
        self.problems.push(Problem {
            kind: ProblemKind::UnknownField,
            span: key.span,
            message: format!("unknown field {name:?}: the API server drops or refuses it"),
        });
    }

    pub fn is_rejected(&self) -> bool {
        self.problems.iter().any(|p| p.kind == ProblemKind::Invalid)
    }
}

pub fn expect_map<'a>(node: &'a Node, d: &mut Decoder) -> Option<&'a [(Node, Node)]> {
    let map = node.as_map();
    if map.is_none() {
        d.invalid(
            node,
            format!("expected a mapping, found {}", node.type_name()),
        );
    }
    map
}

pub fn expect_seq<'a>(node: &'a Node, d: &mut Decoder) -> Option<&'a [Node]> {
    let seq = node.as_seq();
    if seq.is_none() {
        d.invalid(node, format!("expected a list, found {}", node.type_name()));
    }
    seq
}

pub fn expect_string(node: &Node, d: &mut Decoder) -> Option<String> {
    let s = node.as_str().map(str::to_string);
    if s.is_none() {
        d.invalid(
            node,
            format!("expected a string, found {}", node.type_name()),
        );
    }
    s
}

/// A list field where null means absent; `None` for absent or malformed.
pub fn optional_seq<'a>(node: Option<&'a Node>, d: &mut Decoder) -> Option<&'a [Node]> {
    node.filter(|n| !n.is_null()).and_then(|n| expect_seq(n, d))
}
