//! Typed decoding of YAML nodes that keeps every problem with the position of its node.

use super::labels::Labels;
use crate::source::yaml::{Node, Span};

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

/// The fields of `metadata` the API server knows.
pub const OBJECT_META_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Checks a custom resource's top level (`apiVersion`, `kind`, `metadata`, then `fields`) and
/// its metadata; returns its name when it has one.
pub fn check_object(root: &Node, fields: &[&str], d: &mut Decoder) -> Option<String> {
    for (key, _) in root.as_map().unwrap_or_default() {
        let name = key.key_text().unwrap_or_default();
        if !["apiVersion", "kind", "metadata"].contains(&name) && !fields.contains(&name) {
            d.unknown_field(key);
        }
    }
    let Some((_, meta)) = root.entry("metadata") else {
        d.invalid(root, "metadata.name is required".into());
        return None;
    };
    let entries = expect_map(meta, d)?;
    for (key, _) in entries {
        if !OBJECT_META_FIELDS.contains(&key.key_text().unwrap_or_default()) {
            d.unknown_field(key);
        }
    }
    let name = meta
        .get("name")
        .and_then(Node::as_str)
        .filter(|n| !n.is_empty());
    if name.is_none() && meta.get("generateName").is_none() {
        d.invalid(meta, "metadata.name is required".into());
    }
    name.map(str::to_string)
}

/// A CIDR as `net.ParseCIDR` reads it (`10.0.0.0/8`, `fd00::/8`; host bits may be set).
pub fn expect_cidr(node: &Node, d: &mut Decoder) -> Option<ipnet::IpNet> {
    let text = expect_string(node, d)?;
    let net = text.parse::<ipnet::IpNet>().ok();
    if net.is_none() {
        d.invalid(node, format!("{text:?} is not a valid CIDR"));
    }
    net
}

/// A `string: string` mapping such as labels; entries of other types are skipped.
pub fn string_map(node: Option<&Node>) -> Labels {
    node.and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .filter_map(|(k, v)| Some((k.key_text()?.to_string(), v.as_str()?.to_string())))
        .collect()
}
