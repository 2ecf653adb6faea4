//! The kustomize v5 patch engine, on positioned trees: reads the patches a kustomization (or
//! a Flux Kustomization's or an Argo CD source's `patches`) declares, says which objects each
//! selects, and applies it, strategic merge ([`merge`]) or JSON 6902 ([`json6902`]).
//! Nodes copied from a patch keep their span, with the patch's file, so a finding about a
//! patched field points at the patch. Where `kubectl kustomize` refuses a build, the error
//! says what it says, at the operation or the patch entry.

mod json6902;
mod merge;
mod node;
mod pointer;
mod target;

pub use json6902::{Op, Operation};
pub use merge::Renames;
pub use pointer::Pointer;
pub use target::Target;

use crate::source::yaml::{FileRef, Node, Origin, Span, Value, parse_documents_at};
use std::path::Path;

/// A patch as a kustomization declares it.
#[derive(Debug, Clone)]
pub struct Patch {
    pub body: PatchBody,
    pub target: Option<Target>,
    /// The entry that declares it (the `patches:` item, the `patchesStrategicMerge` string,
    /// …), with its file set, for messages: "as patched by k.yaml:9".
    pub declared_at: Span,
    /// The entry's `options`: whether a strategic merge patch may rename the object.
    pub renames: Renames,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PatchBody {
    /// One document of a strategic merge patch (a patch of several documents is several).
    StrategicMerge(Node),
    Json6902(Vec<Operation>),
}

/// An object's name and namespace, as it was before a transformation renamed or moved it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectName {
    pub name: String,
    pub namespace: Option<String>,
}

impl ObjectName {
    /// The current name and namespace of a full object tree.
    pub fn of(object: &Node) -> ObjectName {
        let metadata = object.get("metadata");
        let text = |key| {
            metadata
                .and_then(|m| m.get(key))
                .and_then(Node::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        ObjectName {
            name: text("name").unwrap_or_default(),
            namespace: text("namespace"),
        }
    }

    /// Equal as kustomize compares ids: no namespace is `default`.
    fn same(&self, other: &ObjectName) -> bool {
        let ns = |n: &ObjectName| n.namespace.clone().unwrap_or_else(|| "default".into());
        self.name == other.name && ns(self) == ns(other)
    }
}

/// A patch that cannot be read, or that kustomize refuses to apply: where, and what
/// kustomize says (or why imds-lint cannot apply it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchError {
    /// With its file set.
    pub span: Span,
    pub message: String,
}

/// A problem reading a kustomization's patches.
pub type PatchProblem = PatchError;

/// What applying a patch did to the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Changed,
    /// `$patch: delete` of the whole object: the build no longer has it.
    Deleted,
}

impl Patch {
    /// Whether the patch applies to `object` (a full object tree), as kustomize selects:
    /// by `target` when there is one, else by the patch's own apiVersion, kind, name and
    /// namespace (which must equal the object's current id or one of its `previous` ones).
    /// `previous` are the object's earlier names, oldest first (before the namePrefix,
    /// nameSuffix and namespace of the kustomizations it came through): kustomize lets an
    /// overlay's patch name an object by its name in the base.
    pub fn selects(&self, object: &Node, previous: &[ObjectName]) -> bool {
        if let Some(target) = &self.target {
            return target.selects(object, previous);
        }
        let PatchBody::StrategicMerge(patch) = &self.body else {
            return false;
        };
        let same = |field: &str| {
            let of = |n: &Node| n.get(field).and_then(Node::as_str).map(str::to_string);
            of(patch) == of(object)
        };
        if !same("apiVersion") || !same("kind") {
            return false;
        }
        let wanted = ObjectName::of(patch);
        let current = ObjectName::of(object);
        wanted.same(&current) || previous.iter().any(|p| wanted.same(p))
    }

    /// What kustomize says of the build when a patch with no target selects `matched`
    /// objects: it must select exactly one. `None` when that is fine.
    pub fn match_error(&self, matched: usize) -> Option<PatchError> {
        let PatchBody::StrategicMerge(patch) = &self.body else {
            return None;
        };
        if self.target.is_some() || matched == 1 {
            return None;
        }
        let id = kustomize_id(patch);
        let message = if matched == 0 {
            format!(
                "no resource matches strategic merge patch \"{id}\": no matches for Id {id}; failed to find unique target for patch {id}"
            )
        } else {
            format!("multiple matches for Id {id}; failed to find unique target for patch {id}")
        };
        Some(PatchError {
            span: self.declared_at,
            message,
        })
    }

