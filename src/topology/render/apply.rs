//! Applying one kustomization's transformers to one object's tree, with kustomize's field
//! specifications for the kinds imds-lint reads (checked with `kubectl kustomize`).

use super::super::patch::{self, ObjectName};
use super::super::substitute;
use super::transformer::{Affix, Pair, Transformer, TransformerId, Unapplied};
use super::{Applied, Change, RenderedTree};
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

/// The object's kind, as kustomize's field specifications know it, and its written kind,
/// read from its tree.
fn kind_of(object: &Node) -> (Kind, String) {
    let text = |key: &str| {
        object
            .get(key)
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (written, api_version) = (text("kind"), text("apiVersion"));
    let kind = field_spec_kind(kind::classify(&written, &api_version), &api_version);
    (kind, written)
}

/// kustomize's field specifications name the built-in workload kinds, some of them by group
/// (StatefulSet in `apps`, Job and CronJob in `batch`, ReplicationController in version
/// `v1` of any group): an
/// OpenKruise Advanced StatefulSet, an Argo Rollout or any other controller's kind keeps its
/// pod template as written (checked with `kubectl kustomize`).
fn field_spec_kind(kind: Kind, api_version: &str) -> Kind {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let built_in = match kind {
        Kind::Workload(WorkloadKind::StatefulSet) => group == "apps",
        Kind::Workload(WorkloadKind::Job | WorkloadKind::CronJob) => group == "batch",
        Kind::Workload(WorkloadKind::ReplicationController) => version == "v1",
        Kind::Workload(
            WorkloadKind::Pod
            | WorkloadKind::Deployment
            | WorkloadKind::DaemonSet
            | WorkloadKind::ReplicaSet,
        ) => true,
        Kind::Workload(_) => false,
        _ => true,
    };
    if built_in {
        kind
    } else {
        Kind::Other {
            cluster_scoped: false,
            policy_like: false,
        }
    }
}

/// Applies transformer `id` (`t`) to `rendered`: its patches, then its namespace, prefix,
/// suffix, labels and annotations, then its substitution; records each change, what cannot
/// be applied, and which patches selected the object.
pub(super) fn apply(id: TransformerId, t: &Transformer, rendered: &mut RenderedTree) {
    apply_patches(id, t, rendered);
    if rendered.deleted_by.is_some() {
        return;
    }
    let RenderedTree {
        tree: object,
        applied,
        unapplied,
        previous,
        ..
    } = rendered;
    let (kind, written_kind) = kind_of(object);
    if let Some(namespace) = &t.namespace {
        let before = ObjectName::of(object);
        set_namespace(object, kind, namespace);
        remember(previous, before, object);
    }
    let affixes = [(&t.prefix, true), (&t.suffix, false)];
    for (affix, prefix) in affixes {
        let before = ObjectName::of(object);
        if let Some(affix) = affix
            && rename(object, kind, &written_kind, affix, prefix)
        {
            remember(previous, before, object);
            applied.push(Applied {
                at: affix.at,
                change: Change::Renamed,
            });
        }
    }
    for set in t.labels.iter().filter(|set| !set.pairs.is_empty()) {
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
    if let Some(variables) = &t.variables {
        let done = substitute::substitute(object, variables);
        applied.extend(done.substitutions.iter().map(|s| Applied {
            at: s.from.unwrap_or(s.at),
            change: Change::Substituted,
        }));
        unapplied.extend(
            done.reasons
                .into_iter()
                .map(|r| Unapplied::new(r.span, r.message)),
        );
    }
}

/// Keeps `before` among the object's earlier names when a transformer changed its name or
/// namespace: a patch of a kustomization above may still name it so.
fn remember(previous: &mut Vec<ObjectName>, before: ObjectName, object: &Node) {
    if ObjectName::of(object) != before {
        previous.push(before);
    }
}

/// The patches of transformer `id`, each applied when it selects the object; a patch that
/// does not apply is a refusal (kustomize fails the build).
fn apply_patches(id: TransformerId, t: &Transformer, rendered: &mut RenderedTree) {
    for (index, patch) in t.patches.iter().enumerate() {
        if !patch.selects(&rendered.tree, &rendered.previous) {
            continue;
        }
        rendered.selected_by.push((id, index));
        match patch.apply(&mut rendered.tree) {
            Ok(patch::Applied::Changed) => rendered.applied.push(Applied {
                at: patch.declared_at,
                change: Change::Patched,
            }),
            Ok(patch::Applied::Deleted) => {
                rendered.deleted_by = Some(patch.declared_at);
                return;
            }
            Err(error) => rendered.unapplied.push(Unapplied::refusal(error)),
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
