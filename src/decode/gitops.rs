//! GitOps controller objects that decide where other manifests land: Flux Kustomizations and
//! Argo CD Applications, decoded from their trees; and the controller kinds imds-lint lists as
//! "not evaluated" (Helm releases, OCI sources, ApplicationSets).

use crate::source::yaml::{Node, Scalar, Span};

/// The controller objects [`decode`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplierKind {
    /// `kustomize.toolkit.fluxcd.io` Kustomization.
    FluxKustomization,
    /// `argoproj.io` Application.
    ArgoApplication,
}

/// Controller objects whose manifests imds-lint does not follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControllerKind {
    FluxHelmRelease,
    FluxOciRepository,
    ArgoApplicationSet,
}

impl ControllerKind {
    /// Why objects of this kind are listed as not evaluated.
    pub fn unevaluated_reason(self) -> &'static str {
        match self {
            ControllerKind::FluxHelmRelease => "Flux HelmRelease: the chart is not rendered",
            ControllerKind::FluxOciRepository => {
                "Flux OCIRepository: remote artifacts are not fetched"
            }
            ControllerKind::ArgoApplicationSet => {
                "Argo CD ApplicationSet: generators are not expanded"
            }
        }
    }
}

/// A controller object that builds manifests of this repository into a cluster.
#[derive(Debug, Clone, PartialEq)]
pub enum Applier {
    Flux(FluxKustomization),
    Argo(ArgoApplication),
}

/// A value as written in a controller object, with its node's place (`span.file` is `None`:
/// the controller object's own file).
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub span: Span,
}

/// One `key: value` entry of a string map (labels, annotations, variables).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub key_span: Span,
    pub value_span: Span,
}

/// Something that may change what a controller applies and that imds-lint cannot read or
/// apply: a field of the wrong type, a source that is not in the repository, a substitution it
/// cannot evaluate. The verdicts it can reach are uncertain.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    pub span: Span,
    pub message: String,
}

/// `kustomize.toolkit.fluxcd.io` Kustomization.
#[derive(Debug, Clone, PartialEq)]
pub struct FluxKustomization {
    /// `spec.path`, relative to the source's root; `None` is the root itself.
    pub path: Option<String>,
    pub target_namespace: Option<String>,
    /// `spec.sourceRef` as `Kind/name`, when it is not this repository.
    pub foreign_source: Option<String>,
    /// What it does to the objects it builds (boxed: most repositories hold few).
    pub transform: Box<FluxTransform>,
    /// `spec.dependsOn`: the Kustomizations Flux applies first, as (namespace, name); a `None`
    /// namespace is this Kustomization's own.
    pub depends_on: Vec<(Option<String>, String)>,
}

/// What a Flux Kustomization does to the objects kustomize builds from its path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FluxTransform {
    /// `spec.patches` as written: a list in the shape of a kustomization's `patches`.
    pub patches: Option<Node>,
    /// `spec.components`: paths relative to `spec.path`.
    pub components: Vec<Located<String>>,
    /// `spec.commonMetadata.labels` and `.annotations`: set on every object of the build.
    pub common_labels: Vec<Entry>,
    pub common_annotations: Vec<Entry>,
    pub name_prefix: Option<Located<String>>,
    pub name_suffix: Option<Located<String>>,
    /// `spec.postBuild.substitute`: variable name and value.
    pub substitute: Vec<Entry>,
    /// `spec.postBuild.substituteFrom`, in order (a later source overrides an earlier one).
    pub substitute_from: Vec<SubstituteFrom>,
    /// Fields above that hold what Flux cannot read (the API server refuses the object).
    pub unreadable: Vec<Reason>,
}

/// Where a Flux Kustomization's post-build variables come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    ConfigMap,
    Secret,
}

/// One `spec.postBuild.substituteFrom` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct SubstituteFrom {
    pub kind: SourceKind,
    pub name: String,
    /// `optional: true`: Flux tolerates the object's absence.
    pub optional: bool,
    /// The entry.
    pub span: Span,
}

