//! imds-lint: can any pod reach the cloud instance metadata service?
//!
//! The pipeline, one folder per stage, data flowing one way (no stage imports a later one):
//! [`source`] → [`decode`] → [`topology`] → [`model`] → [`analyze`] → [`lint`](mod@lint) → [`report`].
//! [`net`] is the address and port arithmetic every stage shares; [`config`], [`fix`] and
//! [`cli`] drive the pipeline from outside.

/// 1. Files to positioned YAML trees.
pub mod source;
/// 2. Trees to objects: each one's `Kind`, and what the analysis reads of it.
pub mod decode;
/// 3. Where each object lands after kustomize and the GitOps controllers.
pub mod topology;
/// 4. Namespaces, policies and workloads with typed ids.
pub mod model;
/// 5. Verdicts: which pods can reach which metadata endpoint, and why.
pub mod analyze;
/// 6. Rules, settings and suppressions: findings.
pub mod lint;
/// 7. Every word a person reads, in every format.
pub mod report;

pub mod net;

pub mod cli;
pub mod config;
pub mod fix;

use decode::object::Object;
use lint::{Finding, Severity};
use net::Target;
use rayon::prelude::*;
use source::discover::{self, DiscoverError, DiscoverOptions, Skipped, SourcePath, WalkError};
use source::load::{self, LoadError, LoadedFile};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where manifests come from.
pub enum Input {
    Path(PathBuf),
    /// A stream already read (standard input), with the name used in messages.
    Stream {
        name: String,
        bytes: Vec<u8>,
    },
}

pub struct LintOptions {
    pub inputs: Vec<Input>,
    pub excludes: Vec<String>,
    pub default_namespace: String,
    pub targets: Vec<Target>,
    /// Restrict the run to this cluster (as named in the JSON `cluster` field).
    pub cluster: Option<String>,
    /// The clusters the configuration names by path.
    pub cluster_map: topology::ClusterMap,
    /// Rule switches and severities, ignored namespaces, what fails the run.
    pub settings: lint::settings::Settings,
}

/// Everything one run found, ready for a report.
pub struct Outcome {
    pub files: Vec<LoadedFile>,
    pub model: model::Model,
    pub analysis: analyze::Analysis,
    pub findings: Vec<Finding>,
    /// Findings an `imds-lint.io/ignore` annotation suppressed: not in `findings`, not failing.
    pub suppressed: Vec<lint::suppress::Suppressed>,
    /// Namespaces the settings ignore (they get no findings), sorted.
    pub ignored_namespaces: Vec<String>,
    pub fail_on: lint::settings::FailOn,
    pub errors: Vec<LoadError>,
    pub skipped: Vec<Skipped>,
    pub notes: Vec<String>,
    /// Kubernetes objects read (a `List`'s items each count): none means nothing was linted.
    pub manifests: usize,
    pub elapsed: Duration,
}

impl Outcome {
    /// True when every input was read and none held a Kubernetes object: an empty folder,
    /// everything excluded, a mistyped path, empty standard input.
    pub fn nothing_linted(&self) -> bool {
        self.errors.is_empty() && self.manifests == 0
    }

    /// 2 when some input could not be read or parsed or nothing was linted, else 1 when a
    /// finding is at the `fail_on` severity or above, else 0.
    pub fn exit_code(&self) -> i32 {
        let fails = |f: &Finding| match self.fail_on {
            lint::settings::FailOn::Error => f.severity == Severity::Error,
            lint::settings::FailOn::Warning => true,
            lint::settings::FailOn::Never => false,
        };
        if !self.errors.is_empty() || self.nothing_linted() {
            2
        } else if self.findings.iter().any(fails) {
            1
        } else {
            0
        }
    }
}

/// Why a run could not start: its options are unusable.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LintError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Discover(#[from] DiscoverError),
    #[error("no cluster {cluster:?}: this repository has no GitOps entry point")]
    NoGitOps { cluster: String },
    #[error("no cluster {cluster:?}; known clusters: {}", .known.join(", "))]
    UnknownCluster { cluster: String, known: Vec<String> },
}

