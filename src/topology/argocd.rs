//! Argo CD: what an Application's sources build, and which repository URLs are this
//! repository's.

use super::controllers::{Controllers, at_root, clean_path};
use super::render::TransformerId;
use super::tree::{Tree, has_extension};
use crate::decode::gitops::{Applier, ArgoSource, Located};
use crate::decode::object::Object;
use std::collections::BTreeSet;
use std::path::Path;

/// How one Argo CD source is built.
pub(super) enum ArgoBuild {
    /// A kustomization, with the namespace `kustomize.namespace` forces and the transformers
    /// of the rest of `kustomize:`.
    Kustomization(usize, Option<String>, Option<TransformerId>),
    Files(Vec<usize>),
}

/// How Argo CD builds `source` of an Application in file `display`, with `root` the
/// repository root and `identities` its URLs: `None` when its path is not in the linted tree,
/// `Err` with the reason when it is a Helm chart or another repository.
pub(super) fn plan_source(
    tree: &Tree,
    root: &Path,
    identities: &BTreeSet<String>,
    source: &ArgoSource,
    display: &str,
    notes: &mut Vec<String>,
) -> Result<Option<ArgoBuild>, String> {
    let dir = at_root(root, source.path.as_deref());
    let chart_at_path = source.path.is_some() && tree.by_path.contains_key(&dir.join("Chart.yaml"));
    let elsewhere =
        !identities.is_empty() && !identities.contains(&repository_identity(&source.repo_url));
    if source.helm || chart_at_path {
        Err("Argo CD Application: Helm source, the chart is not rendered".into())
    } else if elsewhere {
        Err(format!(
            "Argo CD Application: source {} is not this repository",
            source.repo_url
        ))
    } else if let Some(k) = tree.kustomization_in(&dir) {
        Ok(Some(ArgoBuild::Kustomization(
            k,
            source.kustomize_namespace.clone(),
            None,
        )))
    } else if tree.has_files_under(&dir) {
        let filter = DirectoryFilter::new(source, display, notes);
        Ok(Some(ArgoBuild::Files(directory_manifests(
            tree,
            &dir,
            source.recurse,
            &filter,
        ))))
    } else {
        notes.push(format!(
            "{display}: Argo CD source path {} is not in the linted tree",
            clean_path(source.path.as_deref())
        ));
        Ok(None)
    }
}

/// What Argo CD builds at `dir` as a directory source: the manifests in it (below it too
/// with `recurse`) that `filter` admits.
pub(super) fn directory_manifests(
    tree: &Tree,
    dir: &Path,
    recurse: bool,
    filter: &DirectoryFilter,
) -> Vec<usize> {
    tree.under(dir)
        .filter(|(p, _)| recurse || p.parent() == Some(dir))
        .filter(|(p, _)| has_extension(p, &["yaml", "yml", "json"]))
        .filter(|(p, _)| {
            p.strip_prefix(dir)
                .is_ok_and(|rel| filter.admits(&rel.to_string_lossy()))
        })
        .map(|(_, i)| i)
        .collect()
}

/// A source's `directory.include` and `directory.exclude`, as Argo CD's repo server applies
/// them (`findManifests` in reposerver/repository/repository.go): each manifest's path
/// relative to the source's path is dropped when it matches `exclude`, and kept only when it
/// matches `include`; an empty pattern is no pattern. A pattern that does not compile matches
/// nothing (Argo CD logs a warning and goes on): an invalid `exclude` drops no file, an
/// invalid `include` drops every file.
pub(super) struct DirectoryFilter {
    include: Option<Glob>,
    exclude: Option<Glob>,
}

