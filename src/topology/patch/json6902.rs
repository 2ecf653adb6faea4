//! JSON 6902 patches, applied the way kustomize v5 applies them (its JSON patch library's
//! messages included, so a refused build reads as `kubectl kustomize` would say it).

use super::node::{depth, null, same_value, size};
use super::pointer::{Pointer, index};
use crate::source::yaml::{MAX_DEPTH, Node, Span};

/// One operation of a JSON 6902 patch, with the span of its list item.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub op: Op,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Add {
        path: Pointer,
        value: Node,
    },
    Remove {
        path: Pointer,
    },
    Replace {
        path: Pointer,
        value: Node,
    },
    Move {
        from: Pointer,
        path: Pointer,
    },
    Copy {
        from: Pointer,
        path: Pointer,
    },
    Test {
        path: Pointer,
        value: Node,
    },
    /// kustomize refuses it once it applies the patch; the message says what it says.
    Invalid(String),
}

/// The operations of a patch whose document is a list of mappings.
pub(super) fn parse_operations(items: &[Node]) -> Vec<Operation> {
    items
        .iter()
        .map(|item| Operation {
            op: parse_op(item),
            span: item.span,
        })
        .collect()
}

fn parse_op(item: &Node) -> Op {
    let kind = item.get("op").and_then(Node::as_str).unwrap_or("unknown");
    let pointer = |field: &str| -> Result<Pointer, String> {
        let text = item
            .get(field)
            .and_then(Node::as_str)
            .ok_or_else(|| format!("{kind} operation failed to decode {field}: missing value"))?;
        Pointer::parse(text)
    };
    let value = || {
        item.get("value")
            .cloned()
            .unwrap_or_else(|| null(item.span))
    };
    let op = match kind {
        "add" => pointer("path").map(|path| Op::Add {
            path,
            value: value(),
        }),
        "remove" => pointer("path").map(|path| Op::Remove { path }),
        "replace" => pointer("path").map(|path| Op::Replace {
            path,
            value: value(),
        }),
        "test" => pointer("path").map(|path| Op::Test {
            path,
            value: value(),
        }),
        "move" | "copy" => pointer("from").and_then(|from| {
            let path = pointer("path")?;
            Ok(if kind == "move" {
                Op::Move { from, path }
            } else {
                Op::Copy { from, path }
            })
        }),
        other => Err(format!("Unexpected kind: {other}")),
    };
    op.unwrap_or_else(Op::Invalid)
}

/// The node `tokens` lead to.
fn get<'a>(doc: &'a Node, tokens: &[String]) -> Option<&'a Node> {
    let mut node = doc;
    for token in tokens {
        node = match node.as_seq() {
            Some(items) => items.get(item_index(token, items.len())?)?,
            None => node.get(token)?,
        };
    }
    Some(node)
}

fn get_mut<'a>(doc: &'a mut Node, tokens: &[String]) -> Option<&'a mut Node> {
    let mut node = doc;
    for token in tokens {
        node = if node.as_seq().is_some() {
            let items = node.seq_mut()?;
            let i = item_index(token, items.len())?;
            items.get_mut(i)?
        } else {
            node.get_mut(token)?
        };
    }
    Some(node)
}

/// An existing item's index: negative counts from the end.
fn item_index(token: &str, len: usize) -> Option<usize> {
    let i = index(token)?;
    let i = if i < 0 { i + len as i64 } else { i };
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// The container of the last token, and that token.
fn parent_mut<'a>(doc: &'a mut Node, path: &'a Pointer) -> Option<(&'a mut Node, &'a str)> {
    let (last, init) = path.tokens.split_last()?;
    let parent = get_mut(doc, init)?;
    (parent.as_map().is_some() || parent.as_seq().is_some()).then_some((parent, last.as_str()))
}

/// Why an add at `path` failed, when its container exists.
enum AddError {
    MissingParent,
    Message(String),
}

