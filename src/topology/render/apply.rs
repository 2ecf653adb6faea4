//! Applying one kustomization's transformers to one object's tree, with kustomize's field
//! specifications for the kinds imds-lint reads (checked with `kubectl kustomize`).

use super::transformer::{Affix, Pair, Transformer};
use super::{Applied, Change};
use crate::decode::kind::{self, Kind};
use crate::decode::workload::WorkloadKind;
use crate::source::yaml::{Node, Span};

/// A path of mapping keys from the object's root, and whether kustomize creates what is
/// missing on the way (`create: true` in its field specifications).
struct FieldSpec {
    path: &'static [&'static str],
    create: bool,
}

const fn spec(path: &'static [&'static str], create: bool) -> FieldSpec {
    FieldSpec { path, create }
}

/// Where label selectors live, by kind (besides `metadata.labels`).
fn selector_specs(kind: Kind, written_kind: &str) -> Vec<FieldSpec> {
    match kind {
        Kind::NetworkPolicy => vec![
            spec(&["spec", "podSelector", "matchLabels"], false),
            spec(
                &[
                    "spec",
                    "ingress",
                    "*",
                    "from",
                    "*",
                    "podSelector",
                    "matchLabels",
                ],
                false,
            ),
            spec(
                &[
                    "spec",
                    "egress",
                    "*",
                    "to",
                    "*",
                    "podSelector",
                    "matchLabels",
                ],
                false,
            ),
        ],
        Kind::Workload(WorkloadKind::ReplicationController) => {
            vec![spec(&["spec", "selector"], true)]
        }
        Kind::Workload(
            WorkloadKind::Deployment
            | WorkloadKind::ReplicaSet
            | WorkloadKind::DaemonSet
            | WorkloadKind::StatefulSet,
        ) => vec![spec(&["spec", "selector", "matchLabels"], true)],
        Kind::Workload(WorkloadKind::Job) => {
            vec![spec(&["spec", "selector", "matchLabels"], false)]
        }
        Kind::Workload(WorkloadKind::CronJob) => vec![spec(
            &["spec", "jobTemplate", "spec", "selector", "matchLabels"],
            false,
        )],
        _ if written_kind == "Service" => vec![spec(&["spec", "selector"], true)],
        _ if written_kind == "PodDisruptionBudget" => {
            vec![spec(&["spec", "selector", "matchLabels"], false)]
        }
        _ => Vec::new(),
    }
}

/// Where pod templates' metadata lives, by kind.
fn template_metadata(kind: Kind) -> &'static [&'static [&'static str]] {
    match kind {
        Kind::Workload(WorkloadKind::CronJob) => &[
            &["spec", "jobTemplate", "metadata"],
            &["spec", "jobTemplate", "spec", "template", "metadata"],
        ],
        Kind::Workload(WorkloadKind::Pod) => &[],
        Kind::Workload(_) => &[&["spec", "template", "metadata"]],
        _ => &[],
    }
}

