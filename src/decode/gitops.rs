//! GitOps controller objects that decide where other manifests land: Flux Kustomizations and
//! Argo CD Applications, decoded from their trees; and the controller kinds imds-lint lists as
//! "not evaluated" (Helm releases, OCI sources, ApplicationSets).

use crate::source::yaml::Node;

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

/// `kustomize.toolkit.fluxcd.io` Kustomization.
#[derive(Debug, Clone, PartialEq)]
pub struct FluxKustomization {
    /// `spec.path`, relative to the source's root; `None` is the root itself.
    pub path: Option<String>,
    pub target_namespace: Option<String>,
    /// `spec.sourceRef` as `Kind/name`, when it is not this repository.
    pub foreign_source: Option<String>,
}

/// `argoproj.io` Application.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgoApplication {
    pub sources: Vec<ArgoSource>,
    /// `spec.destination.name`, else `spec.destination.server`.
    pub cluster: Option<String>,
    /// `spec.destination.namespace`: the namespace of objects that set none.
    pub namespace: Option<String>,
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
}

fn text(node: Option<&Node>) -> Option<String> {
    node.and_then(Node::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
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
    let source = spec.and_then(|s| s.get("sourceRef"));
    let source_kind = text(source.and_then(|s| s.get("kind"))).unwrap_or_default();
    let source_name = text(source.and_then(|s| s.get("name"))).unwrap_or_default();
    // `flux bootstrap` names the GitRepository of the repository it bootstraps flux-system.
    let foreign_source = (source_kind != "GitRepository" || source_name != "flux-system")
        .then(|| format!("{source_kind}/{source_name}"));
    FluxKustomization {
        path: field("path"),
        target_namespace: field("targetNamespace"),
        foreign_source,
    }
}

fn decode_argo(spec: Option<&Node>) -> ArgoApplication {
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
        .map(|s| ArgoSource {
            repo_url: text(s.get("repoURL")).unwrap_or_default(),
            path: text(s.get("path")),
            helm: s.get("chart").is_some() || s.get("helm").is_some(),
            values_only: s.get("ref").is_some() && s.get("path").is_none(),
            recurse: s
                .get("directory")
                .and_then(|d| d.get("recurse"))
                .and_then(|r| r.scalar())
                .is_some_and(|r| r == crate::source::yaml::Scalar::Bool(true)),
            kustomize_namespace: text(s.get("kustomize").and_then(|k| k.get("namespace"))),
        })
        .collect();
    ArgoApplication {
        sources,
        cluster: text(destination.and_then(|d| d.get("name")))
            .or_else(|| text(destination.and_then(|d| d.get("server")))),
        namespace: text(destination.and_then(|d| d.get("namespace"))),
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
            crate::decode::Decoded::Applier(applier) => Some(applier),
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
}
