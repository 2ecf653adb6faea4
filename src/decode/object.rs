//! Objects found in YAML documents: identity, position, suppression annotation, and what the
//! analysis reads of them. The filter [`keep`] decides, while a document is parsed, which
//! parts of it are built at all.

use super::Decoded;
use super::kind::{self, Kind, Reads};
use crate::source::yaml::{self, Node, Span};

/// A Kubernetes object found in a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// What the object is, classified once from `written_kind` and `api_version`.
    pub kind: Kind,
    /// The kind as written, for messages.
    pub written_kind: String,
    pub api_version: String,
    pub name: Option<String>,
    pub namespace: Option<String>,
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

/// The objects of a file's documents, decoded; a `List`'s items are objects of their own.
pub fn objects_of(trees: Vec<Node>) -> Vec<Object> {
    let mut objects = Vec::new();
    let mut bodies = Vec::new();
    for tree in trees {
        collect_objects(tree, &mut objects, &mut bodies);
    }
    super::decode_objects(&mut objects, bodies);
    objects
}

/// Pushes the document's objects, and parallel to them the tree of each whose kind the
/// analysis reads.
fn collect_objects(doc: Node, out: &mut Vec<Object>, bodies: &mut Vec<Option<Node>>) {
    let Some(written_kind) = doc.get("kind").and_then(Node::as_str).map(str::to_string) else {
        return;
    };
    if kind::is_list(&written_kind, doc.get("items").is_some()) {
        // Items share their trees with the list: cloning one copies no subtree.
        for item in doc.get("items").and_then(Node::as_seq).unwrap_or_default() {
            collect_objects(item.clone(), out, bodies);
        }
        return;
    }
    let api_version = doc
        .get("apiVersion")
        .and_then(Node::as_str)
        .unwrap_or_default()
        .to_string();
    let metadata = doc.get("metadata");
    let text_of = |key: &str| {
        metadata
            .and_then(|m| m.get(key))
            .and_then(Node::as_str)
            .map(str::to_string)
    };
    let span = doc
        .as_map()
        .and_then(|m| m.first())
        .map_or(doc.span, |(k, _)| k.span);
    let object = Object {
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
        written_kind,
        api_version,
        span,
    };
    bodies.push((object.kind.reads() != Reads::Identity).then_some(doc));
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
            collect_objects(tree, &mut objects, &mut bodies);
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
        assert!(bodies[0].is_some() && bodies[1].is_none());
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