/// `argoproj.io` Application.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgoApplication {
    pub sources: Vec<ArgoSource>,
    /// `spec.destination.name`, else `spec.destination.server`.
    pub cluster: Option<String>,
    /// `spec.destination.namespace`: the namespace of objects that set none.
    pub namespace: Option<String>,
    /// `spec.syncPolicy.managedNamespaceMetadata.labels` and `.annotations`, only when
    /// `spec.syncPolicy.syncOptions` holds `CreateNamespace=true` (Argo CD ignores them
    /// otherwise): put on the destination namespace Argo CD creates.
    pub managed_namespace_labels: Vec<Entry>,
    pub managed_namespace_annotations: Vec<Entry>,
    /// Fields above (and of the sources) that hold what Argo CD cannot read.
    pub unreadable: Vec<Reason>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArgoSource {
    pub repo_url: String,
    pub path: Option<String>,
    /// `chart:` (a chart from a Helm repository) or a `helm:` section.
    pub helm: bool,
    /// A `ref:`-only source: values for another source, no manifests of its own.
    pub values_only: bool,
    /// `directory.recurse`.
    pub recurse: bool,
    /// `kustomize.namespace`: overrides the namespace of everything the kustomization builds.
    pub kustomize_namespace: Option<String>,
    /// `directory.include` and `directory.exclude`: glob patterns over the paths of the
    /// manifests, relative to the source's path.
    pub include: Option<Located<String>>,
    pub exclude: Option<Located<String>>,
    /// The rest of `kustomize:`.
    pub kustomize: ArgoKustomize,
}

/// What an Argo CD source's `kustomize:` adds to the kustomization it builds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArgoKustomize {
    pub name_prefix: Option<Located<String>>,
    pub name_suffix: Option<Located<String>>,
    pub common_labels: Vec<Entry>,
    pub common_annotations: Vec<Entry>,
    /// `patches` as written, in the shape of a kustomization's `patches`.
    pub patches: Option<Node>,
    /// `components`: paths relative to the source's path.
    pub components: Vec<Located<String>>,
}