impl DirectoryFilter {
    /// The filter of `source` of an Application in file `display`; an invalid pattern is noted.
    pub(super) fn new(source: &ArgoSource, display: &str, notes: &mut Vec<String>) -> Self {
        let mut compile = |pattern: &Option<Located<String>>, field: &str, effect: &str| {
            let pattern = pattern.as_ref().filter(|p| !p.value.is_empty())?;
            Some(Glob::new(&pattern.value).unwrap_or_else(|error| {
                notes.push(format!(
                    "{display}:{}: Argo CD directory.{field} {:?} is not a valid glob ({error}): {effect}",
                    pattern.span.start.line, pattern.value
                ));
                Glob::never()
            }))
        };
        DirectoryFilter {
            include: compile(
                &source.include,
                "include",
                "Argo CD applies none of the files",
            ),
            exclude: compile(&source.exclude, "exclude", "Argo CD excludes no file"),
        }
    }

    /// Every file: no pattern.
    #[cfg(test)]
    pub(super) fn all() -> Self {
        DirectoryFilter {
            include: None,
            exclude: None,
        }
    }

    /// Whether Argo CD applies the manifest at `relative` (to the source's path).
    pub(super) fn admits(&self, relative: &str) -> bool {
        !self.exclude.as_ref().is_some_and(|g| g.matches(relative))
            && self.include.as_ref().is_none_or(|g| g.matches(relative))
    }
}

/// A glob pattern with the syntax and matching of github.com/gobwas/glob, which Argo CD
/// compiles with no separator: `*` and `**` match any run of characters, `/` included (so
/// `*.yaml` matches `sub/x.yaml` too), `?` any one character, `[abc]`, `[a-z]`, `[!…]` one
/// character in or out of a class, `{a,b}` either alternative (alternatives nest and may be
/// empty), `\` escapes the next character. Matched as an automaton over the path's
/// characters, so neither pattern nor path costs more than their product, and no step
/// recurses.
pub(super) struct Glob {
    states: Vec<GlobState>,
}

enum GlobStep {
    /// Moves on without a character.
    Pass,
    Char(char),
    One,
    /// Any character, staying here; moves on without one too.
    Any,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    Done,
}

struct GlobState {
    step: GlobStep,
    next: Vec<usize>,
}

impl Glob {
    /// Compiles `pattern`; `Err` says why gobwas/glob refuses it.
    pub(super) fn new(pattern: &str) -> Result<Glob, String> {
        let mut glob = Glob {
            states: vec![GlobState {
                step: GlobStep::Pass,
                next: Vec::new(),
            }],
        };
        // States whose `next` the following step joins, and the open `{`: its state and the
        // ends of its finished alternatives.
        let mut tails = vec![0];
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            let step = match c {
                '{' => {
                    let open = glob.push(GlobStep::Pass, &tails);
                    groups.push((open, Vec::new()));
                    tails = vec![open];
                    continue;
                }
                ',' if !groups.is_empty() => {
                    let (open, ends) = groups.last_mut().expect("a group is open");
                    ends.append(&mut tails);
                    tails = vec![*open];
                    continue;
                }
                '}' if !groups.is_empty() => {
                    let (_, mut ends) = groups.pop().expect("a group is open");
                    ends.append(&mut tails);
                    tails = ends;
                    continue;
                }
                '*' => {
                    chars.next_if_eq(&'*');
                    GlobStep::Any
                }
                '?' => GlobStep::One,
                '[' => class(&mut chars)?,
                '\\' => GlobStep::Char(chars.next().ok_or("unclosed escape")?),
                c => GlobStep::Char(c),
            };
            tails = vec![glob.push(step, &tails)];
        }
        if !groups.is_empty() {
            return Err("unclosed {".into());
        }
        glob.push(GlobStep::Done, &tails);
        Ok(glob)
    }

    /// A pattern that matches nothing.
    fn never() -> Glob {
        Glob { states: Vec::new() }
    }

    fn push(&mut self, step: GlobStep, from: &[usize]) -> usize {
        let id = self.states.len();
        self.states.push(GlobState {
            step,
            next: Vec::new(),
        });
        for &t in from {
            self.states[t].next.push(id);
        }
        id
    }

    pub(super) fn matches(&self, text: &str) -> bool {
        if self.states.is_empty() {
            return false;
        }
        // `seen[s]` is the last position at which state s was added.
        let mut seen = vec![usize::MAX; self.states.len()];
        let mut current = Vec::new();
        self.enter(0, 0, &mut current, &mut seen);
        for (i, c) in text.chars().enumerate() {
            let mut next = Vec::new();
            for &s in &current {
                let state = &self.states[s];
                let takes = match &state.step {
                    GlobStep::Char(x) => *x == c,
                    GlobStep::One => true,
                    GlobStep::Class { negated, ranges } => {
                        ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
                    }
                    GlobStep::Any => {
                        self.enter(s, i + 1, &mut next, &mut seen);
                        false
                    }
                    GlobStep::Pass | GlobStep::Done => false,
                };
                if takes {
                    for &t in &state.next {
                        self.enter(t, i + 1, &mut next, &mut seen);
                    }
                }
            }
            if next.is_empty() {
                return false;
            }
            current = next;
        }
        current
            .iter()
            .any(|&s| matches!(self.states[s].step, GlobStep::Done))
    }

    /// Adds state `s` and every state it moves on to without a character, at position `at`.
    fn enter(&self, s: usize, at: usize, set: &mut Vec<usize>, seen: &mut [usize]) {
        let mut pending = vec![s];
        while let Some(s) = pending.pop() {
            if seen[s] == at {
                continue;
            }
            seen[s] = at;
            set.push(s);
            if matches!(self.states[s].step, GlobStep::Pass | GlobStep::Any) {
                pending.extend(&self.states[s].next);
            }
        }
    }
}

