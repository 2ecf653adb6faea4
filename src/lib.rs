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
    let mut paths = Vec::new();
    let mut streams = Vec::new();
    for input in options.inputs {
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
        discover::discover(
            &paths,
            &DiscoverOptions {
                excludes: options.excludes,
            },
        )?
    };
    let (files, objects) = load_and_decode(&discovered.files, streams);
    let manifests = objects.iter().map(Vec::len).sum();

    let resolution = topology::resolve(&files, &objects, &paths);
    let mut model = model::build(&files, &objects, &resolution, &options.default_namespace);
    if let Some(cluster) = &options.cluster {
        keep_only_cluster(&mut model, &resolution.clusters, cluster)?;
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
    let errors = input_errors(discovered.errors, &files);
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

/// Loads and decodes the discovered files in parallel, file by file so trees never pile up
/// for the whole repository; then the streams already loaded.
fn load_and_decode(
    sources: &[SourcePath],
    streams: Vec<LoadedFile>,
) -> (Vec<LoadedFile>, Vec<Vec<Object>>) {
    let (mut files, mut objects): (Vec<LoadedFile>, Vec<Vec<Object>>) = sources
        .par_iter()
        .map(|source| {
            let mut file = load::load_file(source, &decode::object::keep);
            let objects = decode::object::file_objects(&mut file);
            (file, objects)
        })
        .unzip();
    for mut stream in streams {
        objects.push(decode::object::file_objects(&mut stream));
        files.push(stream);
    }
    (files, objects)
}

/// Limits the model to `cluster`, which must be one the GitOps entry points name.
fn keep_only_cluster(
    model: &mut model::Model,
    clusters: &BTreeSet<String>,
    cluster: &str,
) -> Result<(), LintError> {
    if !clusters.contains(cluster) {
        let known: Vec<String> = clusters.iter().cloned().collect();
        let cluster = cluster.to_string();
        return Err(if known.is_empty() {
            LintError::NoGitOps { cluster }
        } else {
            LintError::UnknownCluster { cluster, known }
        });
    }
    model.retain_cluster(cluster);
    Ok(())
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
