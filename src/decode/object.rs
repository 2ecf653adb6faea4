//! Objects found in YAML documents: identity, position, suppression annotation, and what the
//! analysis reads of them. The filter [`keep`] decides, while a document is parsed, which
//! parts of it are built at all.

use super::Decoded;
use super::kind::{self, Kind, Reads};
use super::names::duplicate_keys;
use super::toolkit::Problem;
use crate::source::load::{LoadError, LoadedFile};
use crate::source::yaml::{self, Node, Pos, Span};
use compact_str::CompactString;

/// A Kubernetes object found in a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// What the object is, classified once from `written_kind` and `api_version`.
    pub kind: Kind,
    /// The kind as written, for messages.
    ///
    /// The identity's strings are stored inline when short (most are): every document has
    /// an object, kept until the model is built.
    pub written_kind: CompactString,
    pub api_version: CompactString,
    pub name: Option<CompactString>,
    pub namespace: Option<CompactString>,
    /// The Config Sync `configmanagement.gke.io/namespace-selector` annotation: the namespaces
    /// the object lands in are picked by labels (in a live cluster, in dynamic mode).
    pub namespace_selector: Option<String>,
    /// Where the object starts (its first key).
    pub span: Span,
    /// What the analysis reads of the object.
    pub decoded: Decoded,
    /// The `imds-lint.io/ignore` annotation, when the object carries one.
    /// Boxed: most objects carry none, and every document has an `Object`.
    pub suppression: Option<Box<SuppressAnnotation>>,
    /// Where `metadata.name` and `metadata.namespace` are written, for the API server's
    /// checks of the name and namespace the object lands with.
    pub name_at: At,
    pub namespace_at: At,
    /// Why kubectl refuses the object whatever its name: mapping keys written twice.
    pub refused: Vec<Problem>,
    /// For one of the workloads an Argo workflow stands for: its template, whose name
    /// follows the workflow's in [`Object::name`] (`workflow/template`).
    pub template: Option<String>,
    /// The `ownerReferences` entry with `controller: true`, as a live cluster's objects carry
    /// it: a ReplicaSet's pods, a Deployment's ReplicaSets.
    pub controller: Option<Box<Owner>>,
}

/// The object that controls another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub kind: String,
    pub name: String,
}

/// The controller among `metadata.ownerReferences`: the entry with `controller: true`.
fn controller(metadata: Option<&Node>) -> Option<Box<Owner>> {
    let owners = metadata?.get("ownerReferences")?.as_seq()?;
    let owner = owners
        .iter()
        .find(|o| o.get("controller").and_then(Node::scalar) == Some(yaml::Scalar::Bool(true)))?;
    let text = |key: &str| {
        owner
            .get(key)
            .and_then(Node::as_str)
            .filter(|s| !s.is_empty())
    };
    Some(Box::new(Owner {
        kind: text("kind")?.to_string(),
        name: text("name")?.to_string(),
    }))
}

impl Object {
    /// The name as written (for an Argo workflow's template, the workflow's).
    pub fn object_name(&self) -> Option<&str> {
        let name = self.name.as_deref()?;
        match &self.template {
            Some(template) => name
                .strip_suffix(template.as_str())
                .and_then(|n| n.strip_suffix('/')),
            None => Some(name),
        }
    }
}

/// Where a value is written, taking no part in comparing objects: one manifest that two
/// builds place alike is one object, wherever each build wrote its namespace.
#[derive(Debug, Clone, Copy, Default)]
pub struct At(pub Option<Span>);

impl PartialEq for At {
    fn eq(&self, _: &At) -> bool {
        true
    }
}

/// Annotation naming the rules to suppress for an object (`IMDS002,IMDS003`, names, or `all`).
pub const IGNORE_ANNOTATION: &str = "imds-lint.io/ignore";
/// Annotation saying why; a suppression without one suppresses nothing.
pub const REASON_ANNOTATION: &str = "imds-lint.io/reason";

/// An `imds-lint.io/ignore` annotation as written, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppressAnnotation {
    /// The entries of the comma-separated list, trimmed, empty ones left out.
    pub rules: Vec<String>,
    /// The `imds-lint.io/reason` annotation's text, when present and a string.
    pub reason: Option<String>,
    /// The `imds-lint.io/ignore` key.
    pub key: Span,
    /// Its value.
    pub value: Span,
}

