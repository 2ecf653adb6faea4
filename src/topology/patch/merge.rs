//! Strategic merge patches, as kustomize v5 merges them (kyaml's merge2): maps merge, `null`
//! deletes a key, `$patch: delete|replace|merge` on a map or a list item, and lists merged
//! by key only where the Kubernetes schema gives a merge key; every other list is replaced.
//!
//! Checked with `kubectl kustomize` (kustomize v5.5): the merged list holds the patch's items
//! in the patch's order, then the object's items the patch does not name; a replaced list is
//! copied as written (a `$patch` inside it stays); `$retainKeys`, `$setElementOrder/…` and
//! `$deleteFromPrimitiveList/…` are not directives to kustomize: they are copied like any key.
//! Custom resources (Cilium, Calico, AdminNetworkPolicy, …) have no schema in kustomize, so
//! all their lists are replaced, even lists of items with a `name`.

use crate::source::yaml::{MAX_DEPTH, Node, Value};
use std::collections::{HashMap, HashSet};

/// Where a kind keeps its pod spec, which is where the merge keys imds-lint knows of are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Schema {
    pod_spec: &'static [&'static str],
}

impl Schema {
    pub(super) fn of(api_version: &str, kind: &str) -> Schema {
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let pod_spec: &'static [&'static str] = match (group, kind) {
            ("", "Pod") => &["spec"],
            ("", "ReplicationController")
            | ("apps" | "extensions", "Deployment" | "DaemonSet" | "ReplicaSet")
            | ("apps", "StatefulSet")
            | ("batch", "Job") => &["spec", "template", "spec"],
            ("batch", "CronJob") => &["spec", "jobTemplate", "spec", "template", "spec"],
            _ => &[],
        };
        Schema { pod_spec }
    }

    /// The merge key of the list at `path` (mapping keys from the object's root, `[]` for a
    /// list item), or `None` where the list is replaced.
    fn list_key(&self, path: &[String]) -> Option<&'static str> {
        if self.pod_spec.is_empty() || !path.starts_with_strs(self.pod_spec) {
            return None;
        }
        let rel: Vec<&str> = path[self.pod_spec.len()..]
            .iter()
            .map(String::as_str)
            .collect();
        const CONTAINERS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];
        match rel.as_slice() {
            [f] if CONTAINERS.contains(f) => Some("name"),
            ["volumes" | "imagePullSecrets" | "resourceClaims" | "schedulingGates"] => Some("name"),
            ["hostAliases"] => Some("ip"),
            ["topologySpreadConstraints"] => Some("topologyKey"),
            [c, "[]", field] if CONTAINERS.contains(c) => match *field {
                "ports" => Some("containerPort"),
                "env" => Some("name"),
                "volumeMounts" => Some("mountPath"),
                "volumeDevices" => Some("devicePath"),
                "resizePolicy" => Some("resourceName"),
                _ => None,
            },
            _ => None,
        }
    }
}

trait StartsWithStrs {
    fn starts_with_strs(&self, prefix: &[&str]) -> bool;
}

impl StartsWithStrs for [String] {
    fn starts_with_strs(&self, prefix: &[&str]) -> bool {
        self.len() >= prefix.len() && self.iter().zip(prefix).all(|(a, b)| a == b)
    }
}

/// What a merge left of the node it merged into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Merged {
    Kept,
    /// `$patch: delete`: the node goes (at the root, the whole object).
    Deleted,
}

/// What a patch entry's `options` allow a strategic merge patch to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Renames {
    /// `allowNameChange`: the patch's `metadata.name` is merged.
    pub name: bool,
    /// `allowKindChange`: the patch's `kind` is merged (its `apiVersion` never is).
    pub kind: bool,
}