/// A `[…]` class after its `[`, as gobwas/glob reads it: `!` first negates; `x-y` is a range
/// (and then `]` must follow), else the characters up to `]` (with `\` escapes) are the class.
fn class(chars: &mut std::iter::Peekable<std::str::Chars>) -> Result<GlobStep, String> {
    const UNCLOSED: &str = "unclosed [";
    let mut negated = false;
    let mut c = chars.next().ok_or(UNCLOSED)?;
    if c == '!' {
        negated = true;
        c = chars.next().ok_or(UNCLOSED)?;
    }
    if c == ']' {
        return Err("empty []".into());
    }
    let mut ranges = Vec::new();
    if chars.next_if_eq(&'-').is_some() {
        let hi = chars.next().ok_or(UNCLOSED)?;
        if chars.next() != Some(']') {
            return Err("expected ] after a range".into());
        }
        ranges.push((c, hi));
    } else {
        let mut current = Some(c);
        loop {
            match current {
                None => return Err(UNCLOSED.into()),
                Some(']') => break,
                Some('\\') => {
                    let escaped = chars.next().ok_or(UNCLOSED)?;
                    ranges.push((escaped, escaped));
                }
                Some(x) => ranges.push((x, x)),
            }
            current = chars.next();
        }
    }
    Ok(GlobStep::Class { negated, ranges })
}

/// The name Argo CD gives the cluster it runs in: its `destination.name`, and the cluster
/// imds-lint names for it whichever way an Application writes that destination.
pub const IN_CLUSTER: &str = "in-cluster";

/// The API server address Argo CD registers for the cluster it runs in.
const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";

/// The cluster an Argo CD destination names: `destination.name: in-cluster` and
/// `destination.server: https://kubernetes.default.svc` are one cluster, [`IN_CLUSTER`].
pub fn cluster_name(destination: &str) -> String {
    if destination.trim_end_matches('/') == IN_CLUSTER_SERVER {
        IN_CLUSTER.to_string()
    } else {
        destination.to_string()
    }
}

/// Whether `object` is one of Argo CD's own objects, which live in the cluster Argo CD runs
/// in whatever their destination (an Application, an ApplicationSet, an AppProject).
pub(super) fn is_argo_cd_object(object: &Object) -> bool {
    object.api_version.starts_with("argoproj.io/")
        && matches!(
            object.written_kind.as_str(),
            "Application" | "ApplicationSet" | "AppProject"
        )
}