fn suppress_annotation(metadata: Option<&Node>) -> Option<SuppressAnnotation> {
    let annotations = metadata?.get("annotations")?;
    let (key, value) = annotations.entry(IGNORE_ANNOTATION)?;
    let text = match value.scalar() {
        Some(yaml::Scalar::Str(s)) => s.to_string(),
        // A non-string value (the API server would refuse it) names what it spells.
        _ => value.key_text().unwrap_or_default().to_string(),
    };
    Some(SuppressAnnotation {
        rules: text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        reason: annotations
            .get(REASON_ANNOTATION)
            .and_then(Node::as_str)
            .map(str::to_string),
        key: key.span,
        value: value.span,
    })
}

/// Which parts of a document to build: everything until `kind` is known, then identity
/// (`apiVersion`, `kind`, `metadata`) for every object and the rest only where the analysis
/// reads it. This keeps large irrelevant documents (CRDs, ConfigMaps) from costing a tree.
pub fn keep(kind: Option<&str>, path: &[&str]) -> bool {
    kind.is_none_or(|written| kind::keeps(written, path))
}

/// The objects of a loaded file, decoded, its trees taken; a `List`'s items are objects of
/// their own, and an item kubectl would refuse (no kind, or not an object) is an error of the
/// file, at the item.
pub fn file_objects(file: &mut LoadedFile) -> Vec<Object> {
    let mut decoding = Decoding::default();
    for tree in std::mem::take(&mut file.trees) {
        decoding.tree(tree);
    }
    decoding.finish(file)
}

/// The objects of a file's documents, decoded one tree at a time as the loader parses them
/// (`source::load::load_file_into`), so that a large file's trees never pile up.
#[derive(Default)]
pub struct Decoding {
    objects: Vec<Object>,
    problems: Vec<(Pos, String)>,
}

impl Decoding {
    /// Decodes the objects of one document's tree.
    pub fn tree(&mut self, tree: Node) {
        let (objects, problems) = objects_and_problems(vec![tree]);
        self.objects.extend(objects);
        self.problems.extend(problems);
    }

    /// The objects, with the problems found in them added to the file's errors, after the
    /// loader's own.
    pub fn finish(self, file: &mut LoadedFile) -> Vec<Object> {
        let Decoding {
            mut objects,
            problems,
        } = self;
        // Kept for the whole run, one list per file: no room to spare.
        objects.shrink_to_fit();
        file.errors
            .extend(problems.into_iter().map(|(pos, message)| LoadError {
                file: file.display.clone(),
                pos: Some(pos),
                message,
            }));
        objects
    }
}

fn objects_and_problems(trees: Vec<Node>) -> (Vec<Object>, Vec<(Pos, String)>) {
    let mut objects = Vec::new();
    let mut bodies = Vec::new();
    let mut problems = Vec::new();
    for tree in trees {
        collect_objects(tree, &mut objects, &mut bodies, &mut problems);
    }
    (super::decode_objects(objects, bodies), problems)
}

/// A tree to read as an object: a document, or an item of a list with the kind and API
/// version its list gives it.
struct Pending {
    doc: Node,
    /// For a list item: the list's kind and the item's inferred kind and API version.
    item_of: Option<ListContext>,
}

#[derive(Clone)]
struct ListContext {
    list_kind: String,
    /// `NetworkPolicyList` gives `NetworkPolicy`; a plain `List` gives nothing.
    item_kind: Option<String>,
    api_version: String,
}

/// The item kind a typed list gives items written without `kind` and `apiVersion`, as the
/// API machinery kubectl uses does: the list's kind without `List`.
fn item_kind_of(list_kind: &str) -> Option<String> {
    list_kind
        .strip_suffix("List")
        .filter(|k| !k.is_empty())
        .map(str::to_string)
}

/// Pushes the document's objects (the items of lists, nested lists included, in order), and
/// parallel to them the tree of each whose kind the analysis reads.
fn collect_objects(
    doc: Node,
    out: &mut Vec<Object>,
    bodies: &mut Vec<Option<Node>>,
    problems: &mut Vec<(Pos, String)>,
) {
    each_object(doc, problems, |doc, written_kind, api_version| {
        push_object(doc, written_kind, api_version, out, bodies);
    });
}