/// Runs the whole pipeline. `Err` only for unusable options (such as a bad glob).
pub fn run(options: LintOptions) -> Result<Outcome, LintError> {
    let started = Instant::now();
    let Read {
        paths,
        discovered,
        files,
        objects,
    } = read(options.inputs, options.excludes)?;
    let manifests = objects.iter().map(Vec::len).sum();

    let resolution = topology::resolve(&files, &objects, &paths, &options.cluster_map);
    let mut model = model::build(&files, &objects, &resolution, &options.default_namespace);
    // The model has what the analysis reads: the objects need not outlive it.
    drop(objects);
    if let Some(asked) = &options.cluster {
        let cluster = known_cluster(&resolution.clusters, asked)?;
        model.retain_cluster(&cluster);
    }
    // The configuration file, so findings about its `ignore-namespaces` entries can point
    // there; not when the run is limited to one cluster (an entry may be for another).
    if options.cluster.is_none()
        && let Some(source) = &options.settings.source
        && !options.settings.ignore_namespaces.is_empty()
    {
        model.files.push(source.clone());
    }
    let analysis = analyze::analyze(&model, &options.targets);
    let mut notes = resolution.notes;
    notes.extend(model.undefined_tier_notes());
    let lint::Linted {
        findings,
        suppressed,
    } = lint::run(&lint::Context {
        model: &model,
        analysis: &analysis,
        settings: &options.settings,
    });
    let ignored_namespaces = ignored_namespaces(&model, &options.settings);
    let mut errors = input_errors(discovered.errors, &files);
    errors.extend(too_complex_errors(&model, &analysis));
    Ok(Outcome {
        files,
        model,
        analysis,
        findings,
        suppressed,
        ignored_namespaces,
        fail_on: options.settings.fail_on,
        errors,
        skipped: discovered.skipped,
        notes,
        manifests,
        elapsed: started.elapsed(),
    })
}

/// What `imds-lint render` reads: the lint's inputs and topology options.
pub struct RenderOptions {
    pub inputs: Vec<Input>,
    pub excludes: Vec<String>,
    pub default_namespace: String,
    /// Show only what lands in this cluster (as named in the JSON `cluster` field).
    pub cluster: Option<String>,
    /// The clusters the configuration names by path.
    pub cluster_map: topology::ClusterMap,
    /// Leave Flux Kustomizations and Argo CD Applications unapplied: every kustomization that
    /// no other builds is then built on its own, as `kubectl kustomize` builds it.
    pub no_controllers: bool,
}

/// The objects as imds-lint sees them after topology and transformations.
#[derive(Debug, Default)]
pub struct Rendered {
    /// One per object and way it lands, in file order, then object order, then way order.
    pub documents: Vec<RenderedDocument>,
    pub errors: Vec<LoadError>,
    pub skipped: Vec<Skipped>,
    /// What kustomize or a controller would follow that imds-lint does not, and controller
    /// objects whose sources are not built.
    pub notes: Vec<String>,
    /// Kubernetes objects read (a `List`'s items each count).
    pub manifests: usize,
}

/// One object as it lands one way.
#[derive(Debug, Clone)]
pub struct RenderedDocument {
    pub cluster: Option<String>,
    /// The file the object was read from, and the line it starts at.
    pub file: String,
    pub line: usize,
    /// The kustomize build that applies it (`kustomize DIR/kustomization.yaml`, or a Flux
    /// Kustomization), when one does.
    pub build: Option<String>,
    /// What changed the object on its way, one sentence each.
    pub transformations: Vec<String>,
    /// What the way does that imds-lint does not apply (so the object may land otherwise),
    /// with the file and line of each.
    pub not_applied: Vec<String>,
    pub tree: source::yaml::Node,
}

impl Rendered {
    /// True when every input was read and none held a Kubernetes object.
    pub fn nothing_linted(&self) -> bool {
        self.errors.is_empty() && self.manifests == 0
    }

    /// 2 when some input could not be read or parsed or nothing was read, else 0.
    pub fn exit_code(&self) -> i32 {
        if !self.errors.is_empty() || self.nothing_linted() {
            2
        } else {
            0
        }
    }
}