/// The object's kind, API version and written kind, read from its tree.
fn kind_of(object: &Node) -> (Kind, String) {
    let text = |key: &str| {
        object
            .get(key)
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let written = text("kind");
    (kind::classify(&written, &text("apiVersion")), written)
}

/// Applies `t` to `object`, recording each change.
pub(super) fn apply(t: &Transformer, object: &mut Node, applied: &mut Vec<Applied>) {
    let (kind, written_kind) = kind_of(object);
    if let Some(namespace) = &t.namespace {
        set_namespace(object, kind, namespace);
    }
    let affixes = [(&t.prefix, true), (&t.suffix, false)];
    for (affix, prefix) in affixes {
        if let Some(affix) = affix
            && rename(object, kind, &written_kind, affix, prefix)
        {
            applied.push(Applied {
                at: affix.at,
                change: Change::Renamed,
            });
        }
    }
    for set in &t.labels {
        let mut paths: Vec<FieldSpec> = vec![spec(&["metadata", "labels"], true)];
        if set.selectors {
            paths.extend(selector_specs(kind, &written_kind));
        }
        let templates = if set.templates {
            template_metadata(kind)
        } else {
            &[]
        };
        let mut changed = false;
        for field in &paths {
            changed |= set_pairs(object, field, &set.pairs);
        }
        for metadata in templates {
            changed |= set_pairs_under(object, metadata, "labels", &set.pairs);
        }
        if changed && let Some(first) = set.pairs.first() {
            applied.push(Applied {
                at: first.at,
                change: Change::Labelled,
            });
        }
    }
    if !t.annotations.is_empty() {
        let mut changed = set_pairs(
            object,
            &spec(&["metadata", "annotations"], true),
            &t.annotations,
        );
        for metadata in template_metadata(kind) {
            changed |= set_pairs_under(object, metadata, "annotations", &t.annotations);
        }
        if changed {
            applied.push(Applied {
                at: t.annotations[0].at,
                change: Change::Annotated,
            });
        }
    }
}

/// kustomize's namespace transformer: every object but the cluster-scoped kinds it knows gets
/// the namespace (custom resources too: kustomize has no schema to tell); a Namespace object
/// is renamed to it.
fn set_namespace(object: &mut Node, kind: Kind, namespace: &Affix) {
    let key = match kind {
        Kind::Namespace => "name",
        Kind::Other {
            cluster_scoped: true,
            ..
        } => return,
        _ => "namespace",
    };
    if let Some(metadata) = ensure_map(object, "metadata", namespace.at) {
        set_entry(metadata, key, Node::string(&namespace.text, namespace.at));
    }
}

/// Prefixes or suffixes `metadata.name`, except on the kinds kustomize leaves alone; whether
/// it changed anything.
fn rename(object: &mut Node, kind: Kind, written_kind: &str, affix: &Affix, prefix: bool) -> bool {
    if kind == Kind::Namespace || written_kind == "CustomResourceDefinition" {
        return false;
    }
    let Some(name) = object.get("metadata").and_then(|m| m.get("name")) else {
        return false;
    };
    let Some(current) = name.as_str() else {
        return false;
    };
    let renamed = if prefix {
        format!("{}{current}", affix.text)
    } else {
        format!("{current}{}", affix.text)
    };
    // The name keeps its place; the text now comes from the kustomization too.
    let span = name.span;
    if let Some(metadata) = object.get_mut("metadata") {
        set_entry(metadata, "name", Node::string(&renamed, span));
    }
    true
}

/// Sets `pairs` in the mapping at `field` (every item where the path crosses a list, `*`),
/// creating missing mappings where the spec says so; whether a value changed.
fn set_pairs(object: &mut Node, field: &FieldSpec, pairs: &[Pair]) -> bool {
    let mut changed = false;
    let mut pending: Vec<(&mut Node, &[&str])> = vec![(object, field.path)];
    while let Some((node, path)) = pending.pop() {
        let Some((&step, rest)) = path.split_first() else {
            let Some(map) = node.map_mut() else {
                continue;
            };
            for pair in pairs {
                changed |= upsert(map, pair);
            }
            continue;
        };
        if step == "*" {
            if let Some(items) = node.seq_mut() {
                pending.extend(items.iter_mut().map(|item| (item, rest)));
            }
            continue;
        }
        let at = node.span;
        let next = if field.create && !rest.contains(&"*") {
            ensure_map(node, step, at)
        } else {
            node.get_mut(step).filter(|n| !n.is_null())
        };
        if let Some(next) = next {
            pending.push((next, rest));
        }
    }
    changed
}

/// Sets `pairs` under `key` of the mapping at `metadata` (created where missing).
fn set_pairs_under(object: &mut Node, metadata: &[&str], key: &str, pairs: &[Pair]) -> bool {
    let mut node = object;
    for &step in metadata {
        let at = node.span;
        let Some(next) = ensure_map(node, step, at) else {
            return false;
        };
        node = next;
    }
    let at = node.span;
    let Some(map) = ensure_map(node, key, at).and_then(Node::map_mut) else {
        return false;
    };
    let mut changed = false;
    for pair in pairs {
        changed |= upsert(map, pair);
    }
    changed
}

/// The mapping under `key` of `node` (a mapping), created (at `at`) when missing or null.
fn ensure_map<'a>(node: &'a mut Node, key: &str, at: Span) -> Option<&'a mut Node> {
    let map = node.map_mut()?;
    let index = match map.iter().position(|(k, _)| k.key_text() == Some(key)) {
        Some(i) => {
            if map[i].1.is_null() {
                map[i].1 = Node::mapping(Vec::new(), at);
            }
            i
        }
        None => {
            map.push((Node::string(key, at), Node::mapping(Vec::new(), at)));
            map.len() - 1
        }
    };
    let value = &mut map[index].1;
    value.as_map().is_some().then_some(value)
}

/// Sets `key` of mapping `node` to `value`.
fn set_entry(node: &mut Node, key: &str, value: Node) {
    let Some(map) = node.map_mut() else {
        return;
    };
    match map.iter_mut().find(|(k, _)| k.key_text() == Some(key)) {
        Some((_, v)) => *v = value,
        None => map.push((Node::string(key, value.span), value)),
    }
}

/// Sets one label or annotation; whether it changed anything.
fn upsert(map: &mut Vec<(Node, Node)>, pair: &Pair) -> bool {
    let value = Node::string(&pair.value, pair.at);
    match map
        .iter_mut()
        .find(|(k, _)| k.key_text() == Some(pair.key.as_str()))
    {
        Some((_, v)) if v.as_str() == Some(pair.value.as_str()) => false,
        Some((_, v)) => {
            *v = value;
            true
        }
        None => {
            map.push((Node::string(&pair.key, pair.at), value));
            true
        }
    }
}