/// A repository URL reduced so that its https, ssh and scp-like spellings compare equal.
pub(super) fn repository_identity(url: &str) -> String {
    let url = url.trim().to_ascii_lowercase();
    let url = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    let url = url.split_once('@').map_or(url, |(_, rest)| rest);
    url.replacen(':', "/", 1)
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .to_string()
}

/// The remote URLs in a git checkout's `.git/config`, read as text (no git needed).
fn git_remote_urls(root: &Path) -> Vec<String> {
    std::fs::read_to_string(root.join(".git").join("config"))
        .map(|config| {
            config
                .lines()
                .filter_map(|l| l.trim().strip_prefix("url"))
                .filter_map(|rest| rest.trim_start().strip_prefix('='))
                .map(|url| url.trim().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// This repository's URLs, for Argo CD sources: the git remotes, and the repoURL of any
/// source that builds Applications (an app of apps lives in the repository it builds).
pub(super) fn repository_identities(
    tree: &Tree,
    root: &Path,
    controllers: &Controllers,
) -> BTreeSet<String> {
    let mut identities: BTreeSet<String> = git_remote_urls(root)
        .iter()
        .map(|u| repository_identity(u))
        .collect();
    for f in &controllers.found {
        let Applier::Argo(app) = f.applier else {
            continue;
        };
        for source in app.sources.iter().filter(|s| s.path.is_some() && !s.helm) {
            let dir = at_root(root, source.path.as_deref());
            let filter = DirectoryFilter::new(source, "", &mut Vec::new());
            let builds_applications = directory_manifests(tree, &dir, source.recurse, &filter)
                .into_iter()
                .flat_map(|file| controllers.in_file(file))
                .any(|&b| matches!(controllers.found[b].applier, Applier::Argo(_)));
            if builds_applications {
                identities.insert(repository_identity(&source.repo_url));
            }
        }
    }
    identities
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::discover::normalize;
    use crate::topology::testing::file;

    #[test]
    fn repository_urls_compare_across_spellings() {
        let https = repository_identity("https://github.com/Example/Fleet.git");
        assert_eq!(
            repository_identity("git@github.com:example/fleet.git"),
            https
        );
        assert_eq!(
            repository_identity("ssh://git@github.com/example/fleet/"),
            https
        );
        assert_ne!(
            repository_identity("https://github.com/example/other"),
            https
        );
    }

    #[test]
    fn a_directory_source_builds_its_manifests_and_with_recurse_those_below() {
        let mut files = vec![
            file("app/np.yaml", "kind: NetworkPolicy\n"),
            file("app/sub/deploy.yml", "kind: Deployment\n"),
            file("app/notes.md", "text\n"),
            file("app/data.json", "{\"kind\": \"Pod\"}"),
        ];
        for f in &mut files {
            f.bytes = None;
        }
        let tree = Tree::new(&files, &[]);
        let dir = normalize(&std::env::current_dir().unwrap().join("app"));
        let all = DirectoryFilter::all();
        assert_eq!(directory_manifests(&tree, &dir, false, &all), vec![3, 0]);
        assert_eq!(directory_manifests(&tree, &dir, true, &all), vec![3, 0, 1]);
    }
    fn glob(pattern: &str) -> Glob {
        Glob::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"))
    }

    #[test]
    fn globs_match_as_gobwas_glob_with_no_separator() {
        for (pattern, yes, no) in [
            // `*` crosses `/`: Argo CD compiles the pattern with no separator.
            (
                "*.yaml",
                &["a.yaml", "sub/dir/a.yaml", ".yaml"][..],
                &["a.yml", "a.yaml.bak"][..],
            ),
            (
                "**/deny.yaml",
                &["sub/deny.yaml", "a/b/deny.yaml"],
                &["deny.yaml"],
            ),
            (
                "{config.json,env-usw2/*}",
                &["config.json", "env-usw2/cm.yaml"],
                &["env-use2/cm.yaml", "config.jsonx"],
            ),
            (
                "np?.yaml",
                &["np1.yaml", "np/.yaml"],
                &["np10.yaml", "np.yaml"],
            ),
            ("[a-c]*", &["a.yaml", "cx"], &["d.yaml", "A"]),
            ("[!a-c]*", &["d.yaml"], &["a.yaml"]),
            ("[xy].yaml", &["x.yaml", "y.yaml"], &["z.yaml", "xy.yaml"]),
            ("[!xy].yaml", &["z.yaml"], &["x.yaml"]),
            ("{a,{b,c}d}", &["a", "bd", "cd"], &["b", "ad", "abd"]),
            ("x{,y}.yaml", &["x.yaml", "xy.yaml"], &["xz.yaml"]),
            ("\\*.yaml", &["*.yaml"], &["a.yaml"]),
            ("a,b}", &["a,b}"], &["a"]),
            ("", &[""], &["a"]),
        ] {
            let g = glob(pattern);
            for text in yes {
                assert!(g.matches(text), "{pattern} should match {text}");
            }
            for text in no {
                assert!(!g.matches(text), "{pattern} should not match {text}");
            }
        }
    }

    #[test]
    fn globs_gobwas_refuses_are_errors() {
        for pattern in ["{a,b", "[abc", "[]", "[!]", "a\\", "[a-", "[a-cd]"] {
            assert!(Glob::new(pattern).is_err(), "{pattern}");
        }
    }

    #[test]
    fn a_glob_costs_the_product_of_pattern_and_path_at_most() {
        let pattern = "*a".repeat(300) + "{x,{y,{z,w}}}";
        let text = "a".repeat(1_000) + "b";
        let started = std::time::Instant::now();
        assert!(!glob(&pattern).matches(&text));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let nested = "{".repeat(10_000) + &"}".repeat(10_000);
        assert!(glob(&nested).matches(""));
    }

    fn source(include: Option<&str>, exclude: Option<&str>) -> ArgoSource {
        let located = |p: Option<&str>| {
            p.map(|value| Located {
                value: value.to_string(),
                span: Default::default(),
            })
        };
        ArgoSource {
            repo_url: String::new(),
            path: None,
            helm: false,
            values_only: false,
            recurse: true,
            kustomize_namespace: None,
            include: located(include),
            exclude: located(exclude),
            kustomize: Default::default(),
        }
    }

    #[test]
    fn include_and_exclude_filter_as_argo_cd_documents() {
        // The example of Argo CD's user guide, directory.md: include '*.yaml', exclude
        // '{config.json,env-usw2/*}'.
        let mut notes = Vec::new();
        let filter = DirectoryFilter::new(
            &source(Some("*.yaml"), Some("{config.json,env-usw2/*}")),
            "app.yaml",
            &mut notes,
        );
        let admitted: Vec<&str> = [
            "config.json",
            "deployment.yaml",
            "env-use2/configmap.yaml",
            "env-usw2/configmap.yaml",
        ]
        .into_iter()
        .filter(|p| filter.admits(p))
        .collect();
        assert_eq!(admitted, ["deployment.yaml", "env-use2/configmap.yaml"]);
        assert!(notes.is_empty());
        // An empty pattern is no pattern.
        let filter = DirectoryFilter::new(&source(Some(""), Some("")), "app.yaml", &mut notes);
        assert!(filter.admits("x.yaml") && notes.is_empty());
    }

    #[test]
    fn an_invalid_pattern_matches_nothing_and_is_noted() {
        let mut notes = Vec::new();
        let filter =
            DirectoryFilter::new(&source(None, Some("{deny.yaml")), "app.yaml", &mut notes);
        assert!(filter.admits("deny.yaml"));
        let filter = DirectoryFilter::new(&source(Some("[x"), None), "app.yaml", &mut notes);
        assert!(!filter.admits("x.yaml"));
        assert_eq!(notes.len(), 2);
        assert!(notes[0].contains("directory.exclude \"{deny.yaml\" is not a valid glob (unclosed {): Argo CD excludes no file"), "{notes:?}");
        assert!(
            notes[1].contains("Argo CD applies none of the files"),
            "{notes:?}"
        );
    }
}