/// Each object of the documents as a tree of its own, in order (a list's items each; an item
/// that takes its kind from a typed list gets `kind` and `apiVersion` written in): for a pass
/// that edits objects before they are decoded.
pub fn object_trees(trees: Vec<Node>) -> Vec<Node> {
    let mut out = Vec::new();
    for tree in trees {
        each_object(
            tree,
            &mut Vec::new(),
            |mut doc, written_kind, api_version| {
                if doc.get("kind").is_none()
                    && let Some(map) = doc.map_mut()
                {
                    let at = Span {
                        end: doc_start(map),
                        start: doc_start(map),
                        file: None,
                    };
                    map.insert(
                        0,
                        (Node::string("kind", at), Node::string(&written_kind, at)),
                    );
                    map.insert(
                        0,
                        (
                            Node::string("apiVersion", at),
                            Node::string(&api_version, at),
                        ),
                    );
                }
                out.push(doc);
            },
        );
    }
    out
}

fn doc_start(map: &[(Node, Node)]) -> Pos {
    map.first().map(|(k, _)| k.span.start).unwrap_or_default()
}

/// The objects of one tree (an object [`object_trees`] gave, possibly edited), decoded.
pub fn decode_tree(tree: Node) -> Vec<Object> {
    objects_and_problems(vec![tree]).0
}