/// Renders what lands where: every object of every file, once per way it lands, with the
/// namespace the way gives it. `Err` only for unusable options.
pub fn render(options: RenderOptions) -> Result<Rendered, LintError> {
    let Read {
        paths,
        discovered,
        files,
        mut objects,
    } = read(options.inputs, options.excludes)?;
    let manifests = objects.iter().map(Vec::len).sum();
    if options.no_controllers {
        for object in objects.iter_mut().flatten() {
            if let decode::Decoded::Applier(_) = object.decoded {
                object.decoded = decode::Decoded::Other;
            }
        }
    }
    let resolution = topology::resolve(&files, &objects, &paths, &options.cluster_map);
    let cluster = match &options.cluster {
        Some(asked) => Some(known_cluster(&resolution.clusters, asked)?),
        None => None,
    };
    let context = placing::Context {
        files: &files,
        objects: &objects,
        default_namespace: &options.default_namespace,
    };
    let standalone = topology::Way::default();
    let mut errors = input_errors(discovered.errors, &files);
    let mut documents = Vec::new();
    for (index, landing) in resolution.landings.iter().enumerate() {
        let ways: Vec<&topology::Way> = match landing {
            topology::Landing::NotAResource => continue,
            topology::Landing::Standalone => vec![&standalone],
            topology::Landing::Built(ways) => ways.iter().collect(),
        };
        for way in ways {
            if objects[index].is_empty() || cluster.is_some() && way.cluster != cluster {
                continue;
            }
            let trees = resolution.render_trees(&files[index], way);
            if trees.len() != objects[index].len() {
                errors.push(LoadError {
                    file: files[index].display.clone(),
                    pos: None,
                    message: "changed while it was being read: render it again".into(),
                });
            }
            let unapplied = resolution
                .rendering(index, way)
                .map_or(&[][..], |r| r.unapplied.as_slice());
            documents.extend(context.rendered(index, way, trees, unapplied));
        }
    }
    errors.sort();
    errors.dedup();
    // Builds kustomize refuses for an object in them twice: the model tells them.
    let model = model::build(&files, &objects, &resolution, &options.default_namespace);
    let refused = model.duplicates.iter().filter_map(|d| {
        let build = d.refused.as_ref()?;
        Some(format!(
            "{}:{}: kustomize refuses the build of {}: {} {} is in it twice",
            model.files[d.second.file], d.second.line, build.name, d.id.kind, d.id.name
        ))
    });
    let mut notes: Vec<String> = refused.collect();
    notes.extend(resolution.notes);
    notes.extend(resolution.unfollowed.iter().map(|u| {
        let object = &objects[u.file][u.object];
        format!(
            "{}:{}: {} {} is not followed: {}",
            files[u.file].display,
            object.span.start.line,
            object.written_kind,
            object.name.as_deref().unwrap_or_default(),
            u.reason
        )
    }));
    Ok(Rendered {
        documents,
        errors,
        skipped: discovered.skipped,
        notes,
        manifests,
    })
}

/// What `render` shows of one way: the way's transformers applied by the topology
/// ([`topology::Resolution::render_trees`]), then the namespace the way gives each object, as
/// the model places it.
mod placing {
    use crate::RenderedDocument;
    use crate::decode::kind::{Kind, classify};
    use crate::decode::object::Object;
    use crate::source::load::LoadedFile;
    use crate::source::yaml::{FileRef, Node, Span};
    use crate::topology::render::{Applied, RenderedTree, Unapplied};
    use crate::topology::{BuildRoot, Way};