    /// Applies the patch to `object`; nodes copied from the patch keep their span (with the
    /// patch's file). On an error the object is left part-patched: kustomize fails the
    /// whole build.
    pub fn apply(&self, object: &mut Node) -> Result<Applied, PatchError> {
        match &self.body {
            PatchBody::StrategicMerge(patch) => {
                match merge::merge_object(object, patch, self.renames) {
                    Ok(merge::Merged::Kept) => Ok(Applied::Changed),
                    Ok(merge::Merged::Deleted) => Ok(Applied::Deleted),
                    Err(message) => Err(PatchError {
                        span: self.declared_at,
                        message,
                    }),
                }
            }
            PatchBody::Json6902(operations) => {
                let mut work = 0;
                for operation in operations {
                    work += json6902::cost(object, operation);
                    if work > json6902::WORK_BUDGET {
                        return Err(PatchError {
                            span: operation.span,
                            message: format!(
                                "imds-lint does not apply this patch: it takes more than {} steps on one object",
                                json6902::WORK_BUDGET
                            ),
                        });
                    }
                    json6902::apply_operation(object, operation).map_err(|message| PatchError {
                        span: operation.span,
                        message,
                    })?;
                }
                Ok(Applied::Changed)
            }
        }
    }
}

/// An object's id as kustomize prints it: `NetworkPolicy.v1.networking.k8s.io/deny.[noNs]`.
fn kustomize_id(object: &Node) -> String {
    let api_version = object
        .get("apiVersion")
        .and_then(Node::as_str)
        .unwrap_or("");
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let or = |s: &str, none: &str| {
        if s.is_empty() {
            none.to_string()
        } else {
            s.to_string()
        }
    };
    let kind = object.get("kind").and_then(Node::as_str).unwrap_or("");
    let name = ObjectName::of(object);
    format!(
        "{}.{}.{}/{}.{}",
        kind,
        or(version, "[noVer]"),
        or(group, "[noGrp]"),
        name.name,
        name.namespace.as_deref().unwrap_or("[noNs]")
    )
}

/// A patch file's documents (full trees) and its FileRef, or why it cannot be read.
pub type ReadFile<'a> = dyn FnMut(&Path) -> Result<(FileRef, Vec<Node>), String> + 'a;

/// Which kind of patch a kustomization field declares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    /// `patches`: told apart by content.
    Patches,
    StrategicMerge,
    Json6902,
}

/// Reads `patches`, `patchesStrategicMerge` and `patchesJson6902` of a kustomization-shaped
/// node (`kustomization` is the root mapping of the kustomization file, `file` that file and
/// `text` its text, for the positions of inline patches; its nodes have `span.file == None`,
/// so what is kept is tagged with `file`). Patch files are read with `read(path)`, which
/// returns the file's documents (full trees) and its FileRef; `dir` is the kustomization's
/// folder. Kustomize applies `patchesStrategicMerge`, then `patchesJson6902`, then
/// `patches`; so does the returned order. A Flux Kustomization's `spec` reads the same,
/// with its older fields' shapes: `patchesStrategicMerge` items are objects, and a
/// `patchesJson6902` item's `patch` is the list of operations.
pub fn read_patches(
    kustomization: &Node,
    file: FileRef,
    text: &str,
    dir: &Path,
    read: &mut ReadFile,
) -> (Vec<Patch>, Vec<PatchProblem>) {
    let mut reader = Reader {
        file,
        text,
        dir,
        read,
        patches: Vec::new(),
        problems: Vec::new(),
    };
    for (name, field) in [
        ("patchesStrategicMerge", Field::StrategicMerge),
        ("patchesJson6902", Field::Json6902),
        ("patches", Field::Patches),
    ] {
        let Some(list) = kustomization.get(name) else {
            continue;
        };
        if list.is_null() {
            continue;
        }
        let Some(items) = list.as_seq() else {
            reader.problem(
                list.span,
                format!("`{name}` must be a list, not {}", list.type_name()),
            );
            continue;
        };
        for item in items {
            reader.entry(item, field);
        }
    }
    (reader.patches, reader.problems)
}

