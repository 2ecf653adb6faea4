//! Stage 2: read files and parse their YAML documents into objects with source positions.
//!
//! Each document is parsed on its own, so one broken document never hides the next. Only the
//! objects the analysis reads (policies, namespaces, workloads) keep their tree; every other
//! object keeps just its identity.

use crate::discover::{KUSTOMIZATION_NAMES, SourcePath};
use crate::yaml::{self, Node, Pos, Span};
use std::path::{Path, PathBuf};

/// Files larger than this are reported, not parsed: no manifest is this big.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// Kinds whose pods run workloads, with where their pod template lives.
pub const WORKLOAD_KINDS: [&str; 8] = [
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

/// A problem that kept (part of) a file from being linted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LoadError {
    pub file: String,
    pub pos: Option<Pos>,
    pub message: String,
}

/// A Kubernetes object found in a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub kind: String,
    pub api_version: String,
    pub name: Option<String>,
    pub namespace: Option<String>,
    /// The Config Sync `configmanagement.gke.io/namespace-selector` annotation: the namespaces
    /// the object lands in are picked by labels (in a live cluster, in dynamic mode).
    pub namespace_selector: Option<String>,
    /// Where the object starts (its first key).
    pub span: Span,
    /// The whole tree, kept only for kinds the analysis reads.
    pub body: Option<Node>,
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

#[derive(Debug, Default)]
pub struct LoadedFile {
    pub path: PathBuf,
    pub display: String,
    /// Non-empty YAML documents in the file.
    pub documents: usize,
    pub objects: Vec<Object>,
    /// The parsed kustomization, when the file is one.
    pub kustomization: Option<Node>,
    /// The text, kept for input that cannot be read again (standard input).
    pub text: Option<String>,
    pub errors: Vec<LoadError>,
}

/// Whether the analysis needs an object's tree.
fn keeps_body(kind: &str, api_version: &str) -> bool {
    kind == "Namespace"
        || WORKLOAD_KINDS.contains(&kind)
        || (kind == "NetworkPolicy" && api_version == "networking.k8s.io/v1")
        || crate::model::engine::engine_kind(kind, api_version).is_some()
        || crate::gitops::is_applier(kind, api_version)
}

/// The parts of a workload's tree the analysis reads: pod labels, hostNetwork and the service
/// account.
fn workload_paths(kind: &str) -> &'static [&'static [&'static str]] {
    match kind {
        "Pod" => &[
            &["spec", "hostNetwork"],
            &["spec", "serviceAccountName"],
            &["spec", "serviceAccount"],
        ],
        "CronJob" => &[
            &["spec", "jobTemplate", "spec", "template", "metadata"],
            &[
                "spec",
                "jobTemplate",
                "spec",
                "template",
                "spec",
                "hostNetwork",
            ],
            &[
                "spec",
                "jobTemplate",
                "spec",
                "template",
                "spec",
                "serviceAccountName",
            ],
            &[
                "spec",
                "jobTemplate",
                "spec",
                "template",
                "spec",
                "serviceAccount",
            ],
        ],
        _ => &[
            &["spec", "template", "metadata"],
            &["spec", "template", "spec", "hostNetwork"],
            &["spec", "template", "spec", "serviceAccountName"],
            &["spec", "template", "spec", "serviceAccount"],
        ],
    }
}

/// Which parts of a document to build: everything until `kind` is known, then identity
/// (`apiVersion`, `kind`, `metadata`) for every object and the rest only where the analysis
/// reads it. This keeps large irrelevant documents (CRDs, ConfigMaps) from costing a tree.
fn keep(kind: Option<&str>, path: &[&str]) -> bool {
    let Some(kind) = kind else { return true };
    if matches!(path.first(), Some(&"apiVersion" | &"kind" | &"metadata")) {
        return true;
    }
    if kind == "Namespace"
        || crate::model::engine::ENGINE_KIND_NAMES.contains(&kind)
        || kind.ends_with("List")
    {
        return true;
    }
    // Flux Kustomizations and Argo CD Applications: where they build manifests from and to.
    if (kind == "Kustomization" || kind == "Application") && path.first() == Some(&"spec") {
        return true;
    }
    WORKLOAD_KINDS.contains(&kind)
        && workload_paths(kind)
            .iter()
            .any(|p| p.starts_with(path) || path.starts_with(p))
}