    pub(super) struct Context<'a> {
        pub(super) files: &'a [LoadedFile],
        pub(super) objects: &'a [Vec<Object>],
        pub(super) default_namespace: &'a str,
    }

    impl Context<'_> {
        /// The objects of file `file` as `way` lands them: `trees` after the way's
        /// transformers, then the namespace the way gives each.
        pub(super) fn rendered(
            &self,
            file: usize,
            way: &Way,
            trees: Vec<RenderedTree>,
            unapplied: &[Unapplied],
        ) -> Vec<RenderedDocument> {
            let not_applied: Vec<String> = unapplied
                .iter()
                .map(|u| {
                    let at = u.at.file.map_or(file, FileRef::index);
                    let display = self.files.get(at).map_or("?", |f| f.display.as_str());
                    format!("{} ({display}:{})", u.reason, u.at.start.line)
                })
                .collect();
            trees
                .into_iter()
                .enumerate()
                // A `$patch: delete` took it out of the build.
                .filter(|(_, rendered)| rendered.deleted_by.is_none())
                .map(
                    |(
                        index,
                        RenderedTree {
                            mut tree, applied, ..
                        },
                    )| {
                        // As first read: where it starts, and what it said before any change.
                        let first = self.objects[file].get(index);
                        let mut transformations: Vec<String> =
                            applied.iter().map(|a| self.describe(file, a)).collect();
                        transformations.extend(self.place(first, way, &mut tree));
                        RenderedDocument {
                            cluster: way.cluster.clone(),
                            file: self.files[file].display.clone(),
                            line: first.map_or(tree.span.start.line, |o| o.span.start.line)
                                as usize,
                            build: way.build.map(|b| self.build_name(b)),
                            transformations,
                            not_applied: not_applied.clone(),
                            tree,
                        }
                    },
                )
                .collect()
        }

        /// "labelled by k/kustomization.yaml:7".
        fn describe(&self, file: usize, applied: &Applied) -> String {
            let at = applied.at.file.map_or(file, FileRef::index);
            let display = self.files.get(at).map_or("?", |f| f.display.as_str());
            format!(
                "{} by {display}:{}",
                applied.change.participle(),
                applied.at.start.line
            )
        }

        /// Sets the namespace `way` gives the object (as the model places it), and renames a
        /// Namespace object to the namespace kustomize sets; says what changed since the
        /// object was first read (`first`).
        fn place(&self, first: Option<&Object>, way: &Way, tree: &mut Node) -> Vec<String> {
            let mut changes = Vec::new();
            let text = |tree: &Node, path: &[&str]| {
                path.iter()
                    .try_fold(tree, |n, k| n.get(k))
                    .and_then(Node::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            let kind = classify(
                &text(tree, &["kind"]).unwrap_or_default(),
                &text(tree, &["apiVersion"]).unwrap_or_default(),
            );
            let at = self.namespace_span(way).unwrap_or(tree.span);
            let own = text(tree, &["metadata", "namespace"]);
            let before = first.map_or(own.clone(), |o| o.namespace.as_deref().map(str::to_string));
            if kind.is_cluster_scoped() {
                if kind == Kind::Namespace
                    && let Some(forced) = &way.namespace
                {
                    let name = text(tree, &["metadata", "name"]);
                    if name.as_deref() != Some(forced) {
                        set_metadata(tree, "name", forced, at);
                    }
                    if first.and_then(|o| o.name.as_deref()) != Some(forced) {
                        changes.push(format!(
                            "name {forced}, renamed by {}: kustomize renames a Namespace \
                             object to the namespace it sets",
                            self.namespace_setter(way)
                        ));
                    }
                }
                return changes;
            }
            let (namespace, why) = match (&way.namespace, &own, &way.fallback_namespace) {
                (Some(forced), _, _) => (
                    forced.as_str(),
                    Some(format!("set by {}", self.namespace_setter(way))),
                ),
                (None, Some(own), _) => (own.as_str(), None),
                (None, None, Some(fallback)) => (
                    fallback.as_str(),
                    Some(
                        "from the Argo CD Application's destination.namespace (the object sets \
                         none)"
                            .to_string(),
                    ),
                ),
                (None, None, None) => (
                    self.default_namespace,
                    Some("the default namespace (the object sets none)".to_string()),
                ),
            };
            if own.as_deref() != Some(namespace) {
                set_metadata(tree, "namespace", namespace, at);
            }
            if before.as_deref() != Some(namespace)
                && let Some(why) = why
            {
                changes.push(format!("namespace {namespace}, {why}"));
            }
            changes
        }

        /// Who sets the namespace a way forces: a kustomization's `namespace:`, or the
        /// controller or folder that builds it.
        fn namespace_setter(&self, way: &Way) -> String {
            if let Some(k) = way.namespace_from {
                let line = self.namespace_span(way).map_or(1, |s| s.start.line);
                return format!("namespace: in {}:{line}", self.files[k].display);
            }
            match way.build {
                Some(root @ BuildRoot::Flux { .. }) => {
                    format!("the targetNamespace of {}", self.build_name(root))
                }
                Some(BuildRoot::Kustomization(_)) => {
                    "the Argo CD Application's source.kustomize.namespace".to_string()
                }
                None => "its Config Sync namespace folder".to_string(),
            }
        }

        /// The `namespace:` value of the kustomization that sets the way's namespace.
        fn namespace_span(&self, way: &Way) -> Option<Span> {
            let k = way.namespace_from?;
            let value = self.files[k].kustomization.as_ref()?.get("namespace")?;
            Some(value.span.in_file(FileRef::new(k)))
        }

        fn build_name(&self, root: BuildRoot) -> String {
            match root {
                BuildRoot::Kustomization(k) => format!("kustomize {}", self.files[k].display),
                BuildRoot::Flux { file, object } => {
                    let flux = &self.objects[file][object];
                    format!(
                        "Flux Kustomization {} ({}:{})",
                        flux.name.as_deref().unwrap_or_default(),
                        self.files[file].display,
                        flux.span.start.line
                    )
                }
            }
        }
    }

    /// Sets `metadata.<key>` to `value`: in place when present, else after `name` (or last),
    /// making `metadata` when the object has none. An object that is no mapping is left.
    fn set_metadata(tree: &mut Node, key: &str, value: &str, at: Span) {
        let Some(entries) = tree.map_mut() else {
            return;
        };
        let metadata = match entries
            .iter_mut()
            .find(|(k, _)| k.key_text() == Some("metadata"))
        {
            Some((_, metadata)) => metadata,
            None => {
                let empty = Node::mapping(Vec::new(), at);
                entries.push((Node::string("metadata", at), empty));
                &mut entries.last_mut().expect("just pushed").1
            }
        };
        let Some(fields) = metadata.map_mut() else {
            return;
        };
        let new = Node::string(value, at);
        if let Some((_, old)) = fields.iter_mut().find(|(k, _)| k.key_text() == Some(key)) {
            *old = new;
            return;
        }
        let after = fields
            .iter()
            .position(|(k, _)| k.key_text() == Some("name"))
            .map_or(fields.len(), |i| i + 1);
        fields.insert(after, (Node::string(key, at), new));
    }
}

