//! What the patch engine needs of positioned trees beyond `source::yaml`: null nodes,
//! equality of values (not of positions), depth, and placing a parsed inline patch.

use crate::source::yaml::{Node, Scalar, Span, Value};
use std::collections::{HashMap, HashSet};

/// A `null` at `span`.
pub(super) fn null(span: Span) -> Node {
    Node {
        value: Value::Scalar {
            text: "null".to_string(),
            quoted: false,
        },
        span,
    }
}

/// Whether two nodes hold the same JSON value (key order and positions aside), as a JSON
/// 6902 `test` compares. An explicit stack and a key index per mapping: linear, no recursion.
pub(super) fn same_value(a: &Node, b: &Node) -> bool {
    let mut pending = vec![(a, b)];
    while let Some((a, b)) = pending.pop() {
        match (&a.value, &b.value) {
            (Value::Scalar { .. }, Value::Scalar { .. }) => {
                if !same_scalar(a, b) {
                    return false;
                }
            }
            (Value::Seq(x), Value::Seq(y)) => {
                if x.len() != y.len() {
                    return false;
                }
                pending.extend(x.iter().zip(y.iter()));
            }
            (Value::Map(x), Value::Map(y)) => {
                let index: HashMap<&str, &Node> = y
                    .iter()
                    .filter_map(|(k, v)| Some((k.key_text()?, v)))
                    .collect();
                let keys: HashSet<&str> = x.iter().filter_map(|(k, _)| k.key_text()).collect();
                if x.len() != y.len() || index.len() != y.len() || keys.len() != x.len() {
                    return false;
                }
                for (k, v) in x.iter() {
                    match k.key_text().and_then(|k| index.get(k)) {
                        Some(w) => pending.push((v, w)),
                        None => return false,
                    }
                }
            }
            _ => return false,
        }
    }
    true
}

fn same_scalar(a: &Node, b: &Node) -> bool {
    match (a.scalar(), b.scalar()) {
        (Some(Scalar::Float), _) | (_, Some(Scalar::Float)) => {
            number(a).is_some() && number(a) == number(b)
        }
        (x, y) => x == y,
    }
}

fn number(node: &Node) -> Option<f64> {
    match (&node.value, node.scalar()?) {
        (_, Scalar::Int(n)) => Some(n as f64),
        (Value::Scalar { text, .. }, Scalar::Float) => text.replace('_', "").parse().ok(),
        _ => None,
    }
}

/// How deeply the tree nests (a scalar is 0), without recursion.
pub(super) fn depth(node: &Node) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(node, 0)];
    while let Some((node, d)) = pending.pop() {
        match &node.value {
            Value::Scalar { .. } => deepest = deepest.max(d),
            Value::Seq(items) => {
                deepest = deepest.max(d + 1);
                pending.extend(items.iter().map(|i| (i, d + 1)));
            }
            Value::Map(entries) => {
                deepest = deepest.max(d + 1);
                pending.extend(entries.iter().map(|(_, v)| (v, d + 1)));
            }
        }
    }
    deepest
}

/// How many nodes the tree has (keys aside), without recursion; counting stops past
/// `limit` (a tree of shared subtrees may be far larger than its memory).
pub(super) fn size(node: &Node, limit: usize) -> usize {
    let mut count = 0;
    let mut pending = vec![node];
    while let Some(node) = pending.pop() {
        count += 1;
        if count > limit {
            break;
        }
        match &node.value {
            Value::Scalar { .. } => {}
            Value::Seq(items) => pending.extend(items.iter()),
            Value::Map(entries) => pending.extend(entries.iter().map(|(_, v)| v)),
        }
    }
    count
}

/// Applies `place` to the span of every node of the tree.
pub(super) fn respan(node: &mut Node, place: &dyn Fn(Span) -> Span) {
    let mut pending: Vec<&mut Node> = vec![node];
    while let Some(node) = pending.pop() {
        node.span = place(node.span);
        match &mut node.value {
            Value::Scalar { .. } => {}
            Value::Seq(items) => pending.extend(std::sync::Arc::make_mut(items).iter_mut()),
            Value::Map(entries) => {
                for (k, v) in std::sync::Arc::make_mut(entries).iter_mut() {
                    pending.push(k);
                    pending.push(v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::yaml::parse_documents;

    fn doc(text: &str) -> Node {
        parse_documents(text, 0).unwrap().remove(0)
    }

    #[test]
    fn values_compare_as_json_does() {
        assert!(same_value(
            &doc("{a: 1, b: [x, {c: null}]}"),
            &doc("b: [x, {c: ~}]\na: 1")
        ));
        assert!(same_value(&doc("1.0"), &doc("1")));
        assert!(!same_value(&doc("'1'"), &doc("1")));
        assert!(!same_value(&doc("{a: 1}"), &doc("{a: 1, b: 2}")));
        assert!(!same_value(&doc("[a, b]"), &doc("[b, a]")));
        assert!(!same_value(&doc("{a: 1, a: 1}"), &doc("{a: 1, b: 1}")));
    }

    #[test]
    fn depth_counts_collections() {
        assert_eq!(depth(&doc("x")), 0);
        assert_eq!(depth(&doc("{a: [1, {b: c}]}")), 3);
        assert_eq!(depth(&null(Span::default())), 0);
        assert!(null(Span::default()).is_null());
        assert_eq!(size(&doc("x"), 9), 1);
        assert_eq!(size(&doc("{a: [1, {b: c}]}"), 9), 5);
        assert_eq!(size(&doc("{a: [1, {b: c}]}"), 2), 3);
    }

    #[test]
    fn respan_reaches_every_node() {
        let mut d = doc("{a: [1, {b: c}]}");
        respan(&mut d, &|s| Span {
            start: crate::source::yaml::Pos { line: 9, column: 9 },
            ..s
        });
        let mut pending = vec![&d];
        while let Some(n) = pending.pop() {
            assert_eq!(n.span.start.line, 9);
            if let Some(items) = n.as_seq() {
                pending.extend(items);
            }
            if let Some(entries) = n.as_map() {
                pending.extend(entries.iter().flat_map(|(k, v)| [k, v]));
            }
        }
    }
}