/// Merges `patch` (a mapping) into `object` (a full object tree). The identity fields
/// (`apiVersion`, `kind`, `metadata.name`, `metadata.namespace`) are not merged: kustomize
/// chose the object by them (or by a target) and keeps the object's, but for what
/// `renames` allows (checked with `kubectl kustomize`: the namespace and the apiVersion stay
/// even then).
pub(super) fn merge_object(
    object: &mut Node,
    patch: &Node,
    renames: Renames,
) -> Result<Merged, String> {
    let api_version = object
        .get("apiVersion")
        .and_then(Node::as_str)
        .unwrap_or("");
    let kind = object.get("kind").and_then(Node::as_str).unwrap_or("");
    let schema = Schema::of(api_version, kind);
    if object.as_map().is_none() || patch.as_map().is_none() {
        return Err("a strategic merge patch and its object must be mappings".to_string());
    }
    let mut path = Vec::new();
    merge_map(object, patch, &mut path, Context { schema, renames })
}

#[derive(Clone, Copy)]
struct Context {
    schema: Schema,
    renames: Renames,
}

/// A map's or list item's `$patch`, checked.
fn directive(node: &Node) -> Result<Option<&str>, String> {
    let Some(value) = node.get("$patch") else {
        return Ok(None);
    };
    match value.as_str() {
        Some(d @ ("delete" | "replace" | "merge")) => Ok(Some(d)),
        Some(other) => Err(format!("unknown patch strategy '{other}'")),
        None => Err(format!("unknown patch strategy '{}'", text_of(value))),
    }
}

fn text_of(node: &Node) -> &str {
    match &node.value {
        Value::Scalar { text, .. } => text,
        _ => node.type_name(),
    }
}

fn node_kind(node: &Node) -> &'static str {
    match node.value {
        Value::Map(_) => "MappingNode",
        Value::Seq(_) => "SequenceNode",
        Value::Scalar { .. } => "ScalarNode",
    }
}

fn is_identity(path: &[String], key: &str, renames: Renames) -> bool {
    match path {
        [] => key == "apiVersion" || (key == "kind" && !renames.kind),
        [m] => m == "metadata" && (key == "namespace" || (key == "name" && !renames.name)),
        _ => false,
    }
}

/// Merges mapping `patch` into `target` (a mapping, or anything else, which it replaces).
/// Recursion follows the patch, whose depth the YAML reader bounds; checked here too.
fn merge_map(
    target: &mut Node,
    patch: &Node,
    path: &mut Vec<String>,
    cx: Context,
) -> Result<Merged, String> {
    if path.len() > MAX_DEPTH {
        return Err(format!("a patch nested deeper than {MAX_DEPTH} levels"));
    }
    match directive(patch)? {
        Some("delete") => return Ok(Merged::Deleted),
        Some("replace") => *target = Node::mapping(Vec::new(), patch.span),
        _ => {}
    }
    if target.as_map().is_none() {
        *target = Node::mapping(Vec::new(), patch.span);
    }
    let entries = target.map_mut().expect("a mapping");
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, (k, _)) in entries.iter().enumerate() {
        if let Some(text) = k.key_text() {
            index.entry(text.to_string()).or_insert(i);
        }
    }
    let mut removed = vec![false; entries.len()];
    for (k, v) in patch.as_map().unwrap_or_default() {
        let Some(key) = k.key_text() else { continue };
        if key == "$patch" || is_identity(path, key, cx.renames) {
            continue;
        }
        let at = index.get(key).copied().filter(|&i| !removed[i]);
        if v.is_null() {
            if let Some(i) = at {
                removed[i] = true;
            }
            continue;
        }
        path.push(key.to_string());
        let existing = at.map(|i| &mut entries[i].1);
        let merged: Option<Node> = match (&v.value, existing) {
            (Value::Map(_), Some(old)) if old.as_map().is_some() => {
                let outcome = merge_map(old, v, path, cx)?;
                path.pop();
                if outcome == Merged::Deleted {
                    removed[at.expect("present")] = true;
                }
                continue;
            }
            (Value::Map(_) | Value::Seq(_), Some(old))
                if old.as_map().is_some() || old.as_seq().is_some() =>
            {
                if node_kind(old) != node_kind(v) {
                    return Err(format!(
                        "wrong node kind: expected {} but got {} at `{}`",
                        node_kind(old),
                        node_kind(v),
                        path.join(".")
                    ));
                }
                // Both lists.
                match cx.schema.list_key(path) {
                    Some(merge_key) => {
                        let items = merge_list(
                            old.as_seq().unwrap_or_default(),
                            v.as_seq().unwrap_or_default(),
                            merge_key,
                            path,
                            cx,
                        )?;
                        let span = old.span;
                        *old = Node::sequence(items, span);
                        path.pop();
                        continue;
                    }
                    None => Some(v.clone()),
                }
            }
            (Value::Map(_), _) => {
                let mut new = Node::mapping(Vec::new(), v.span);
                match merge_map(&mut new, v, path, cx)? {
                    Merged::Kept => Some(new),
                    Merged::Deleted => None,
                }
            }
            (Value::Seq(items), _) => match cx.schema.list_key(path) {
                Some(merge_key) => Some(Node::sequence(
                    merge_list(&[], items, merge_key, path, cx)?,
                    v.span,
                )),
                None => Some(v.clone()),
            },
            (Value::Scalar { .. }, _) => Some(v.clone()),
        };
        path.pop();
        match (merged, at) {
            (Some(new), Some(i)) => entries[i] = (k.clone(), new),
            (Some(new), None) => {
                if let Some(&i) = index.get(key) {
                    // Deleted earlier in this patch (a duplicate key): set again.
                    entries[i] = (k.clone(), new);
                    removed[i] = false;
                } else {
                    index.insert(key.to_string(), entries.len());
                    entries.push((k.clone(), new));
                    removed.push(false);
                }
            }
            (None, Some(i)) => removed[i] = true,
            (None, None) => {}
        }
    }
    if removed.iter().any(|&r| r) {
        let mut keep = removed.iter().map(|r| !r);
        entries.retain(|_| keep.next().unwrap_or(true));
    }
    Ok(Merged::Kept)
}