/// The inputs, read: the paths given, what the walk found under them, and each file with its
/// objects decoded.
struct Read {
    paths: Vec<PathBuf>,
    discovered: discover::Discovered,
    files: Vec<LoadedFile>,
    objects: Vec<Vec<Object>>,
}

/// Walks the paths of `inputs` (skipping `excludes`), then loads and decodes every file and
/// stream. `Err` for an unusable option (a bad glob).
fn read(inputs: Vec<Input>, excludes: Vec<String>) -> Result<Read, LintError> {
    let mut paths = Vec::new();
    let mut streams = Vec::new();
    for input in inputs {
        match input {
            Input::Path(p) => paths.push(p),
            Input::Stream { name, bytes } => {
                streams.push(load::load_stream(&name, &bytes, &decode::object::keep))
            }
        }
    }
    let discovered = if paths.is_empty() {
        discover::Discovered::default()
    } else {
        discover::discover(&paths, &DiscoverOptions { excludes })?
    };
    let (files, objects) = load_and_decode(&discovered.files, streams);
    Ok(Read {
        paths,
        discovered,
        files,
        objects,
    })
}

/// Loads and decodes the discovered files in parallel, file by file so trees never pile up
/// for the whole repository; then the streams already loaded.
fn load_and_decode(
    sources: &[SourcePath],
    streams: Vec<LoadedFile>,
) -> (Vec<LoadedFile>, Vec<Vec<Object>>) {
    let (mut files, mut objects): (Vec<LoadedFile>, Vec<Vec<Object>>) = sources
        .par_iter()
        .map(|source| {
            let mut decoding = decode::object::Decoding::default();
            let mut file = load::load_file_into(
                source,
                &decode::object::keep,
                Some(&mut |tree| decoding.tree(tree)),
            );
            let objects = decoding.finish(&mut file);
            (file, objects)
        })
        .unzip();
    for mut stream in streams {
        objects.push(decode::object::file_objects(&mut stream));
        files.push(stream);
    }
    (files, objects)
}

/// The cluster `asked` names among those the GitOps entry points name: the name itself, or a
/// path naming the cluster's folder (`./clusters/prod`, `clusters/prod/`, or a path from the
/// current directory to it, such as `repo/clusters/prod`), as Flux names a cluster by its path.
fn known_cluster(clusters: &BTreeSet<String>, asked: &str) -> Result<String, LintError> {
    // Argo CD's in-cluster by either of its names.
    let named = topology::cluster_name(asked);
    if clusters.contains(&named) {
        return Ok(named);
    }
    let lexical = discover::normalize(std::path::Path::new(asked));
    if let Some(name) = lexical.to_str()
        && clusters.contains(name)
    {
        return Ok(name.to_string());
    }
    // A folder on disk whose path ends with a cluster's: the longest such cluster.
    let cwd = std::env::current_dir().unwrap_or_default();
    let folder = discover::normalize(&cwd.join(asked));
    let by_folder = folder.is_dir().then(|| {
        clusters
            .iter()
            .filter(|c| folder.ends_with(c.as_str()))
            .max_by_key(|c| c.len())
    });
    if let Some(Some(name)) = by_folder {
        return Ok(name.clone());
    }
    let known: Vec<String> = clusters.iter().cloned().collect();
    let cluster = asked.to_string();
    Err(if known.is_empty() {
        LintError::NoGitOps { cluster }
    } else {
        LintError::UnknownCluster { cluster, known }
    })
}