pub fn is_kustomization(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| KUSTOMIZATION_NAMES.contains(&n))
}

pub fn load_file(source: &SourcePath) -> LoadedFile {
    let (path, display) = (&source.path, &source.display);
    let mut file = LoadedFile {
        path: path.clone(),
        display: display.clone(),
        ..LoadedFile::default()
    };
    let fail = |message: String| LoadError {
        file: display.clone(),
        pos: None,
        message,
    };
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() > MAX_FILE_BYTES => {
            file.errors.push(fail(format!(
                "file is {} MiB, larger than the {} MiB limit",
                meta.len() / (1024 * 1024),
                MAX_FILE_BYTES / (1024 * 1024)
            )));
            return file;
        }
        Ok(_) => {}
        Err(e) => {
            file.errors.push(fail(format!("cannot read: {e}")));
            return file;
        }
    }
    match std::fs::read(path) {
        Ok(bytes) => parse_bytes(&mut file, &bytes),
        Err(e) => file.errors.push(fail(format!("cannot read: {e}"))),
    }
    file
}

/// Loads manifests from standard input (or any stream), named `display` in messages.
pub fn load_stream(display: &str, bytes: &[u8]) -> LoadedFile {
    let mut file = LoadedFile {
        path: PathBuf::from(display),
        display: display.to_string(),
        ..LoadedFile::default()
    };
    parse_bytes(&mut file, bytes);
    file.text = Some(String::from_utf8_lossy(bytes).into_owned());
    file
}

fn parse_bytes(file: &mut LoadedFile, bytes: &[u8]) {
    let error = |pos: Option<Pos>, message: String| LoadError {
        file: file.display.clone(),
        pos,
        message,
    };
    if let Some(offset) = memchr_nul(bytes) {
        let e = error(
            Some(position_of(bytes, offset)),
            "binary file (contains a NUL byte)".into(),
        );
        file.errors.push(e);
        return;
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let pos = position_of(bytes, e.valid_up_to());
            file.errors.push(error(Some(pos), "invalid UTF-8".into()));
            return;
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let is_kustomization = is_kustomization(&file.path);
    let keep: &yaml::Keep = if is_kustomization {
        &|_, _| true
    } else {
        &keep
    };
    for (line_offset, chunk) in split_documents(text) {
        match yaml::parse_documents_filtered(chunk, line_offset, &keep) {
            Ok(documents) => {
                file.documents += documents.len();
                for doc in documents {
                    if is_kustomization {
                        if file.kustomization.is_none() && doc.as_map().is_some() {
                            file.kustomization = Some(doc);
                        }
                    } else {
                        collect_objects(doc, &mut file.objects);
                    }
                }
            }
            Err(e) => file.errors.push(error(Some(e.pos), e.message)),
        }
    }
}

fn memchr_nul(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == 0)
}

/// The 1-based line and column of a byte offset.
fn position_of(bytes: &[u8], offset: usize) -> Pos {
    let before = &bytes[..offset.min(bytes.len())];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    Pos {
        line: before.iter().filter(|&&b| b == b'\n').count() + 1,
        column: String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1,
    }
}

/// Splits a YAML stream at `---` lines into (lines before the chunk, chunk). A `---` at the
/// start of a line always starts a document, even inside a block scalar, so this is exact.
fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut chunks = Vec::new();
    let (mut start, mut start_line) = (0, 0);
    let mut offset = 0;
    for (line_no, line) in text.split_inclusive('\n').enumerate() {
        let is_marker =
            line.starts_with("---") && line[3..].chars().next().is_none_or(|c| c.is_whitespace());
        if is_marker && offset > start && has_content(&text[start..offset]) {
            chunks.push((start_line, &text[start..offset]));
            start = offset;
            start_line = line_no;
        }
        offset += line.len();
    }
    if start < text.len() {
        chunks.push((start_line, &text[start..]));
    }
    chunks
}

/// Whether a chunk holds more than comments, blank lines and directives (those belong to the
/// document that follows them).
fn has_content(chunk: &str) -> bool {
    chunk.lines().any(|l| {
        let t = l.trim_start();
        !(t.is_empty() || t.starts_with('#') || l.starts_with('%'))
    })
}