fn add(doc: &mut Node, path: &Pointer, value: Node, span: Span) -> Result<(), AddError> {
    if path.tokens.len() + depth(&value) > MAX_DEPTH {
        return Err(AddError::Message(format!(
            "the patched object would be nested deeper than {MAX_DEPTH} levels"
        )));
    }
    let (parent, last) = parent_mut(doc, path).ok_or(AddError::MissingParent)?;
    if let Some(entries) = parent.map_mut() {
        match entries.iter_mut().find(|(k, _)| k.key_text() == Some(last)) {
            Some((_, v)) => *v = value,
            None => entries.push((Node::string(last, span), value)),
        }
        return Ok(());
    }
    let items = parent.seq_mut().ok_or(AddError::MissingParent)?;
    let at = if last == "-" {
        items.len()
    } else {
        let i = index(last).ok_or_else(|| {
            AddError::Message(format!(
                "error in add for path: '{}': strconv.Atoi: parsing {last:?}: invalid syntax",
                path.text
            ))
        })?;
        // A negative index counts from past the end: -1 appends.
        let i = if i < 0 { i + items.len() as i64 + 1 } else { i };
        if !(0..=items.len() as i64).contains(&i) {
            return Err(AddError::Message(format!(
                "error in add for path: '{}': Unable to access invalid index: {last}: invalid index referenced",
                path.text
            )));
        }
        i as usize
    };
    items.insert(at, value);
    Ok(())
}

/// Removes what `path` names; `what` names the operation in messages.
fn remove(doc: &mut Node, path: &Pointer, what: &str) -> Result<Node, String> {
    let missing = || {
        format!(
            "{what} operation does not apply: doc is missing path: {:?}: missing value",
            path.text
        )
    };
    let (parent, last) = parent_mut(doc, path).ok_or_else(missing)?;
    let error_path = if what == "move" {
        last
    } else {
        path.text.as_str()
    };
    if let Some(entries) = parent.map_mut() {
        let at = entries
            .iter()
            .position(|(k, _)| k.key_text() == Some(last))
            .ok_or_else(|| {
                format!(
                    "error in {what} for path: '{error_path}': Unable to remove nonexistent key: {last}: missing value"
                )
            })?;
        return Ok(entries.remove(at).1);
    }
    let items = parent.seq_mut().ok_or_else(missing)?;
    if index(last).is_none() {
        return Err(format!(
            "error in {what} for path: '{error_path}': strconv.Atoi: parsing {last:?}: invalid syntax"
        ));
    }
    let at = item_index(last, items.len()).ok_or_else(|| {
        format!(
            "error in {what} for path: '{error_path}': Unable to access invalid index: {last}: invalid index referenced"
        )
    })?;
    Ok(items.remove(at))
}

/// Steps one patch may take on one object, [`cost`] counting: far above any real patch,
/// far below what a hostile one (thousands of inserts at the front of a long list, copies
/// of a large subtree) would cost.
pub(super) const WORK_BUDGET: usize = 10_000_000;

/// What applying `operation` to `doc` costs, counted before it runs: the containers it
/// walks through (each may be copied on write, an insert moves a list's items) and the
/// nodes of the value it places or compares.
pub(super) fn cost(doc: &Node, operation: &Operation) -> usize {
    let walk = |path: &Pointer| {
        let mut total = path.tokens.len();
        let mut node = Some(doc);
        for token in &path.tokens {
            let Some(n) = node else { break };
            total +=
                n.as_seq().map_or(0, <[Node]>::len) + n.as_map().map_or(0, <[(Node, Node)]>::len);
            node = get(n, std::slice::from_ref(token));
        }
        total
    };
    match &operation.op {
        Op::Invalid(_) => 1,
        Op::Remove { path } => walk(path),
        Op::Add { path, value } | Op::Replace { path, value } | Op::Test { path, value } => {
            walk(path) + size(value, WORK_BUDGET)
        }
        Op::Move { from, path } | Op::Copy { from, path } => {
            walk(from) + walk(path) + get(doc, &from.tokens).map_or(0, |v| size(v, WORK_BUDGET))
        }
    }
}