struct Reader<'a> {
    file: FileRef,
    text: &'a str,
    dir: &'a Path,
    read: &'a mut ReadFile<'a>,
    patches: Vec<Patch>,
    problems: Vec<PatchProblem>,
}

impl Reader<'_> {
    fn problem(&mut self, span: Span, message: String) {
        self.problems.push(PatchError {
            span: span.in_file(self.file),
            message,
        });
    }

    fn entry(&mut self, item: &Node, field: Field) {
        let declared_at = item.span.in_file(self.file);
        if field == Field::StrategicMerge {
            // A string: inline YAML if it reads as an object, else a file path (kustomize
            // tries the two in this order).
            if item.as_map().is_some() {
                // Flux's `patchesStrategicMerge`: the patch itself, not a string.
                let mut doc = item.clone();
                doc.retag(self.file);
                return self.push(vec![doc], None, declared_at, field, "", Renames::default());
            }
            let Some(s) = item.as_str() else {
                return self.problem(
                    item.span,
                    format!(
                        "a `patchesStrategicMerge` entry must be a string, not {}",
                        item.type_name()
                    ),
                );
            };
            let inline = self
                .inline(item)
                .ok()
                .filter(|docs| !docs.is_empty() && docs.iter().all(is_object));
            let docs = match inline {
                Some(docs) => docs,
                None => match self.file_docs(s, item.span) {
                    Some(docs) => docs,
                    None => return,
                },
            };
            return self.push(docs, None, declared_at, field, s, Renames::default());
        }
        if item.as_map().is_none() {
            return self.problem(
                item.span,
                format!("a patch entry must be a mapping, not {}", item.type_name()),
            );
        }
        let target = match item.get("target").filter(|t| !t.is_null()) {
            None => None,
            Some(t) => match Target::parse(t) {
                Ok(mut target) => {
                    target.span = target.span.in_file(self.file);
                    Some(target)
                }
                Err(message) => return self.problem(t.span, message),
            },
        };
        let option = |name: &str| {
            item.get("options")
                .and_then(|o| o.get(name))
                .and_then(Node::scalar)
                == Some(crate::source::yaml::Scalar::Bool(true))
        };
        let renames = Renames {
            name: option("allowNameChange"),
            kind: option("allowKindChange"),
        };
        let (path, inline) = (item.get("path"), item.get("patch"));
        let (docs, shown) = match (path, inline) {
            (Some(_), Some(_)) => {
                return self.problem(
                    item.span,
                    "patch and path can't be set at the same time".to_string(),
                );
            }
            (Some(p), None) => {
                let Some(s) = p.as_str() else {
                    return self.problem(
                        p.span,
                        format!("a patch path must be a string, not {}", p.type_name()),
                    );
                };
                match self.file_docs(s, p.span) {
                    Some(docs) => (docs, s.to_string()),
                    None => return,
                }
            }
            (None, Some(p)) if field == Field::Json6902 && p.as_seq().is_some() => {
                // Flux's `patchesJson6902`: the operations themselves, not a string.
                let mut doc = p.clone();
                doc.retag(self.file);
                (vec![doc], String::new())
            }
            (None, Some(p)) => match self.inline(p) {
                Ok(docs) => (docs, p.as_str().unwrap_or("").to_string()),
                Err(problem) => return self.problems.push(problem),
            },
            (None, None) => {
                return self.problem(item.span, "must specify one of patch and path".to_string());
            }
        };
        self.push(docs, target, declared_at, field, &shown, renames);
    }

    /// The documents of a patch file, tagged with its file.
    fn file_docs(&mut self, path: &str, span: Span) -> Option<Vec<Node>> {
        match (self.read)(&self.dir.join(path)) {
            Ok((file, mut docs)) => {
                for doc in &mut docs {
                    doc.retag(file);
                }
                Some(docs)
            }
            Err(message) => {
                self.problem(span, format!("patch file {path}: {message}"));
                None
            }
        }
    }

    /// The documents of an inline patch (a string in the kustomization), placed in the
    /// kustomization file: exactly for a literal block scalar (`patch: |`), at the string
    /// for any other style.
    fn inline(&self, scalar: &Node) -> Result<Vec<Node>, PatchProblem> {
        let Some(body) = scalar.as_str() else {
            return Err(PatchError {
                span: scalar.span.in_file(self.file),
                message: format!("a patch must be a string, not {}", scalar.type_name()),
            });
        };
        let file = self.file;
        let start = scalar.span.start;
        let indent = start.column.saturating_sub(1);
        let (origin, place): (Origin, Box<dyn Fn(Span) -> Span>) =
            if is_block_at(self.text, body, start.line as usize, indent as usize) {
                (
                    Origin::line(start.line as usize - 1),
                    Box::new(move |s: Span| {
                        let shift = |mut p: crate::source::yaml::Pos| {
                            p.column += indent;
                            p
                        };
                        Span {
                            start: shift(s.start),
                            end: shift(s.end),
                            file: s.file.or(Some(file)),
                        }
                    }),
                )
            } else {
                let whole = scalar.span.in_file(file);
                (Origin::default(), Box::new(move |_| whole))
            };
        match parse_documents_at(body, origin, &|_, _| true) {
            Ok(mut docs) => {
                for doc in &mut docs {
                    node::respan(doc, &*place);
                }
                Ok(docs)
            }
            Err(e) => Err(PatchError {
                span: place(Span {
                    start: e.pos,
                    end: e.pos,
                    file: None,
                }),
                message: format!("the patch is not valid YAML: {}", e.message),
            }),
        }
    }

    /// Patches from the documents of one entry, told apart as kustomize does for
    /// `patches`: one list of mappings is JSON 6902 (which needs a target); mappings with a
    /// kind and a name are strategic merge.
    fn push(
        &mut self,
        docs: Vec<Node>,
        target: Option<Target>,
        declared_at: Span,
        field: Field,
        shown: &str,
        renames: Renames,
    ) {
        if docs.is_empty() {
            return;
        }
        let json = docs.len() == 1
            && docs[0]
                .as_seq()
                .is_some_and(|items| items.iter().all(|i| i.as_map().is_some()));
        let objects = docs.iter().all(is_object);
        let problem = |message: String| PatchError {
            span: declared_at,
            message,
        };
        let bodies = match field {
            Field::Json6902 if json => Ok(vec![json_body(&docs[0])]),
            Field::Json6902 => Err(format!(
                "unable to parse JSON patch from [patch: {shown:?}]"
            )),
            Field::StrategicMerge if objects => {
                Ok(docs.into_iter().map(PatchBody::StrategicMerge).collect())
            }
            Field::Patches if json => Ok(vec![json_body(&docs[0])]),
            Field::Patches if objects => {
                Ok(docs.into_iter().map(PatchBody::StrategicMerge).collect())
            }
            _ => Err(format!(
                "unable to parse SM or JSON patch from [patch: {shown:?}]"
            )),
        };
        let bodies = match bodies {
            Ok(b) => b,
            Err(message) => return self.problems.push(problem(message)),
        };
        let needs_target = bodies.iter().any(|b| matches!(b, PatchBody::Json6902(_)));
        if needs_target && target.is_none() {
            return self.problems.push(problem(format!(
                "must specify a target for JSON patch [patch: {shown:?}]"
            )));
        }
        self.patches.extend(bodies.into_iter().map(|body| Patch {
            body,
            target: target.clone(),
            declared_at,
            renames,
        }));
    }
}