/// Calls `found` with each object of the document (the items of lists, nested lists
/// included, in order) and its kind and API version. An explicit stack: list nesting never
/// grows the call stack.
fn each_object(
    doc: Node,
    problems: &mut Vec<(Pos, String)>,
    mut found: impl FnMut(Node, String, String),
) {
    let mut pending = vec![Pending { doc, item_of: None }];
    while let Some(Pending { doc, item_of }) = pending.pop() {
        let start = first_key_span(&doc).start;
        let written = |key: &str| {
            doc.get(key)
                .and_then(Node::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let (written_kind, api_version) = match (&item_of, written("kind"), written("apiVersion")) {
            (_, Some(kind), api_version) => (kind, api_version.unwrap_or_default()),
            (None, None, _) => continue,
            (Some(list), None, None) if doc.as_map().is_some() && list.item_kind.is_some() => {
                let kind = list.item_kind.clone().unwrap_or_default();
                (kind, list.api_version.clone())
            }
            (Some(list), None, _) => {
                problems.push((start, list_item_problem(&doc, list)));
                continue;
            }
        };
        if kind::is_list(&written_kind, doc.get("items").is_some()) {
            let context = ListContext {
                item_kind: item_kind_of(&written_kind),
                list_kind: written_kind,
                api_version,
            };
            // Items share their trees with the list: cloning one copies no subtree.
            let items = doc.get("items").and_then(Node::as_seq).unwrap_or_default();
            pending.extend(items.iter().rev().map(|item| Pending {
                doc: item.clone(),
                item_of: Some(context.clone()),
            }));
            continue;
        }
        found(doc, written_kind, api_version);
    }
}

/// Why kubectl refuses a list item: it is no object, or nothing gives it a kind.
fn list_item_problem(item: &Node, list: &ListContext) -> String {
    let list_kind = &list.list_kind;
    if item.as_map().is_none() {
        return format!(
            "an item of this {list_kind} is {}, not an object (kubectl refuses the file)",
            item.type_name()
        );
    }
    match &list.item_kind {
        Some(kind) => format!(
            "an item of this {list_kind} has an apiVersion but no kind (kubectl: \"kind not \
             set\"); the list makes an item a {kind} only when it has neither"
        ),
        None => format!(
            "an item of this {list_kind} has no kind (kubectl: \"kind not set\"); only a typed \
             list, such as a NetworkPolicyList, gives its items one"
        ),
    }
}

/// Where an object starts: its first key; where that key was merged in from an anchor
/// written before the object (`- <<: *base`), the object's own start.
fn first_key_span(doc: &Node) -> Span {
    doc.as_map()
        .and_then(|m| m.first())
        .filter(|(k, _)| k.span.start >= doc.span.start)
        .map_or(doc.span, |(k, _)| k.span)
}

fn push_object(
    doc: Node,
    written_kind: String,
    api_version: String,
    out: &mut Vec<Object>,
    bodies: &mut Vec<Option<Node>>,
) {
    let metadata = doc.get("metadata");
    let text_of = |key: &str| {
        metadata
            .and_then(|m| m.get(key))
            .and_then(Node::as_str)
            .map(CompactString::from)
    };
    let span = first_key_span(&doc);
    let value_span = |key: &str| At(metadata.and_then(|m| m.get(key)).map(|v| v.span));
    let object = Object {
        name_at: value_span("name"),
        namespace_at: value_span("namespace"),
        refused: duplicate_keys(&doc),
        template: None,
        controller: controller(metadata),
        suppression: suppress_annotation(metadata).map(Box::new),
        name: text_of("name"),
        namespace: text_of("namespace").filter(|n| !n.is_empty()),
        namespace_selector: metadata
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get("configmanagement.gke.io/namespace-selector"))
            .and_then(Node::as_str)
            .map(str::to_string),
        decoded: Decoded::Other,
        kind: kind::classify(&written_kind, &api_version),
        written_kind: written_kind.into(),
        api_version: api_version.into(),
        span,
    };
    bodies.push(
        (object.kind.reads() != Reads::Identity || object.kind.may_be_workload()).then_some(doc),
    );
    out.push(object);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::load::load_stream;

    /// The objects of a file and the trees kept for them, before decoding.
    fn load(text: &str) -> (Vec<Object>, Vec<Option<Node>>) {
        let file = load_stream("test.yaml", text.as_bytes(), &keep);
        assert!(file.errors.is_empty(), "{:?}", file.errors);
        let (mut objects, mut bodies) = (Vec::new(), Vec::new());
        for tree in file.trees {
            collect_objects(tree, &mut objects, &mut bodies, &mut Vec::new());
        }
        (objects, bodies)
    }

    #[test]
    fn lists_bom_crlf_and_flow_style() {
        let (f, bodies) = load(
            "\u{feff}apiVersion: v1\r\nkind: List\r\nitems:\r\n- {kind: Namespace, apiVersion: v1, metadata: {name: a}}\r\n- kind: ConfigMap\r\n  apiVersion: v1\r\n  metadata:\r\n    name: c\r\n    namespace: 'b'\r\n",
        );
        assert_eq!(f.len(), 2);
        assert_eq!(f[1].namespace.as_deref(), Some("b"));
        assert_eq!(f[1].span.start.line, 5);
        assert!(bodies[0].is_some());
        // A ConfigMap might have been a workload (a kind with a pod template): only its
        // identity was built.
        let keys: Vec<&str> = bodies[1]
            .as_ref()
            .unwrap()
            .as_map()
            .unwrap()
            .iter()
            .filter_map(|(k, _)| k.key_text())
            .collect();
        assert_eq!(keys, ["kind", "apiVersion", "metadata"]);
    }

    /// The objects and problems of a file.
    fn read(text: &str) -> (Vec<Object>, Vec<(Pos, String)>) {
        let file = load_stream("test.yaml", text.as_bytes(), &keep);
        assert!(file.errors.is_empty(), "{:?}", file.errors);
        objects_and_problems(file.trees)
    }

    #[test]
    fn typed_list_items_take_kind_and_api_version_from_the_list() {
        let (f, problems) = read(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicyList\nitems:\n- metadata: {name: a, namespace: x}\n  spec: {podSelector: {}}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n",
        );
        assert_eq!(problems, []);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].kind, Kind::NetworkPolicy);
        assert_eq!(f[0].written_kind, "NetworkPolicy");
        assert_eq!(f[0].api_version, "networking.k8s.io/v1");
        assert_eq!(f[0].span.start, Pos { line: 4, column: 3 });
        assert!(matches!(f[0].decoded, Decoded::Policy(_)));
        // An item with a kind of its own keeps it.
        assert_eq!(
            (f[1].written_kind.as_str(), f[1].api_version.as_str()),
            ("Pod", "v1")
        );
    }

    #[test]
    fn list_items_nothing_gives_a_kind_are_problems_at_the_item() {
        let (f, problems) = read(
            "apiVersion: v1\nkind: List\nitems:\n- metadata: {name: a}\n- kind: Namespace\n  apiVersion: v1\n  metadata: {name: ns}\n- just a string\n",
        );
        assert_eq!(f.len(), 1, "the good item is still read");
        assert_eq!(f[0].name.as_deref(), Some("ns"));
        let at: Vec<Pos> = problems.iter().map(|p| p.0).collect();
        assert_eq!(at, [Pos { line: 4, column: 3 }, Pos { line: 8, column: 3 }]);
        assert!(problems[0].1.contains("\"kind not set\""), "{problems:?}");
        assert!(
            problems[1].1.contains("a string, not an object"),
            "{problems:?}"
        );
        // In a typed list, an item with an apiVersion but no kind gets no kind either.
        let (f, problems) = read(
            "apiVersion: v1\nkind: PodList\nitems:\n- apiVersion: v1\n  metadata: {name: p}\n",
        );
        assert!(f.is_empty());
        assert!(
            problems[0].1.contains("apiVersion but no kind"),
            "{problems:?}"
        );
    }

    #[test]
    fn an_object_starting_with_a_merge_key_starts_at_its_own_text() {
        let (f, _) = read(
            "kind: List\nitems:\n- &p\n  kind: Pod\n  metadata: {name: a}\n- <<: *p\n  metadata: {name: b}\n- {<<: {kind: Pod}, metadata: {name: c}}\n",
        );
        let at: Vec<(Option<&str>, Pos)> = f
            .iter()
            .map(|o| (o.name.as_deref(), o.span.start))
            .collect();
        assert_eq!(
            at,
            [
                (Some("a"), Pos { line: 4, column: 3 }),
                (Some("b"), Pos { line: 6, column: 3 }),
                (Some("c"), Pos { line: 8, column: 9 }),
            ]
        );
    }

    #[test]
    fn nested_lists_are_read_in_order_without_recursion() {
        let depth = 100;
        let mut text = String::new();
        for i in 0..depth {
            text.push_str(&format!(
                "{{kind: List, items: [{{kind: Namespace, metadata: {{name: n{i}}}}}, "
            ));
        }
        text.push_str("{kind: Namespace, metadata: {name: last}}");
        text.push_str(&"]}".repeat(depth));
        let (f, problems) = read(&text);
        assert_eq!(problems, []);
        assert_eq!(f.len(), depth + 1);
        assert_eq!(f[0].name.as_deref(), Some("n0"));
        assert_eq!(f[depth].name.as_deref(), Some("last"));
    }

    #[test]
    fn workloads_keep_labels_host_network_and_service_account_only() {
        let (_, bodies) = load(
            "kind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 2\n  template:\n    metadata: {labels: {app: a}}\n    spec:\n      hostNetwork: true\n      serviceAccountName: batch\n      serviceAccount: old\n      containers: [{name: c, image: i}]\n",
        );
        let body = bodies[0].as_ref().unwrap();
        let template = body.get("spec").unwrap().get("template").unwrap();
        let pod = template.get("spec").unwrap();
        assert!(body.get("spec").unwrap().get("replicas").is_none());
        assert!(pod.get("containers").is_none());
        assert!(pod.get("hostNetwork").is_some());
        assert_eq!(
            pod.get("serviceAccountName").unwrap().as_str(),
            Some("batch")
        );
        assert_eq!(pod.get("serviceAccount").unwrap().as_str(), Some("old"));
        assert!(template.get("metadata").unwrap().get("labels").is_some());
        let (_, bodies) = load(
            "kind: CronJob\nmetadata: {name: c}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec: {serviceAccountName: cron, containers: []}\n",
        );
        let pod = ["spec", "jobTemplate", "spec", "template", "spec"]
            .iter()
            .try_fold(bodies[0].as_ref().unwrap(), |n, k| n.get(k))
            .unwrap();
        assert!(pod.get("serviceAccountName").is_some() && pod.get("containers").is_none());
    }

    #[test]
    fn the_controller_is_the_owner_reference_marked_so() {
        let (f, _) = read(
            "kind: Pod\nmetadata:\n  name: p\n  ownerReferences:\n  - {kind: Node, name: n}\n  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-1, controller: true}\n---\nkind: Pod\nmetadata: {name: q, ownerReferences: [{kind: Job, name: j, controller: 'true'}]}\n---\nkind: Pod\nmetadata: {name: r, ownerReferences: 3}\n",
        );
        let owner = f[0].controller.as_deref().unwrap();
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("ReplicaSet", "web-1")
        );
        // A quoted "true" is a string, which the API server refuses: no controller.
        assert_eq!(f[1].controller, None);
        assert_eq!(f[2].controller, None);
    }

    #[test]
    fn json_documents() {
        let (f, _) = load(
            "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"x\"}}",
        );
        assert_eq!(f[0].name.as_deref(), Some("x"));
    }

    #[test]
    fn non_kubernetes_documents_are_ignored() {
        let (f, _) =
            load("replicaCount: 1\nimage: {tag: x}\n---\n# just a comment\n---\n[1, 2]\n---\n");
        assert!(f.is_empty());
    }
}