/// Merges the items of a list whose items `merge_key` identifies: the patch's items first, in
/// its order (merged into the object's item of the same key, if any), then the object's
/// items the patch does not name. A map by key, so a long list costs linear time.
fn merge_list(
    old: &[Node],
    patch: &[Node],
    merge_key: &str,
    path: &mut Vec<String>,
    cx: Context,
) -> Result<Vec<Node>, String> {
    let key_of = |item: &Node| -> Option<String> {
        match &item.get(merge_key)?.value {
            Value::Scalar { text, .. } => Some(text.clone()),
            _ => None,
        }
    };
    path.push("[]".to_string());
    let mut result = Vec::new();
    let replace = patch
        .iter()
        .any(|item| item.as_map().is_some() && matches!(directive(item), Ok(Some("replace"))));
    let mut by_key: HashMap<String, usize> = HashMap::new();
    if !replace {
        for (i, item) in old.iter().enumerate() {
            if let Some(key) = key_of(item) {
                by_key.entry(key).or_insert(i);
            }
        }
    }
    let mut consumed = vec![replace; old.len()];
    let mut seen = HashSet::new();
    for item in patch {
        if item.as_map().is_none() {
            path.pop();
            return Err(format!(
                "a `{}` item is {}, not a mapping with `{merge_key}`",
                path.join("."),
                item.type_name()
            ));
        }
        let directive = directive(item)?;
        if directive == Some("replace") && item.as_map().is_some_and(|m| m.len() == 1) {
            continue;
        }
        let Some(key) = key_of(item) else {
            path.pop();
            return Err(format!(
                "a `{}` item has no `{merge_key}`: imds-lint cannot merge it as kustomize does",
                path.join(".")
            ));
        };
        if !seen.insert(key.clone()) {
            // kustomize keeps the first item of a key.
            continue;
        }
        let existing = by_key.get(&key).copied().filter(|&i| !consumed[i]);
        if directive == Some("delete") {
            if let Some(i) = existing {
                consumed[i] = true;
            }
            continue;
        }
        let mut merged = match existing {
            Some(i) => {
                consumed[i] = true;
                old[i].clone()
            }
            None => Node::mapping(Vec::new(), item.span),
        };
        if merge_map(&mut merged, item, path, cx)? == Merged::Kept {
            result.push(merged);
        }
    }
    path.pop();
    result.extend(
        old.iter()
            .zip(&consumed)
            .filter(|(_, c)| !**c)
            .map(|(item, _)| item.clone()),
    );
    Ok(result)
}
