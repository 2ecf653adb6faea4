//! Rendering: a file's objects as one way applies them, after the transformers of every
//! kustomization (and controller) on that way, innermost first, as kustomize builds an
//! overlay on its bases.
//!
//! Most ways change nothing but namespaces, which the model applies to the objects decoded
//! once. A way with transformers re-reads its file's whole trees (decoding keeps only what
//! the analysis reads, and a patch may touch anything), edits them, and decodes them again.
//! A node a transformer puts into an object names the file it came from, so a finding about
//! it points at the transformer's entry.

mod apply;
pub mod chain;
pub(super) mod transformer;

use super::patch::{self, ObjectName, Patch};
use super::{Landing, Way};
use crate::decode::object::{self, Object};
use crate::source::discover::SourcePath;
use crate::source::load::{self, LoadedFile};
use crate::source::yaml::{FileRef, Node, Pos, Span};
use chain::Chains;
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use transformer::Transformer;
pub use transformer::{TransformerId, Unapplied};

/// What a transformer did to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    Patched,
    Labelled,
    Annotated,
    Renamed,
    Substituted,
}

impl Change {
    /// For messages: "as patched by k.yaml:9".
    pub fn participle(self) -> &'static str {
        match self {
            Change::Patched => "patched",
            Change::Labelled => "labelled",
            Change::Annotated => "annotated",
            Change::Renamed => "renamed",
            Change::Substituted => "substituted",
        }
    }
}

/// One change made to an object, and the entry that made it (its file set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub at: Span,
    pub change: Change,
}

/// One object as a way renders it.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedObject {
    pub object: Object,
    /// The changes made to it, in the order they were made.
    pub applied: Vec<Applied>,
}

/// A file's objects as one way renders them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rendering {
    /// Parallel to the file's objects; `None` where a patch deleted the object.
    pub objects: Vec<Option<RenderedObject>>,
    /// What the way does that imds-lint does not apply: the verdicts of the namespaces its
    /// objects land in are uncertain.
    pub unapplied: Vec<Unapplied>,
    /// The patches (transformer, index) that selected some object.
    selections: BTreeSet<(TransformerId, usize)>,
}

/// An object's tree as a way renders it (for `imds-lint render` too).
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedTree {
    pub tree: Node,
    pub applied: Vec<Applied>,
    /// What the way does to this object that imds-lint cannot apply.
    pub unapplied: Vec<Unapplied>,
    /// The `$patch: delete` that took the object out of the build, if one did.
    pub deleted_by: Option<Span>,
    /// Its earlier names, oldest first, as patches above may name it.
    previous: Vec<ObjectName>,
    /// The patches (transformer, index) that selected it.
    selected_by: Vec<(TransformerId, usize)>,
}

/// Renders every (file, way) whose way has transformers, in parallel; `objects[i]` are the
/// objects of `files[i]` as first decoded.
pub(super) fn render_all(
    files: &[LoadedFile],
    objects: &[Vec<Object>],
    landings: &[Landing],
    transformers: &[Transformer],
    chains: &Chains,
) -> HashMap<(usize, Way), Rendering> {
    let work: Vec<(usize, &Way)> = landings
        .iter()
        .enumerate()
        .filter_map(|(i, landing)| match landing {
            Landing::Built(ways) => Some(ways.iter().map(move |w| (i, w))),
            _ => None,
        })
        .flatten()
        .filter(|(_, way)| chains.renders(way.steps))
        .collect();
    let mut renderings: HashMap<(usize, Way), Rendering> = work
        .into_par_iter()
        .map(|(i, way)| {
            let rendering = if chains.len(way.steps) > MAX_STEPS {
                too_deep(&objects[i], way, chains)
            } else {
                render_file(&files[i], objects[i].len(), way, transformers, chains)
            };
            ((i, way.clone()), rendering)
        })
        .collect();
    refuse_unmatched_patches(&mut renderings, transformers, chains);
    renderings
}

/// The start of the object's own file, where a problem of the whole file is reported.
fn file_start() -> Span {
    let start = Pos { line: 1, column: 1 };
    Span {
        start,
        end: start,
        file: None,
    }
}

/// More transformers on one way than this are not applied: each would re-read and edit the
/// file's trees, and a chain of kustomizations a pull request crafts can be long.
pub const MAX_STEPS: usize = 256;

/// The objects of a way with more than [`MAX_STEPS`] transformers, as first decoded, and why
/// the verdicts where they land are uncertain.
fn too_deep(objects: &[Object], way: &Way, chains: &Chains) -> Rendering {
    Rendering {
        objects: objects
            .iter()
            .map(|object| {
                Some(RenderedObject {
                    object: object.clone(),
                    applied: Vec::new(),
                })
            })
            .collect(),
        unapplied: vec![Unapplied::new(
            file_start(),
            format!(
                "{} nested kustomizations and controllers transform these objects, more \
                 than the {MAX_STEPS} imds-lint applies",
                chains.len(way.steps)
            ),
        )],
        selections: BTreeSet::new(),
    }
}