/// Applies one operation to `doc`; the error is kustomize's message.
/// After a removal, the container that lost the field (and its key) points at the operation:
/// what a finding then says of the container, the patch made so.
fn point_at_operation(doc: &mut Node, path: &Pointer, span: Span) {
    let Some((_, parent)) = path.tokens.split_last() else {
        return;
    };
    if let Some(container) = get_mut(doc, parent) {
        container.span = span;
    }
    let Some((key, grandparent)) = parent.split_last() else {
        return;
    };
    let entries = get_mut(doc, grandparent).and_then(Node::map_mut);
    if let Some((k, _)) = entries
        .into_iter()
        .flatten()
        .find(|(k, _)| k.key_text() == Some(key.as_str()))
    {
        k.span = span;
    }
}

pub(super) fn apply_operation(doc: &mut Node, operation: &Operation) -> Result<(), String> {
    let span = operation.span;
    match &operation.op {
        Op::Invalid(message) => Err(message.clone()),
        Op::Add { path, value } => add(doc, path, value.clone(), span).map_err(|e| match e {
            AddError::MissingParent => format!(
                "add operation does not apply: doc is missing path: {:?}: missing value",
                path.text
            ),
            AddError::Message(m) => m,
        }),
        Op::Remove { path } => {
            remove(doc, path, "remove")?;
            point_at_operation(doc, path, span);
            Ok(())
        }
        Op::Replace { path, value } => {
            let missing = |what: &str| {
                format!(
                    "replace operation does not apply: doc is missing {what}: {}: missing value",
                    path.text
                )
            };
            if path.tokens.len() + depth(value) > MAX_DEPTH {
                return Err(format!(
                    "the patched object would be nested deeper than {MAX_DEPTH} levels"
                ));
            }
            let (parent, last) = parent_mut(doc, path).ok_or_else(|| missing("path"))?;
            if let Some(entries) = parent.map_mut() {
                // A missing key is added: kustomize's library does not refuse it.
                match entries.iter_mut().find(|(k, _)| k.key_text() == Some(last)) {
                    Some((_, v)) => *v = value.clone(),
                    None => entries.push((Node::string(last, span), value.clone())),
                }
                return Ok(());
            }
            let items = parent.seq_mut().ok_or_else(|| missing("path"))?;
            let at = item_index(last, items.len()).ok_or_else(|| missing("key"))?;
            items[at] = value.clone();
            Ok(())
        }
        Op::Move { from, path } => {
            if parent_mut(doc, from).is_none() {
                return Err(format!(
                    "move operation does not apply: doc is missing from path: {}: missing value",
                    from.text
                ));
            }
            let value = remove(doc, from, "move")?;
            add(doc, path, value, span).map_err(|e| match e {
                AddError::MissingParent => format!(
                    "move operation does not apply: doc is missing destination path: {}: missing value",
                    path.text
                ),
                AddError::Message(m) => m,
            })
        }
        Op::Copy { from, path } => {
            let value = get(doc, &from.tokens).cloned().ok_or_else(|| {
                format!(
                    "copy operation does not apply: doc is missing from path: {}: missing value",
                    from.text
                )
            })?;
            add(doc, path, value, span).map_err(|e| match e {
                AddError::MissingParent => format!(
                    "copy operation does not apply: doc is missing destination path: {}: missing value",
                    path.text
                ),
                AddError::Message(m) => m,
            })
        }
        Op::Test { path, value } => {
            let passes = match get(doc, &path.tokens) {
                Some(found) => same_value(found, value),
                None => value.is_null(),
            };
            if passes {
                Ok(())
            } else {
                Err(format!("testing value {} failed: test failed", path.text))
            }
        }
    }
}