fn collect_objects(doc: Node, out: &mut Vec<Object>) {
    let Some(kind) = doc.get("kind").and_then(Node::as_str).map(str::to_string) else {
        return;
    };
    if kind == "List" || kind.ends_with("List") && doc.get("items").is_some() {
        if let Some(Node {
            value: yaml::Value::Seq(items),
            ..
        }) = doc.get("items").cloned()
        {
            for item in items {
                collect_objects(item, out);
            }
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
    out.push(Object {
        suppression: suppress_annotation(metadata).map(Box::new),
        name: text_of("name"),
        namespace: text_of("namespace").filter(|n| !n.is_empty()),
        namespace_selector: metadata
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get("configmanagement.gke.io/namespace-selector"))
            .and_then(Node::as_str)
            .map(str::to_string),
        body: keeps_body(&kind, &api_version).then_some(doc),
        kind,
        api_version,
        span,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> LoadedFile {
        load_stream("test.yaml", text.as_bytes())
    }

    #[test]
    fn split_keeps_line_numbers() {
        let chunks = split_documents("a: 1\n---\nb: 2\n--- # c\nc: 3\n");
        assert_eq!(
            chunks.iter().map(|c| c.0).collect::<Vec<_>>(),
            vec![0, 1, 3]
        );
        assert_eq!(chunks[2].1, "--- # c\nc: 3\n");
    }

    #[test]
    fn leading_comments_and_directives_stay_with_their_document() {
        let chunks = split_documents("# header\n%YAML 1.2\n---\nkind: Pod\n");
        assert_eq!(chunks.len(), 1);
    }

    #[test]
    fn a_broken_document_does_not_hide_the_next() {
        let f = load("kind: Pod\nmetadata: {name: a\n---\nkind: Pod\nmetadata: {name: b}\n");
        assert_eq!(f.errors.len(), 1);
        assert_eq!(f.errors[0].pos.map(|p| p.line), Some(3));
        assert_eq!(f.objects.len(), 1);
        assert_eq!(f.objects[0].name.as_deref(), Some("b"));
    }

    #[test]
    fn lists_bom_crlf_and_flow_style() {
        let f = load(
            "\u{feff}apiVersion: v1\r\nkind: List\r\nitems:\r\n- {kind: Namespace, apiVersion: v1, metadata: {name: a}}\r\n- kind: ConfigMap\r\n  apiVersion: v1\r\n  metadata:\r\n    name: c\r\n    namespace: 'b'\r\n",
        );
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        assert_eq!(f.objects.len(), 2);
        assert_eq!(f.objects[1].namespace.as_deref(), Some("b"));
        assert_eq!(f.objects[1].span.start.line, 5);
        assert!(f.objects[0].body.is_some() && f.objects[1].body.is_none());
    }

    #[test]
    fn workloads_keep_labels_host_network_and_service_account_only() {
        let f = load(
            "kind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 2\n  template:\n    metadata: {labels: {app: a}}\n    spec:\n      hostNetwork: true\n      serviceAccountName: batch\n      serviceAccount: old\n      containers: [{name: c, image: i}]\n",
        );
        let body = f.objects[0].body.as_ref().unwrap();
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
        let f = load(
            "kind: CronJob\nmetadata: {name: c}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec: {serviceAccountName: cron, containers: []}\n",
        );
        let pod = ["spec", "jobTemplate", "spec", "template", "spec"]
            .iter()
            .try_fold(f.objects[0].body.as_ref().unwrap(), |n, k| n.get(k))
            .unwrap();
        assert!(pod.get("serviceAccountName").is_some() && pod.get("containers").is_none());
    }

    #[test]
    fn json_documents() {
        let f = load(
            "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"x\"}}",
        );
        assert_eq!(f.objects[0].name.as_deref(), Some("x"));
    }

    #[test]
    fn non_kubernetes_documents_are_ignored() {
        let f = load("replicaCount: 1\nimage: {tag: x}\n---\n# just a comment\n---\n[1, 2]\n---\n");
        assert!(f.objects.is_empty() && f.errors.is_empty());
    }

    #[test]
    fn binary_and_invalid_utf8_are_errors() {
        let f = load_stream("b.yaml", b"kind: Pod\n\x00\x01");
        assert!(f.errors[0].message.contains("binary"));
        let f = load_stream("u.yaml", b"kind: Pod\nmetadata: {name: \xff}\n");
        assert_eq!(f.errors[0].message, "invalid UTF-8");
        assert_eq!(
            f.errors[0].pos,
            Some(Pos {
                line: 2,
                column: 18
            })
        );
    }
}