/// Whether `body` stands in `text` line for line from `line`, each line indented by `indent`
/// (a literal block scalar, `patch: |`): then a position in the body maps to the file by
/// shifting lines and columns. Any other style (quoted, folded, flow) changes the text.
fn is_block_at(text: &str, body: &str, line: usize, indent: usize) -> bool {
    if line == 0 {
        return false;
    }
    let mut lines = text.lines().skip(line - 1);
    body.lines().all(|b| match lines.next() {
        Some(l) if b.is_empty() => l.trim().is_empty(),
        Some(l) => {
            l.get(..indent).is_some_and(|p| p.trim().is_empty()) && l.get(indent..) == Some(b)
        }
        None => false,
    })
}

fn json_body(doc: &Node) -> PatchBody {
    PatchBody::Json6902(json6902::parse_operations(doc.as_seq().unwrap_or_default()))
}

/// A document kustomize reads as an object: a mapping with a kind and a name.
fn is_object(doc: &Node) -> bool {
    let named = doc
        .get("metadata")
        .and_then(|m| m.get("name"))
        .is_some_and(|n| matches!(&n.value, Value::Scalar { text, .. } if !text.is_empty()));
    doc.get("kind")
        .and_then(Node::as_str)
        .is_some_and(|k| !k.is_empty())
        && named
}

#[cfg(test)]
mod tests;