/// kustomize refuses a build where a patch with no target selects no object: each such
/// patch makes every rendering through its kustomization refused. A Component built on its
/// own (nothing includes it) is spared: its patches are for what includes it.
fn refuse_unmatched_patches(
    renderings: &mut HashMap<(usize, Way), Rendering>,
    transformers: &[Transformer],
    chains: &Chains,
) {
    let mut reached = BTreeSet::new();
    let mut selected = BTreeSet::new();
    for ((_, way), rendering) in renderings.iter() {
        selected.extend(rendering.selections.iter().copied());
        for step in chains.iter(way.steps).take(MAX_STEPS) {
            let alone = transformers[step.index()]
                .component
                .is_some_and(|c| way.build == Some(super::BuildRoot::Kustomization(c)));
            if !alone {
                reached.insert(step);
            }
        }
    }
    let mut refusals: HashMap<TransformerId, Vec<Unapplied>> = HashMap::new();
    for &id in &reached {
        for (index, patch) in transformers[id.index()].patches.iter().enumerate() {
            if !selected.contains(&(id, index))
                && let Some(error) = patch.match_error(0)
            {
                refusals
                    .entry(id)
                    .or_default()
                    .push(Unapplied::refusal(error));
            }
        }
    }
    for ((_, way), rendering) in renderings.iter_mut() {
        for step in chains.iter(way.steps).take(MAX_STEPS) {
            for refusal in refusals.get(&step).into_iter().flatten() {
                if !rendering.unapplied.contains(refusal) {
                    rendering.unapplied.push(refusal.clone());
                }
            }
        }
    }
}

/// The objects of `file` as `way` renders them; `expected` is how many objects the file held
/// when first read.
fn render_file(
    file: &LoadedFile,
    expected: usize,
    way: &Way,
    transformers: &[Transformer],
    chains: &Chains,
) -> Rendering {
    let mut unapplied: Vec<Unapplied> = chains
        .iter(way.steps)
        .flat_map(|s| transformers[s.index()].unapplied.iter().cloned())
        .collect();
    let trees = render_trees(file, way, transformers, chains);
    if trees.len() != expected {
        // The file changed between the two reads: what was analysed is not what was read.
        unapplied.push(Unapplied::new(
            file_start(),
            format!("{} changed while it was being read", file.display),
        ));
    }
    let mut selections = BTreeSet::new();
    let objects = trees
        .into_iter()
        .map(|rendered| {
            for u in rendered.unapplied {
                if !unapplied.contains(&u) {
                    unapplied.push(u);
                }
            }
            selections.extend(rendered.selected_by);
            if rendered.deleted_by.is_some() {
                return None;
            }
            let object = object::decode_tree(rendered.tree).into_iter().next()?;
            Some(RenderedObject {
                object,
                applied: rendered.applied,
            })
        })
        .collect();
    Rendering {
        objects,
        unapplied,
        selections,
    }
}

/// Each object of `file` as a tree, after the transformers of `way`.
pub(super) fn render_trees(
    file: &LoadedFile,
    way: &Way,
    transformers: &[Transformer],
    chains: &Chains,
) -> Vec<RenderedTree> {
    object::object_trees(reread(file))
        .into_iter()
        .map(|tree| {
            let mut rendered = RenderedTree {
                tree,
                applied: Vec::new(),
                unapplied: Vec::new(),
                deleted_by: None,
                previous: Vec::new(),
                selected_by: Vec::new(),
            };
            for step in chains.iter(way.steps).take(MAX_STEPS) {
                apply::apply(step, &transformers[step.index()], &mut rendered);
                if rendered.deleted_by.is_some() {
                    break;
                }
            }
            rendered
        })
        .collect()
}

/// The patches `holder` declares (a kustomization, or a mapping holding a controller's
/// `patches`), read from file `index` of `files`, whose folder is `dir`; `find` gives the
/// index of a patch file by path. What cannot be read is a refusal, as kustomize refuses it.
pub(in crate::topology) fn read_patches(
    holder: &Node,
    files: &[LoadedFile],
    index: usize,
    dir: &Path,
    find: &dyn Fn(&Path) -> Option<usize>,
) -> (Vec<Patch>, Vec<Unapplied>) {
    let file = &files[index];
    let text = match &file.bytes {
        Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        None => std::fs::read_to_string(&file.path).unwrap_or_default(),
    };
    let mut read = |path: &Path| match find(path) {
        Some(i) => Ok((FileRef::new(i), reread(&files[i]))),
        None => Err(format!(
            "{} is not a file of the linted tree",
            path.display()
        )),
    };
    let (patches, problems) =
        patch::read_patches(holder, FileRef::new(index), &text, dir, &mut read);
    (
        patches,
        problems.into_iter().map(Unapplied::refusal).collect(),
    )
}

/// The whole tree of object `index` of `file` (counted as the decode stage counts objects).
pub(super) fn object_tree(file: &LoadedFile, index: usize) -> Option<Node> {
    object::object_trees(reread(file)).into_iter().nth(index)
}

/// The whole trees of a file read before (standard input from the bytes kept).
fn reread(file: &LoadedFile) -> Vec<Node> {
    let everything: &crate::source::yaml::Keep = &|_, _| true;
    let again = match &file.bytes {
        Some(bytes) => load::load_stream(&file.display, bytes, everything),
        None => load::load_file(
            &SourcePath {
                display: file.display.clone(),
                path: file.path.clone(),
            },
            everything,
        ),
    };
    again.trees
}
