//! What one kustomization does to every object it builds, read from its file: the
//! transformers kustomize runs after accumulating its resources, and what imds-lint cannot
//! apply (which makes the verdicts it reaches uncertain).

use super::super::patch::{Patch, PatchError};
use super::super::substitute::Variables;
use crate::decode::gitops::{ArgoKustomize, Entry, FluxTransform, Located, Reason};
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
    /// kustomize (or the controller) refuses the whole build here: nothing of it is applied.
    pub refused: bool,
}

impl Unapplied {
    /// Something imds-lint does not apply.
    pub fn new(at: Span, reason: String) -> Self {
        Unapplied {
            at,
            reason,
            refused: false,
        }
    }

    /// Where kustomize or the controller refuses the build.
    pub fn refusal(error: PatchError) -> Self {
        Unapplied {
            at: error.span,
            reason: format!("kustomize refuses this build: {}", error.message),
            refused: true,
        }
    }
}

/// The transformers of one kustomization, in the order kustomize runs them: patches, then
/// namespace, prefix and suffix, labels, annotations. (Checked with `kubectl kustomize`: a
/// patch target sees neither the namespace nor the prefix nor the labels of its own
/// kustomization.)
#[derive(Debug, Clone, Default)]
pub(in crate::topology) struct Transformer {
    /// Applied first, in kustomize's order.
    pub(in crate::topology) patches: Vec<Patch>,
    /// The Component file, for a kustomization of kind `Component`: built on its own (as
    /// nothing includes it), its patches may select nothing.
    pub(in crate::topology) component: Option<usize>,
    /// `namespace:`, applied to every namespaced object.
    pub(in crate::topology) namespace: Option<Affix>,
    pub(in crate::topology) prefix: Option<Affix>,
    pub(in crate::topology) suffix: Option<Affix>,
    pub(in crate::topology) labels: Vec<LabelSet>,
    pub(in crate::topology) annotations: Vec<Pair>,
    /// Flux post-build variables, substituted after everything else.
    pub(in crate::topology) variables: Option<Variables>,
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
];

impl Transformer {
    /// The transformers of kustomization `k` (its root mapping, read from `file`); `None` when
    /// it changes nothing but namespaces, which the walk applies without re-reading trees.
    /// `unapplied` are the resources the kustomization names that cannot be built here.
    pub(in crate::topology) fn of_kustomization(
        k: &Node,
        file: usize,
        patches: Vec<Patch>,
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
            Some(Unapplied::new(
                node.span.in_file(tag),
                (*reason).to_string(),
            ))
        }));
        let component = (k.get("kind").and_then(Node::as_str) == Some("Component")).then_some(file);
        let transformer = Transformer {
            patches,
            component,
            namespace: None,
            prefix: affix("namePrefix"),
            suffix: affix("nameSuffix"),
            labels,
            annotations: k
                .get("commonAnnotations")
                .map(|a| pairs(a, tag))
                .unwrap_or_default(),
            variables: None,
            unapplied,
        };
        let namespace = affix("namespace");
        if namespace.is_none() && !transformer.renders() {
            return None;
        }
        Some(Transformer {
            namespace,
            ..transformer
        })
    }

    /// What a Flux Kustomization (in `file`) does after kustomize has built its path:
    /// `commonMetadata` (on `metadata` only), `namePrefix`/`nameSuffix`, then the post-build
    /// substitution with `variables`. Its `targetNamespace` is the way's namespace.
    pub(in crate::topology) fn of_flux(
        flux: &FluxTransform,
        file: usize,
        patches: Vec<Patch>,
        variables: Variables,
        mut unapplied: Vec<Unapplied>,
    ) -> Option<Transformer> {
        let tag = FileRef::new(file);
        unapplied.extend(
            flux.unreadable
                .iter()
                .chain(&variables.reasons)
                .map(|r| unapplied_reason(r, tag)),
        );
        let transformer = Transformer {
            patches,
            component: None,
            namespace: None,
            prefix: located_affix(&flux.name_prefix, tag),
            suffix: located_affix(&flux.name_suffix, tag),
            labels: vec![LabelSet {
                pairs: entries(&flux.common_labels, tag),
                selectors: false,
                templates: false,
            }],
            annotations: entries(&flux.common_annotations, tag),
            variables: (!variables.is_empty()).then_some(variables),
            unapplied,
        };
        transformer.renders().then_some(transformer)
    }

    /// What an Argo CD source's `kustomize:` options (in `file`) add to the kustomization it
    /// builds: Argo CD edits the kustomization with them, so they act after its own fields.
    pub(in crate::topology) fn of_argo(
        options: &ArgoKustomize,
        file: usize,
        patches: Vec<Patch>,
        mut unapplied: Vec<Unapplied>,
    ) -> Option<Transformer> {
        let tag = FileRef::new(file);
        for component in &options.components {
            unapplied.push(Unapplied::new(
                component.span.in_file(tag),
                format!(
                    "Argo CD kustomize.components entry {} is not applied: it can add objects and change any field",
                    component.value
                ),
            ));
        }
        let transformer = Transformer {
            patches,
            component: None,
            namespace: None,
            prefix: located_affix(&options.name_prefix, tag),
            suffix: located_affix(&options.name_suffix, tag),
            labels: vec![LabelSet {
                pairs: entries(&options.common_labels, tag),
                selectors: true,
                templates: true,
            }],
            annotations: entries(&options.common_annotations, tag),
            variables: None,
            unapplied,
        };
        transformer.renders().then_some(transformer)
    }

    /// Whether it does more than set a namespace: a way through it is rendered. (A way
    /// through kustomizations that only set namespaces lands the objects as first decoded;
    /// the namespace it sets is the way's. It is a step all the same, so that a patch above
    /// sees the namespace the objects have by then.)
    pub(in crate::topology) fn renders(&self) -> bool {
        !(self.patches.is_empty()
            && self.prefix.is_none()
            && self.suffix.is_none()
            && self.labels.iter().all(|l| l.pairs.is_empty())
            && self.annotations.is_empty()
            && self.variables.is_none()
            && self.unapplied.is_empty())
    }
}

fn unapplied_reason(reason: &Reason, tag: FileRef) -> Unapplied {
    Unapplied::new(reason.span.in_file(tag), reason.message.clone())
}

fn located_affix(value: &Option<Located<String>>, tag: FileRef) -> Option<Affix> {
    let value = value.as_ref().filter(|v| !v.value.is_empty())?;
    Some(Affix {
        text: value.value.clone(),
        at: value.span.in_file(tag),
    })
}

fn entries(entries: &[Entry], tag: FileRef) -> Vec<Pair> {
    entries
        .iter()
        .map(|e| Pair {
            key: e.key.clone(),
            value: e.value.clone(),
            at: e.value_span.in_file(tag),
        })
        .collect()
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