/// The names of the model's namespaces that the settings ignore, sorted, once each.
fn ignored_namespaces(model: &model::Model, settings: &lint::settings::Settings) -> Vec<String> {
    let mut ignored: Vec<String> = model
        .namespaces
        .keys()
        .filter(|key| settings.ignores_namespace(&key.name))
        .map(|key| key.name.clone())
        .collect();
    ignored.sort();
    ignored.dedup();
    ignored
}

/// Paths the walk could not read and files that could not be read or parsed, sorted.
fn input_errors(walk_errors: Vec<WalkError>, files: &[LoadedFile]) -> Vec<LoadError> {
    let mut errors: Vec<LoadError> = walk_errors
        .into_iter()
        .map(|e| LoadError {
            file: e.path,
            pos: None,
            message: e.message,
        })
        .collect();
    errors.extend(files.iter().flat_map(|f| f.errors.iter().cloned()));
    errors.sort();
    errors
}

/// A namespace whose policies' selectors combine into more sets of pods than the analysis may
/// build (only crafted input gets there) is an error at its first policy: its verdict would
/// be a guess.
fn too_complex_errors(model: &model::Model, analysis: &analyze::Analysis) -> Vec<LoadError> {
    analysis
        .namespaces
        .iter()
        .filter(|v| v.too_complex)
        .map(|v| {
            let key = (v.cluster.as_deref(), v.name.as_str());
            let policy = model
                .policies
                .iter()
                .find(|p| p.key() == key)
                .or_else(|| {
                    model.policies.iter().find(|p| {
                        p.cluster == v.cluster && p.namespace.is_empty() && p.governs_egress()
                    })
                });
            let (file, pos) = match policy {
                Some(p) => (
                    model.files[p.location.file].clone(),
                    Some(source::yaml::Pos::new(p.location.line, p.location.column)),
                ),
                None => (String::new(), None),
            };
            LoadError {
                file,
                pos,
                message: format!(
                    "namespace {}: the pod selectors of its policies combine into more sets of pods than imds-lint may build, so its verdict would be a guess",
                    v.name
                ),
            }
        })
        .collect()
}

/// Lints manifests given as text, as if read from standard input (for tests).
#[cfg(test)]
pub(crate) fn lint_text(yaml: &str) -> Outcome {
    let options = LintOptions {
        inputs: vec![Input::Stream {
            name: "test.yaml".into(),
            bytes: yaml.as_bytes().to_vec(),
        }],
        excludes: Vec::new(),
        default_namespace: "default".into(),
        targets: Target::defaults(),
        cluster: None,
        cluster_map: Default::default(),
        settings: lint::settings::Settings::default(),
    };
    match run(options) {
        Ok(outcome) => outcome,
        Err(e) => panic!("{e}"),
    }
}

#[cfg(test)]
mod robustness {
    use super::lint_text;
    use proptest::prelude::*;

    /// Real manifests of every engine to mangle.
    const SEEDS: [&str; 4] = [
        include_str!("../fixtures/demo/clusters/prod/web/netpol-egress-baseline.yaml"),
        include_str!("../fixtures/engines/calico/global-policies.yaml"),
        include_str!("../fixtures/engines/cilium/clusterwide-block-imds.yaml"),
        include_str!("../fixtures/engines/admin/cluster-policies.yaml"),
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Arbitrary text never panics the pipeline.
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
            lint_text(&text);
        }

        /// A real manifest with random edits (characters replaced by YAML punctuation, lines
        /// cut) never panics, and every problem is either an error entry or a finding.
        #[test]
        fn mangled_manifests_never_panic(
            seed in prop::sample::select(SEEDS.to_vec()),
            edits in proptest::collection::vec((0usize..2000, prop::sample::select(vec![":", "-", "[", "{", "}", "&a", "*a", "'", "\"", "\n", " ", "#", "|", "!", "---\n", "\t", "()", "||", "!has(", "0.0.0.0/0"])), 1..8),
        ) {
            let mut text = seed.to_string();
            for (at, insert) in edits {
                let mut at = at % (text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                text.insert_str(at, insert);
            }
            let outcome = lint_text(&text);
            prop_assert!(outcome.errors.iter().all(|e| e.pos.is_none_or(|p| p.line >= 1 && p.column >= 1)));
            prop_assert!(outcome.findings.iter().all(|f| f.at.line >= 1 && f.at.column >= 1));
        }
    }
}
