//! What one kustomization does to every object it builds, read from its file: the
//! transformers kustomize runs after accumulating its resources, and what imds-lint cannot
//! apply (which makes the verdicts it reaches uncertain).

use crate::source::yaml::{FileRef, Node, Span};

/// A kustomization's (or a controller's) transformers, by index in the resolution's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransformerId(u32);

impl TransformerId {
    pub(in crate::topology) fn new(index: usize) -> Self {
        TransformerId(u32::try_from(index).unwrap_or(u32::MAX))
    }

    pub(in crate::topology) fn index(self) -> usize {
        self.0 as usize
    }
}

/// One label or annotation a transformer sets: its key and value, and the entry that sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::topology) struct Pair {
    pub(in crate::topology) key: String,
    pub(in crate::topology) value: String,
    /// The value node, its file set.
    pub(in crate::topology) at: Span,
}

/// Labels set together, and where besides `metadata.labels` they go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::topology) struct LabelSet {
    pub(in crate::topology) pairs: Vec<Pair>,
    /// Into selectors (and so templates): `commonLabels`, `includeSelectors: true`.
    pub(in crate::topology) selectors: bool,
    /// Into pod templates: `commonLabels`, `includeTemplates: true`.
    pub(in crate::topology) templates: bool,
}

/// A name prefix or suffix, with the entry that sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::topology) struct Affix {
    pub(in crate::topology) text: String,
    pub(in crate::topology) at: Span,
}

/// Something that could change what lands and that imds-lint does not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unapplied {
    /// The field or entry, its file set.
    pub at: Span,
    pub reason: String,
}

/// The transformers of one kustomization, in the order kustomize runs them: patches, then
/// namespace, prefix and suffix, labels, annotations. (Checked with `kubectl kustomize`: a
/// patch target sees neither the namespace nor the prefix nor the labels of its own
/// kustomization.)
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(in crate::topology) struct Transformer {
    /// The kustomization (or controller) file.
    pub(in crate::topology) file: usize,
    /// `namespace:`, applied to every namespaced object.
    pub(in crate::topology) namespace: Option<Affix>,
    pub(in crate::topology) prefix: Option<Affix>,
    pub(in crate::topology) suffix: Option<Affix>,
    pub(in crate::topology) labels: Vec<LabelSet>,
    pub(in crate::topology) annotations: Vec<Pair>,
    pub(in crate::topology) unapplied: Vec<Unapplied>,
}

/// Kustomization fields that can change what lands and that imds-lint does not apply, and why.
const NOT_APPLIED: &[(&str, &str)] = &[
    (
        "replacements",
        "kustomize replacements are not applied: they can rewrite any field",
    ),
    (
        "vars",
        "kustomize vars are not applied: they can rewrite any field",
    ),
    (
        "helmCharts",
        "helmCharts are not rendered; lint `kubectl kustomize --enable-helm` output with `-`",
    ),
    (
        "helmChartInflationGenerator",
        "Helm charts are not rendered; lint `kubectl kustomize --enable-helm` output with `-`",
    ),
    (
        "generators",
        "generator plugins are not run: they can emit any object",
    ),
    (
        "transformers",
        "transformer plugins are not run: they can change any object",
    ),
    (
        "validators",
        "validator plugins are not run: they can change any object",
    ),
    (
        "patches",
        "kustomize patches are not applied yet: they can change any field",
    ),
    (
        "patchesStrategicMerge",
        "kustomize patches are not applied yet: they can change any field",
    ),
    (
        "patchesJson6902",
        "kustomize patches are not applied yet: they can change any field",
    ),
];

impl Transformer {
    /// The transformers of kustomization `k` (its root mapping, read from `file`); `None` when
    /// it changes nothing but namespaces, which the walk applies without re-reading trees.
    /// `unapplied` are the resources the kustomization names that cannot be built here.
    pub(in crate::topology) fn of_kustomization(
        k: &Node,
        file: usize,
        mut unapplied: Vec<Unapplied>,
    ) -> Option<Transformer> {
        let tag = FileRef::new(file);
        let affix = |key: &str| {
            let node = k.get(key)?;
            Some(Affix {
                text: node.as_str().filter(|s| !s.is_empty())?.to_string(),
                at: node.span.in_file(tag),
            })
        };
        let mut labels = Vec::new();
        if let Some(common) = k.get("commonLabels") {
            labels.push(LabelSet {
                pairs: pairs(common, tag),
                selectors: true,
                templates: true,
            });
        }
        for entry in k.get("labels").and_then(Node::as_seq).unwrap_or_default() {
            let flag = |key: &str| {
                entry.get(key).and_then(Node::scalar)
                    == Some(crate::source::yaml::Scalar::Bool(true))
            };
            let selectors = flag("includeSelectors");
            labels.push(LabelSet {
                pairs: entry
                    .get("pairs")
                    .map(|p| pairs(p, tag))
                    .unwrap_or_default(),
                selectors,
                templates: selectors || flag("includeTemplates"),
            });
        }
        unapplied.extend(NOT_APPLIED.iter().filter_map(|(key, reason)| {
            let (node, value) = k.entry(key)?;
            let empty = value.is_null()
                || value.as_seq().is_some_and(<[Node]>::is_empty)
                || value.as_map().is_some_and(<[(Node, Node)]>::is_empty);
            if empty {
                return None;
            }
            Some(Unapplied {
                at: node.span.in_file(tag),
                reason: (*reason).to_string(),
            })
        }));
        let transformer = Transformer {
            file,
            namespace: None,
            prefix: affix("namePrefix"),
            suffix: affix("nameSuffix"),
            labels,
            annotations: k
                .get("commonAnnotations")
                .map(|a| pairs(a, tag))
                .unwrap_or_default(),
            unapplied,
        };
        if transformer.changes_nothing() {
            return None;
        }
        Some(Transformer {
            namespace: affix("namespace"),
            ..transformer
        })
    }

    fn changes_nothing(&self) -> bool {
        self.prefix.is_none()
            && self.suffix.is_none()
            && self.labels.iter().all(|l| l.pairs.is_empty())
            && self.annotations.is_empty()
            && self.unapplied.is_empty()
    }
}

/// The string entries of a `key: value` mapping, each with its value's span.
fn pairs(map: &Node, tag: FileRef) -> Vec<Pair> {
    map.as_map()
        .unwrap_or_default()
        .iter()
        .filter_map(|(k, v)| {
            Some(Pair {
                key: k.key_text()?.to_string(),
                value: v.as_str()?.to_string(),
                at: v.span.in_file(tag),
            })
        })
        .collect()
}