fn text(node: Option<&Node>) -> Option<String> {
    node.and_then(Node::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Reads the fields that change objects, keeping each with its place and every field of the
/// wrong type as a [`Reason`]. A null field is an absent one, as for the API server.
#[derive(Default)]
struct Reader {
    unreadable: Vec<Reason>,
}

impl Reader {
    fn wrong(&mut self, node: &Node, field: &str, expected: &str) {
        self.unreadable.push(Reason {
            span: node.span,
            message: format!(
                "{field}: expected {expected}, found {}: the API server refuses the object",
                node.type_name()
            ),
        });
    }

    /// The reasons, in the order of the text.
    fn in_order(mut self) -> Vec<Reason> {
        self.unreadable.sort_by_key(|r| r.span.start);
        self.unreadable
    }

    /// The node of a field that is there and not null.
    fn present(node: Option<&Node>) -> Option<&Node> {
        node.filter(|n| !n.is_null())
    }

    fn string(&mut self, node: Option<&Node>, field: &str) -> Option<Located<String>> {
        let node = Self::present(node)?;
        match node.as_str() {
            Some(value) => Some(Located {
                value: value.to_string(),
                span: node.span,
            }),
            None => {
                self.wrong(node, field, "a string");
                None
            }
        }
    }

    fn string_list(&mut self, node: Option<&Node>, field: &str) -> Vec<Located<String>> {
        let Some(items) = self.list(node, field) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.as_seq().unwrap_or_default() {
            match item.as_str() {
                Some(value) => out.push(Located {
                    value: value.to_string(),
                    span: item.span,
                }),
                None => self.wrong(item, &format!("{field}[]"), "a string"),
            }
        }
        out
    }

    fn string_map(&mut self, node: Option<&Node>, field: &str) -> Vec<Entry> {
        let Some(node) = Self::present(node) else {
            return Vec::new();
        };
        let Some(entries) = node.as_map() else {
            self.wrong(node, field, "a mapping");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in entries {
            let Some(name) = key.key_text() else {
                self.wrong(key, field, "string keys");
                continue;
            };
            match value.as_str() {
                Some(text) => out.push(Entry {
                    key: name.to_string(),
                    value: text.to_string(),
                    key_span: key.span,
                    value_span: value.span,
                }),
                None => self.wrong(value, &format!("{field}.{name}"), "a string"),
            }
        }
        out
    }

    /// A list field, kept whole.
    fn list(&mut self, node: Option<&Node>, field: &str) -> Option<Node> {
        let node = Self::present(node)?;
        if node.as_seq().is_none() {
            self.wrong(node, field, "a list");
            return None;
        }
        Some(node.clone())
    }

    fn mapping<'a>(&mut self, node: Option<&'a Node>, field: &str) -> Option<&'a Node> {
        let node = Self::present(node)?;
        if node.as_map().is_none() {
            self.wrong(node, field, "a mapping");
            return None;
        }
        Some(node)
    }

    fn substitute_from(&mut self, node: Option<&Node>) -> Vec<SubstituteFrom> {
        const FIELD: &str = "spec.postBuild.substituteFrom";
        let Some(list) = self.list(node, FIELD) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in list.as_seq().unwrap_or_default() {
            if self.mapping(Some(item), &format!("{FIELD}[]")).is_none() {
                continue;
            }
            let kind = self.string(item.get("kind"), &format!("{FIELD}[].kind"));
            let kind = match kind.as_ref().map(|k| k.value.as_str()) {
                Some("ConfigMap") => SourceKind::ConfigMap,
                Some("Secret") => SourceKind::Secret,
                _ => {
                    self.unreadable.push(Reason {
                        span: kind.map_or(item.span, |k| k.span),
                        message: format!(
                            "{FIELD}[].kind: must be ConfigMap or Secret: the API server refuses the object"
                        ),
                    });
                    continue;
                }
            };
            let Some(name) = self.string(item.get("name"), &format!("{FIELD}[].name")) else {
                self.unreadable.push(Reason {
                    span: item.span,
                    message: format!(
                        "{FIELD}[].name is required: the API server refuses the object"
                    ),
                });
                continue;
            };
            let optional = match Self::present(item.get("optional")) {
                None => false,
                Some(node) => match node.scalar() {
                    Some(Scalar::Bool(b)) => b,
                    _ => {
                        self.wrong(node, &format!("{FIELD}[].optional"), "a boolean");
                        false
                    }
                },
            };
            out.push(SubstituteFrom {
                kind,
                name: name.value,
                optional,
                span: item.span,
            });
        }
        out
    }
}

/// Decodes a Flux Kustomization or Argo CD Application.
pub fn decode(kind: ApplierKind, body: &Node) -> Applier {
    let spec = body.get("spec");
    match kind {
        ApplierKind::FluxKustomization => Applier::Flux(decode_flux(spec)),
        ApplierKind::ArgoApplication => Applier::Argo(decode_argo(spec)),
    }
}

fn decode_flux(spec: Option<&Node>) -> FluxKustomization {
    let field = |key: &str| text(spec.and_then(|s| s.get(key)));
    let at = |key: &str| spec.and_then(|s| s.get(key));
    let source = spec.and_then(|s| s.get("sourceRef"));
    let source_kind = text(source.and_then(|s| s.get("kind"))).unwrap_or_default();
    let source_name = text(source.and_then(|s| s.get("name"))).unwrap_or_default();
    // `flux bootstrap` names the GitRepository of the repository it bootstraps flux-system.
    let foreign_source = (source_kind != "GitRepository" || source_name != "flux-system")
        .then(|| format!("{source_kind}/{source_name}"));
    let mut r = Reader::default();
    let metadata = r.mapping(at("commonMetadata"), "spec.commonMetadata");
    let post_build = r.mapping(at("postBuild"), "spec.postBuild");
    FluxKustomization {
        path: field("path"),
        target_namespace: field("targetNamespace"),
        foreign_source,
        depends_on: spec
            .and_then(|s| s.get("dependsOn"))
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(|d| Some((text(d.get("namespace")), text(d.get("name"))?)))
            .collect(),
        transform: Box::new(FluxTransform {
            patches: r.list(at("patches"), "spec.patches"),
            components: r.string_list(at("components"), "spec.components"),
            common_labels: r.string_map(
                metadata.and_then(|m| m.get("labels")),
                "spec.commonMetadata.labels",
            ),
            common_annotations: r.string_map(
                metadata.and_then(|m| m.get("annotations")),
                "spec.commonMetadata.annotations",
            ),
            name_prefix: r.string(at("namePrefix"), "spec.namePrefix"),
            name_suffix: r.string(at("nameSuffix"), "spec.nameSuffix"),
            substitute: r.string_map(
                post_build.and_then(|p| p.get("substitute")),
                "spec.postBuild.substitute",
            ),
            substitute_from: r.substitute_from(post_build.and_then(|p| p.get("substituteFrom"))),
            unreadable: r.in_order(),
        }),
    }
}

fn decode_argo(spec: Option<&Node>) -> ArgoApplication {
    let mut r = Reader::default();
    let destination = spec.and_then(|s| s.get("destination"));
    let single = spec.and_then(|s| s.get("source")).into_iter();
    let many = spec
        .and_then(|s| s.get("sources"))
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter();
    let sources = single
        .chain(many)
        .filter(|s| s.as_map().is_some())
        .map(|s| {
            let directory = r.mapping(s.get("directory"), "source.directory");
            let kustomize = r.mapping(s.get("kustomize"), "source.kustomize");
            let k = |key: &str| kustomize.and_then(|k| k.get(key));
            ArgoSource {
                repo_url: text(s.get("repoURL")).unwrap_or_default(),
                path: text(s.get("path")),
                helm: s.get("chart").is_some() || s.get("helm").is_some(),
                values_only: s.get("ref").is_some() && s.get("path").is_none(),
                recurse: directory
                    .and_then(|d| d.get("recurse"))
                    .and_then(|r| r.scalar())
                    .is_some_and(|r| r == Scalar::Bool(true)),
                kustomize_namespace: text(k("namespace")),
                include: r.string(
                    directory.and_then(|d| d.get("include")),
                    "source.directory.include",
                ),
                exclude: r.string(
                    directory.and_then(|d| d.get("exclude")),
                    "source.directory.exclude",
                ),
                kustomize: ArgoKustomize {
                    name_prefix: r.string(k("namePrefix"), "source.kustomize.namePrefix"),
                    name_suffix: r.string(k("nameSuffix"), "source.kustomize.nameSuffix"),
                    common_labels: r.string_map(k("commonLabels"), "source.kustomize.commonLabels"),
                    common_annotations: r
                        .string_map(k("commonAnnotations"), "source.kustomize.commonAnnotations"),
                    patches: r.list(k("patches"), "source.kustomize.patches"),
                    components: r.string_list(k("components"), "source.kustomize.components"),
                },
            }
        })
        .collect();
    let sync = r.mapping(spec.and_then(|s| s.get("syncPolicy")), "spec.syncPolicy");
    let options = r.string_list(
        sync.and_then(|s| s.get("syncOptions")),
        "spec.syncPolicy.syncOptions",
    );
    // Argo CD compares each option as a whole string.
    let creates_namespace = options.iter().any(|o| o.value == "CreateNamespace=true");
    let managed = r.mapping(
        sync.and_then(|s| s.get("managedNamespaceMetadata")),
        "spec.syncPolicy.managedNamespaceMetadata",
    );
    let (labels, annotations) = if creates_namespace {
        (
            r.string_map(
                managed.and_then(|m| m.get("labels")),
                "spec.syncPolicy.managedNamespaceMetadata.labels",
            ),
            r.string_map(
                managed.and_then(|m| m.get("annotations")),
                "spec.syncPolicy.managedNamespaceMetadata.annotations",
            ),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    ArgoApplication {
        sources,
        cluster: text(destination.and_then(|d| d.get("name")))
            .or_else(|| text(destination.and_then(|d| d.get("server")))),
        namespace: text(destination.and_then(|d| d.get("namespace"))),
        managed_namespace_labels: labels,
        managed_namespace_annotations: annotations,
        unreadable: r.in_order(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::load::load_stream;

    fn decoded(text: &str) -> Option<Applier> {
        let mut file = load_stream("t.yaml", text.as_bytes(), &crate::decode::object::keep);
        let object = crate::decode::object::file_objects(&mut file)
            .into_iter()
            .next()?;
        match object.decoded {
            crate::decode::Decoded::Applier(applier) => Some(*applier),
            _ => None,
        }
    }

    #[test]
    fn flux_source_is_this_repository_only_through_flux_system() {
        let ours = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: a}\nspec:\n  path: ./apps\n  targetNamespace: web\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
        let Some(Applier::Flux(k)) = decoded(ours) else {
            panic!("a Flux Kustomization")
        };
        assert_eq!(k.path.as_deref(), Some("./apps"));
        assert_eq!(k.target_namespace.as_deref(), Some("web"));
        assert_eq!(k.foreign_source, None);
        let theirs = ours.replace("name: flux-system", "name: podinfo");
        let Some(Applier::Flux(k)) = decoded(&theirs) else {
            panic!("a Flux Kustomization")
        };
        assert_eq!(k.foreign_source.as_deref(), Some("GitRepository/podinfo"));
    }

    #[test]
    fn argo_sources_and_destination() {
        let app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\nspec:\n  sources:\n    - {repoURL: 'https://charts.example', chart: x}\n    - {repoURL: 'https://git.example/r', ref: values}\n    - repoURL: https://git.example/r\n      path: apps\n      directory: {recurse: true}\n      kustomize: {namespace: forced}\n  destination: {server: 'https://kubernetes.default.svc', namespace: web}\n";
        let Some(Applier::Argo(app)) = decoded(app) else {
            panic!("an Application")
        };
        assert_eq!(
            app.cluster.as_deref(),
            Some("https://kubernetes.default.svc")
        );
        assert_eq!(app.namespace.as_deref(), Some("web"));
        let kinds: Vec<(bool, bool, bool)> = app
            .sources
            .iter()
            .map(|s| (s.helm, s.values_only, s.recurse))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (true, false, false),
                (false, true, false),
                (false, false, true)
            ]
        );
        assert_eq!(
            app.sources[2].kustomize_namespace.as_deref(),
            Some("forced")
        );
    }

    #[test]
    fn odd_shapes_decode_to_defaults() {
        for text in [
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec: [1, 2]\n",
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec: {path: 3, sourceRef: x}\n",
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nspec: {sources: x, source: 1, destination: []}\n",
        ] {
            match decoded(text) {
                Some(Applier::Argo(app)) => {
                    assert!(app.sources.is_empty() && app.cluster.is_none())
                }
                Some(Applier::Flux(k)) => assert!(k.path.is_none() && k.foreign_source.is_some()),
                None => panic!("{text}"),
            }
        }
        assert_eq!(
            decoded("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n"),
            None
        );
    }
    fn flux(text: &str) -> FluxKustomization {
        match decoded(text) {
            Some(Applier::Flux(k)) => k,
            other => panic!("a Flux Kustomization: {other:?}"),
        }
    }

    fn argo(text: &str) -> ArgoApplication {
        match decoded(text) {
            Some(Applier::Argo(app)) => app,
            other => panic!("an Application: {other:?}"),
        }
    }

    const FLUX_HEAD: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: a}\nspec:\n";

    #[test]
    fn flux_depends_on_names_kustomizations() {
        let k = flux(&format!(
            "{FLUX_HEAD}  dependsOn:\n    - name: infra\n    - {{name: crds, namespace: other}}\n    - {{namespace: x}}\n    - 7\n"
        ));
        assert_eq!(
            k.depends_on,
            [
                (None, "infra".into()),
                (Some("other".into()), "crds".into())
            ]
        );
    }

    #[test]
    fn flux_transformations_decode_with_their_places() {
        let k = *flux(&format!(
            "{FLUX_HEAD}  path: ./apps\n  namePrefix: p-\n  nameSuffix: -s\n  components: [../ingress]\n  commonMetadata:\n    labels: {{team: web}}\n    annotations: {{note: x}}\n  patches:\n    - patch: |\n        - op: remove\n          path: /spec/egress\n      target: {{kind: NetworkPolicy}}\n  postBuild:\n    substitute:\n      ALLOWED_CIDR: 169.254.0.0/16\n    substituteFrom:\n      - {{kind: ConfigMap, name: vars}}\n      - {{kind: Secret, name: secret-vars, optional: true}}\n"
        )).transform;
        assert_eq!(k.unreadable, vec![]);
        assert_eq!(
            k.name_prefix
                .as_ref()
                .map(|p| (p.value.as_str(), p.span.start.line)),
            Some(("p-", 6))
        );
        assert_eq!(k.name_suffix.map(|p| p.value), Some("-s".into()));
        assert_eq!(
            k.components
                .iter()
                .map(|c| c.value.as_str())
                .collect::<Vec<_>>(),
            ["../ingress"]
        );
        let label = &k.common_labels[0];
        assert_eq!(
            (
                label.key.as_str(),
                label.value.as_str(),
                label.key_span.start.line
            ),
            ("team", "web", 10)
        );
        assert_eq!(k.common_annotations[0].key, "note");
        let patches = k.patches.expect("patches kept");
        assert_eq!(patches.span.start.line, 13);
        assert!(patches.as_seq().unwrap()[0].get("target").is_some());
        let var = &k.substitute[0];
        assert_eq!(
            (var.key.as_str(), var.value.as_str()),
            ("ALLOWED_CIDR", "169.254.0.0/16")
        );
        assert_eq!(
            (var.value_span.start.line, var.value_span.start.column),
            (19, 21)
        );
        assert_eq!(
            k.substitute_from
                .iter()
                .map(|s| (s.kind, s.name.as_str(), s.optional, s.span.start.line))
                .collect::<Vec<_>>(),
            [
                (SourceKind::ConfigMap, "vars", false, 21),
                (SourceKind::Secret, "secret-vars", true, 22)
            ]
        );
    }

    #[test]
    fn flux_fields_of_the_wrong_type_are_kept_as_reasons() {
        let k = *flux(&format!(
            "{FLUX_HEAD}  namePrefix: 3\n  patches: {{a: b}}\n  components: [1]\n  commonMetadata:\n    labels: {{enabled: true}}\n  postBuild:\n    substitute: [x]\n    substituteFrom:\n      - {{kind: Pod, name: x}}\n      - {{kind: Secret}}\n      - {{kind: ConfigMap, name: vars, optional: maybe}}\n      - 7\n"
        )).transform;
        let lines: Vec<u32> = k.unreadable.iter().map(|r| r.span.start.line).collect();
        assert_eq!(
            lines,
            [5, 6, 7, 9, 11, 13, 14, 15, 16],
            "{:?}",
            k.unreadable
        );
        assert!(
            k.unreadable[0]
                .message
                .contains("spec.namePrefix: expected a string, found an integer")
        );
        assert!(
            k.unreadable[5]
                .message
                .contains("must be ConfigMap or Secret")
        );
        assert!(k.name_prefix.is_none() && k.patches.is_none() && k.components.is_empty());
        assert!(k.common_labels.is_empty() && k.substitute.is_empty());
        // The entry with an unreadable `optional` still names its source, as not optional.
        assert_eq!(k.substitute_from.len(), 1);
        assert!(!k.substitute_from[0].optional);
        // Null is absent, not wrong.
        let k = *flux(&format!(
            "{FLUX_HEAD}  patches: null\n  postBuild: ~\n  namePrefix:\n"
        ))
        .transform;
        assert_eq!(k.unreadable, vec![]);
    }

    const ARGO_HEAD: &str =
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\nspec:\n";

    #[test]
    fn argo_directory_kustomize_and_managed_namespace_metadata() {
        let app = argo(&format!(
            "{ARGO_HEAD}  source:\n    repoURL: https://git.example/r\n    path: apps\n    directory:\n      include: '*.yaml'\n      exclude: '{{deny.yaml,old/*}}'\n    kustomize:\n      namePrefix: a-\n      nameSuffix: -z\n      commonLabels: {{team: web}}\n      commonAnnotations: {{note: x}}\n      components: [../c]\n      patches:\n        - path: p.yaml\n  syncPolicy:\n    syncOptions: [Validate=false, CreateNamespace=true]\n    managedNamespaceMetadata:\n      labels: {{env: prod}}\n      annotations: {{owner: me}}\n"
        ));
        assert_eq!(app.unreadable, vec![]);
        let source = &app.sources[0];
        assert_eq!(
            source
                .include
                .as_ref()
                .map(|i| (i.value.as_str(), i.span.start.line)),
            Some(("*.yaml", 9))
        );
        assert_eq!(
            source.exclude.as_ref().map(|e| e.value.as_str()),
            Some("{deny.yaml,old/*}")
        );
        let k = &source.kustomize;
        assert_eq!(k.name_prefix.as_ref().map(|p| p.value.as_str()), Some("a-"));
        assert_eq!(k.name_suffix.as_ref().map(|p| p.value.as_str()), Some("-z"));
        assert_eq!(
            (
                k.common_labels[0].key.as_str(),
                k.common_labels[0].value.as_str()
            ),
            ("team", "web")
        );
        assert_eq!(k.common_annotations[0].value, "x");
        assert_eq!(k.components[0].value, "../c");
        assert_eq!(k.patches.as_ref().map(|p| p.span.start.line), Some(18));
        assert_eq!(
            app.managed_namespace_labels
                .iter()
                .map(|e| (e.key.as_str(), e.value.as_str(), e.key_span.start.line))
                .collect::<Vec<_>>(),
            [("env", "prod", 22)]
        );
        assert_eq!(app.managed_namespace_annotations[0].key, "owner");
    }

    #[test]
    fn argo_managed_namespace_metadata_needs_create_namespace() {
        for options in ["[]", "[CreateNamespace=false]", "['CreateNamespace=true ']"] {
            let app = argo(&format!(
                "{ARGO_HEAD}  syncPolicy:\n    syncOptions: {options}\n    managedNamespaceMetadata:\n      labels: {{env: prod}}\n"
            ));
            assert!(app.managed_namespace_labels.is_empty(), "{options}");
        }
    }

    #[test]
    fn argo_fields_of_the_wrong_type_are_kept_as_reasons() {
        let app = argo(&format!(
            "{ARGO_HEAD}  source:\n    repoURL: r\n    directory: {{include: [a], exclude: 1}}\n    kustomize: {{patches: x, commonLabels: [a]}}\n  syncPolicy:\n    syncOptions: [CreateNamespace=true]\n    managedNamespaceMetadata: {{labels: {{a: 1}}}}\n"
        ));
        let found: Vec<(u32, &str)> = app
            .unreadable
            .iter()
            .map(|r| (r.span.start.line, r.message.split(':').next().unwrap()))
            .collect();
        assert_eq!(
            found,
            [
                (7, "source.directory.include"),
                (7, "source.directory.exclude"),
                (8, "source.kustomize.patches"),
                (8, "source.kustomize.commonLabels"),
                (11, "spec.syncPolicy.managedNamespaceMetadata.labels.a"),
            ]
        );
        assert!(app.sources[0].include.is_none() && app.sources[0].kustomize.patches.is_none());
    }
}
