//! `.imds-lint.yaml`: a repository's settings, found by walking up from the linted path.
//!
//! Parsed over the positioned YAML tree so that every mistake (an unknown key, a wrong type, a
//! bad value) is reported at its line and column instead of being ignored.

use crate::lint::settings::{FailOn, IgnoredNamespace, RuleSetting, Settings};
use crate::lint::{Check, RULES, Severity, find_rule};
use crate::net::{PRESETS, Target};
pub use crate::source::discover::CONFIG_NAMES;
use crate::source::yaml::{self, Node, Pos, Scalar};
use crate::topology::ClusterMap;
use globset::Glob;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A configuration file, read and checked.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub settings: Settings,
    /// `fail-on`, when the file sets it (the CLI's `--fail-on` wins).
    pub fail_on: Option<FailOn>,
    /// Globs as written; see [`Config::excludes`].
    pub exclude: Vec<String>,
    pub targets: Vec<Target>,
    pub presets: Vec<String>,
    pub default_namespace: Option<String>,
    /// `clusters`: each cluster's name and path globs as written; see
    /// [`Config::cluster_map`].
    pub clusters: Vec<(String, Vec<String>)>,
}

/// Why a configuration file was not used; `file` names it as the user wrote it.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ConfigError {
    #[error("{file}: cannot read: {source}")]
    Unreadable {
        file: String,
        source: std::io::Error,
    },
    /// Every mistake in the file, in the order of the file, one `file:line:column: message`
    /// per line.
    #[error("{}", .invalid.iter().map(|i| format!("{file}:{}:{}: {}", i.pos.line, i.pos.column, i.message)).collect::<Vec<_>>().join("\n"))]
    Invalid {
        file: String,
        invalid: Vec<InvalidConfig>,
    },
}

/// Why configuration text was refused: the offending node's position, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidConfig {
    pub pos: Pos,
    pub message: String,
}

impl InvalidConfig {
    fn at(node: &Node, message: String) -> InvalidConfig {
        InvalidConfig {
            pos: node.span.start,
            message,
        }
    }
}

const KEYS: &str =
    "rules, exclude, ignore-namespaces, targets, presets, default-namespace, fail-on, clusters";

/// The first configuration file in `start` or a folder above it. `start` is a linted PATH: a
/// folder, or a file whose folder is searched; `-` (standard input) searches the current folder.
pub fn find(start: &Path) -> Option<PathBuf> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let start = if start.as_os_str() == "-" {
        cwd
    } else {
        let absolute = cwd.join(start);
        if absolute.is_dir() {
            absolute
        } else {
            absolute.parent().map(Path::to_path_buf).unwrap_or(cwd)
        }
    };
    start.ancestors().find_map(|dir| {
        CONFIG_NAMES
            .iter()
            .map(|name| dir.join(name))
            .find(|p| p.is_file())
    })
}

impl Config {
    /// Reads and checks the configuration file at `path`; `display` names it in messages.
    pub fn load(path: &Path, display: &str) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
            file: display.to_string(),
            source,
        })?;
        let mut config = Config::parse(&text).map_err(|invalid| ConfigError::Invalid {
            file: display.to_string(),
            invalid,
        })?;
        config.path = path.to_path_buf();
        config.settings.source = Some(display.to_string());
        Ok(config)
    }

    /// Parses configuration text. `Err` holds every mistake found (at least one), each with
    /// the position of the offending node, in the order of the file.
    pub fn parse(text: &str) -> Result<Config, Vec<InvalidConfig>> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let documents = yaml::parse_documents(text, 0).map_err(|e| {
            vec![InvalidConfig {
                pos: e.pos,
                message: e.message,
            }]
        })?;
        let mut config = Config::default();
        let root = match documents.as_slice() {
            [] => return Ok(config),
            [root] => root,
            [_, second, ..] => {
                return Err(vec![InvalidConfig::at(
                    second,
                    "a configuration file holds one YAML document".into(),
                )]);
            }
        };
        if root.is_null() {
            return Ok(config);
        }
        let entries = root.as_map().ok_or_else(|| {
            vec![wrong(
                root,
                &format!("a mapping of settings ({KEYS})"),
                "the file's top level",
            )]
        })?;
        let mut problems = Vec::new();
        for (key, value) in entries {
            config.set(key, value, &mut problems);
        }
        if !problems.is_empty() {
            problems.sort_by_key(|p: &InvalidConfig| (p.pos.line, p.pos.column));
            return Err(problems);
        }
        if let Some(fail_on) = config.fail_on {
            config.settings.fail_on = fail_on;
        }
        Ok(config)
    }

    /// Applies one top-level `key: value` of the file; mistakes go to `problems`.
    fn set(&mut self, key: &Node, value: &Node, problems: &mut Vec<InvalidConfig>) {
        let name = key.key_text().unwrap_or_default();
        match name {
            "rules" => self.settings.rules = parse_rules(value, problems),
            "exclude" => self.exclude = exclude_globs(value, name, problems),
            "ignore-namespaces" => {
                self.settings.ignore_namespaces = namespace_globs(value, name, problems);
            }
            "targets" => self.targets = targets(value, name, problems),
            "presets" => self.presets.extend(presets(value, name, problems)),
            "default-namespace" => match value.as_str() {
                Some(ns) => match crate::decode::names::namespace_problem(ns) {
                    None => self.default_namespace = Some(ns.to_string()),
                    Some(problem) => problems.push(InvalidConfig::at(value, problem)),
                },
                _ => problems.push(wrong(value, "a namespace name", name)),
            },
            "clusters" => self.clusters = cluster_globs(value, name, problems),
            "fail-on" => match value.as_str() {
                Some("error") => self.fail_on = Some(FailOn::Error),
                Some("warning") => self.fail_on = Some(FailOn::Warning),
                Some("never") => self.fail_on = Some(FailOn::Never),
                _ => problems.push(wrong(value, "error, warning or never", name)),
            },
            _ => problems.push(InvalidConfig::at(
                key,
                format!("unknown key {name:?}; known keys: {KEYS}"),
            )),
        }
    }

    /// The `exclude` globs for the walk: a glob with a `/` is anchored at the configuration
    /// file's folder (as in `.gitignore`); one without matches a file or folder name anywhere.
    pub fn excludes(&self) -> Vec<String> {
        let cwd = std::env::current_dir().unwrap_or_default();
        let dir = self
            .path
            .parent()
            .map(|d| crate::source::discover::normalize(&cwd.join(d)))
            .unwrap_or_default();
        self.exclude
            .iter()
            .map(|glob| {
                let glob = glob.trim_start_matches("./");
                if glob.trim_end_matches('/').contains('/') {
                    format!("{}/{glob}", globset::escape(&dir.to_string_lossy()))
                } else {
                    glob.to_string()
                }
            })
            .collect()
    }

    /// The clusters named by path: a file whose path, relative to the configuration file's
    /// folder, matches one of a cluster's globs lands in that cluster (`*` stays within a
    /// folder, `**` crosses folders).
    pub fn cluster_map(&self) -> ClusterMap {
        let cwd = std::env::current_dir().unwrap_or_default();
        let base = self
            .path
            .parent()
            .map(|d| crate::source::discover::normalize(&cwd.join(d)))
            .unwrap_or(cwd);
        let clusters = self
            .clusters
            .iter()
            .map(|(name, globs)| {
                let matchers = globs.iter().filter_map(|g| path_glob(g).ok()).collect();
                (name.clone(), matchers)
            })
            .collect();
        ClusterMap { base, clusters }
    }
}

/// A `clusters` glob, relative to the configuration file's folder.
fn path_glob(glob: &str) -> Result<globset::GlobMatcher, globset::Error> {
    let glob = glob.trim_start_matches("./").trim_end_matches('/');
    Ok(globset::GlobBuilder::new(glob)
        .literal_separator(true)
        .build()?
        .compile_matcher())
}

/// `clusters`: a mapping of cluster names to lists of path globs, each checked to compile.
fn cluster_globs(
    node: &Node,
    key: &str,
    problems: &mut Vec<InvalidConfig>,
) -> Vec<(String, Vec<String>)> {
    if node.is_null() {
        return Vec::new();
    }
    let Some(entries) = node.as_map() else {
        problems.push(wrong(
            node,
            "a mapping of cluster names to lists of path globs",
            key,
        ));
        return Vec::new();
    };
    let mut clusters = Vec::new();
    for (name, globs) in entries {
        let Some(name) = name.key_text().filter(|n| !n.is_empty()) else {
            problems.push(wrong(name, "a cluster name", key));
            continue;
        };
        let what = format!("{key}.{name}");
        let globs = strings(globs, &what, problems)
            .into_iter()
            .filter_map(|(glob, node)| match path_glob(glob) {
                Ok(_) => Some(glob.to_string()),
                Err(e) => {
                    problems.push(InvalidConfig::at(node, format!("bad glob: {e}")));
                    None
                }
            })
            .collect();
        clusters.push((name.to_string(), globs));
    }
    clusters
}

fn wrong(node: &Node, expected: &str, key: &str) -> InvalidConfig {
    InvalidConfig::at(
        node,
        format!("{key}: expected {expected}, found {}", node.type_name()),
    )
}

/// `exclude`: globs as written, each checked to compile.
fn exclude_globs(node: &Node, key: &str, problems: &mut Vec<InvalidConfig>) -> Vec<String> {
    strings(node, key, problems)
        .into_iter()
        .filter_map(|(glob, node)| match Glob::new(glob.trim_end_matches('/')) {
            Ok(_) => Some(glob.to_string()),
            Err(e) => {
                problems.push(InvalidConfig::at(node, format!("bad glob: {e}")));
                None
            }
        })
        .collect()
}

/// `ignore-namespaces`: names or globs, compiled, with where each is written.
fn namespace_globs(
    node: &Node,
    key: &str,
    problems: &mut Vec<InvalidConfig>,
) -> Vec<IgnoredNamespace> {
    strings(node, key, problems)
        .into_iter()
        .filter_map(|(glob, node)| match Glob::new(glob) {
            Ok(g) => Some(IgnoredNamespace {
                glob: g.compile_matcher(),
                text: glob.to_string(),
                pos: node.span.start,
            }),
            Err(e) => {
                problems.push(InvalidConfig::at(node, format!("bad glob: {e}")));
                None
            }
        })
        .collect()
}

/// `targets`: `ADDR[:PORT][/PROTO]` each.
fn targets(node: &Node, key: &str, problems: &mut Vec<InvalidConfig>) -> Vec<Target> {
    strings(node, key, problems)
        .into_iter()
        .filter_map(|(text, node)| match Target::parse(text) {
            Ok(target) => Some(target),
            Err(e) => {
                problems.push(InvalidConfig::at(node, e.to_string()));
                None
            }
        })
        .collect()
}

/// `presets`: names of [`PRESETS`], or `all`.
fn presets(node: &Node, key: &str, problems: &mut Vec<InvalidConfig>) -> Vec<String> {
    strings(node, key, problems)
        .into_iter()
        .filter_map(|(preset, node)| {
            if preset == "all" || PRESETS.iter().any(|p| p.name == preset) {
                Some(preset.to_string())
            } else {
                let known: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
                problems.push(InvalidConfig::at(
                    node,
                    format!(
                        "unknown preset {preset:?}; known presets: {}, all",
                        known.join(", ")
                    ),
                ));
                None
            }
        })
        .collect()
}

/// A list of strings (null counts as an empty list); the items that are not strings go to
/// `problems`.
fn strings<'a>(
    node: &'a Node,
    key: &str,
    problems: &mut Vec<InvalidConfig>,
) -> Vec<(&'a str, &'a Node)> {
    if node.is_null() {
        return Vec::new();
    }
    let Some(items) = node.as_seq() else {
        problems.push(wrong(node, "a list of strings", key));
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match item.as_str() {
            Some(s) => Some((s, item)),
            None => {
                problems.push(wrong(item, "a string", key));
                None
            }
        })
        .collect()
}

/// `rules:` maps a rule id or name to `off`, `warning`, `error`, or
/// `{enabled: BOOL, severity: warning|error}`.
fn parse_rules(
    node: &Node,
    problems: &mut Vec<InvalidConfig>,
) -> BTreeMap<&'static str, RuleSetting> {
    let mut out = BTreeMap::new();
    if node.is_null() {
        return out;
    }
    let Some(entries) = node.as_map() else {
        problems.push(wrong(node, "a mapping of rule ids to settings", "rules"));
        return out;
    };
    for (key, value) in entries {
        let name = key.key_text().unwrap_or_default();
        let Some(rule) = find_rule(name) else {
            let known: Vec<&str> = RULES.iter().map(|r| r.id).collect();
            problems.push(InvalidConfig::at(
                key,
                format!("unknown rule {name:?}; rules are {}", known.join(", ")),
            ));
            continue;
        };
        let what = format!("rules.{name}");
        let setting = match (value.scalar(), value.as_map()) {
            // YAML 1.1 reads a plain `off` as false and `on` as true.
            (Some(Scalar::Bool(false)), _) => RuleSetting::Off,
            (Some(Scalar::Bool(true)), _) => RuleSetting::On(None),
            (Some(Scalar::Str("warning")), _) => RuleSetting::On(Some(Severity::Warning)),
            (Some(Scalar::Str("error")), _) => RuleSetting::On(Some(Severity::Error)),
            (_, Some(fields)) => rule_fields(fields, &what, problems),
            _ => {
                problems.push(wrong(
                    value,
                    "off, warning, error or {enabled: false, severity: warning}",
                    &what,
                ));
                continue;
            }
        };
        out.insert(rule.id, setting);
    }
    out
}

/// The long form of a rule's setting, `{enabled: BOOL, severity: warning|error}`; `what`
/// (`rules.IMDS002`) names it in messages.
fn rule_fields(
    fields: &[(Node, Node)],
    what: &str,
    problems: &mut Vec<InvalidConfig>,
) -> RuleSetting {
    let mut enabled = true;
    let mut severity = None;
    for (field, v) in fields {
        match field.key_text().unwrap_or_default() {
            "enabled" => match v.scalar() {
                Some(Scalar::Bool(b)) => enabled = b,
                _ => problems.push(wrong(v, "true or false", &format!("{what}.enabled"))),
            },
            "severity" => match v.as_str() {
                Some("warning") => severity = Some(Severity::Warning),
                Some("error") => severity = Some(Severity::Error),
                _ => problems.push(wrong(v, "warning or error", &format!("{what}.severity"))),
            },
            other => problems.push(InvalidConfig::at(
                field,
                format!("unknown key {other:?} in {what}; known keys: enabled, severity"),
            )),
        }
    }
    if enabled {
        RuleSetting::On(severity)
    } else {
        RuleSetting::Off
    }
}

/// The file `imds-lint init` writes: every key with its default, so loading it changes nothing.
pub fn default_file() -> String {
    let mut text = String::from(
        "# imds-lint configuration. imds-lint reads the first .imds-lint.yaml found in the linted\n\
         # folder or a folder above it; --config FILE names another, --no-config ignores it.\n\
         # Command-line options win over these settings. Every value below is the default.\n\
         \n\
         # Per rule (id or name): off, warning or error; or {enabled: false, severity: warning}.\n\
         rules:\n",
    );
    for rule in RULES {
        // A rule whose findings each have their own default gets none that would override it.
        let setting = match rule.check {
            Check::Graded(_) => "{enabled: true}".to_string(),
            _ => rule.severity.to_string(),
        };
        text.push_str(&format!(
            "  {}: {:<8} # {}: {}\n",
            rule.id, setting, rule.name, rule.summary
        ));
    }
    text.push_str(
        "\n\
         # Paths not to lint, added to --exclude. A glob with a `/` is relative to this file's\n\
         # folder (`clusters/legacy/**`); one without matches a file or folder name anywhere.\n\
         exclude: []\n\
         \n\
         # Namespaces (names or globs such as `kube-*`) that get no findings; the report lists\n\
         # them as ignored.\n\
         ignore-namespaces: []\n\
         \n\
         # Metadata endpoints to check, ADDR[:PORT][/PROTO] (port 80 and TCP unless given), and\n\
         # providers' well-known endpoints (aws, eks-pod-identity, ecs, gcp, azure, oci, alibaba,\n\
         # all). --target or --preset on the command line replace both lists.\n\
         targets: []\n\
         presets: [aws]\n\
         \n\
         # Namespace of namespaced objects that set none, as `kubectl apply` would use.\n\
         default-namespace: default\n\
         \n\
         # Which findings make the exit status 1: error, warning (warnings too) or never.\n\
         fail-on: error\n\
         \n\
         # Clusters by path, for files no Flux or Argo CD entry point places in one: a name and\n\
         # globs relative to this file's folder, such as {prod: [\"clusters/prod/**\"]}.\n\
         clusters: {}\n",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> (u32, u32, String) {
        match Config::parse(text).map_err(<[InvalidConfig; 1]>::try_from) {
            Ok(_) => panic!("{text:?} parsed"),
            Err(Ok([InvalidConfig { pos, message }])) => (pos.line, pos.column, message),
            Err(Err(several)) => panic!("{text:?}: {several:?}"),
        }
    }

    #[test]
    fn default_file_loads_and_sets_the_defaults() {
        let config = Config::parse(&default_file()).unwrap();
        for rule in RULES {
            assert_eq!(config.settings.severity(rule), Some(rule.severity));
            // A graded rule keeps each finding's own default: no severity is set.
            if matches!(rule.check, Check::Graded(_)) {
                assert_eq!(
                    config.settings.rules.get(rule.id),
                    Some(&RuleSetting::On(None))
                );
            }
        }
        assert_eq!(config.settings.fail_on, FailOn::Error);
        assert_eq!(config.default_namespace.as_deref(), Some("default"));
        assert_eq!(config.presets, vec!["aws"]);
        assert!(config.targets.is_empty() && config.exclude.is_empty());
        assert!(config.settings.ignore_namespaces.is_empty());
    }

    #[test]
    fn both_rule_forms_and_names() {
        let config = Config::parse(
            "rules:\n  IMDS005: off\n  host-network-pod: error\n  IMDS002: warning\n  IMDS003: {enabled: false}\n  IMDS004:\n    severity: warning\n",
        )
        .unwrap();
        let s = &config.settings;
        assert_eq!(
            s.rules.get("IMDS005"),
            Some(&RuleSetting::On(Some(Severity::Error)))
        );
        assert_eq!(
            s.rules.get("IMDS002"),
            Some(&RuleSetting::On(Some(Severity::Warning)))
        );
        assert_eq!(s.rules.get("IMDS003"), Some(&RuleSetting::Off));
        assert_eq!(
            s.rules.get("IMDS004"),
            Some(&RuleSetting::On(Some(Severity::Warning)))
        );
        assert!(!s.is_enabled("IMDS003"));
    }

    #[test]
    fn mistakes_are_reported_where_they_are() {
        assert_eq!(error("rules:\n  IMDS009: off\n").0, 2);
        let (line, column, message) = error("exclude: []\nfail-on: sometimes\n");
        assert_eq!((line, column), (2, 10));
        assert!(message.contains("error, warning or never"), "{message}");
        let (line, column, message) = error("exlude: [a]\n");
        assert_eq!((line, column), (1, 1));
        assert!(message.contains("unknown key \"exlude\""), "{message}");
        assert_eq!(error("targets:\n  - 169.254.169.254:99999\n").0, 2);
        assert_eq!(error("presets: [aws, nimbus]\n").1, 16);
        assert!(error("exclude: legacy\n").2.contains("a list of strings"));
        assert!(
            error("rules: {IMDS001: loud}\n")
                .2
                .contains("off, warning, error")
        );
        assert!(
            error("rules: {IMDS001: {enabled: maybe}}\n")
                .2
                .contains("true or false")
        );
        assert!(
            error("default-namespace: 7\n")
                .2
                .contains("a namespace name")
        );
        assert_eq!(error("a: [\n").0, 2);
        assert!(error("- a\n").2.contains("mapping"));
    }

    /// The README's full example is a valid configuration.
    #[test]
    fn readme_example_loads() {
        let readme = include_str!("../README.md");
        let start = readme
            .find("# .imds-lint.yaml\n")
            .expect("the README's example");
        let example = &readme[start..];
        let example = &example[..example.find("```").expect("a closed block")];
        let config = Config::parse(example).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(config.settings.fail_on, FailOn::Warning);
        assert_eq!(
            config.settings.rules.get("IMDS006"),
            Some(&RuleSetting::Off)
        );
        assert_eq!(config.targets.len(), 2);
        assert_eq!(config.exclude.len(), 2);
    }

    #[test]
    fn every_mistake_is_reported_at_once_in_file_order() {
        let text = "fail-on: sometimes\nrules:\n  IMDS009: off\n  IMDS001: {enabled: maybe, colour: red}\n  IMDS002: warning\nexlude: [a]\npresets: [aws, nimbus, cloudy]\ntargets: [169.254.169.254:99999, 169.254.170.2]\nexclude: [\"[\", ok, 7]\n";
        let problems = Config::parse(text).unwrap_err();
        let at: Vec<(u32, u32)> = problems
            .iter()
            .map(|p| (p.pos.line, p.pos.column))
            .collect();
        assert_eq!(
            at,
            [
                (1, 10),
                (3, 3),
                (4, 22),
                (4, 29),
                (6, 1),
                (7, 16),
                (7, 24),
                (8, 11),
                (9, 11),
                (9, 20)
            ],
            "{problems:#?}"
        );
        assert!(problems[0].message.contains("error, warning or never"));
        assert!(problems[1].message.contains("unknown rule \"IMDS009\""));
        assert!(problems[3].message.contains("unknown key \"colour\""));
        assert!(problems[9].message.contains("a string"));
    }

    #[test]
    fn empty_file_is_the_defaults() {
        let config = Config::parse("# nothing yet\n").unwrap();
        assert!(config.settings.rules.is_empty());
        assert_eq!(config.settings.fail_on, FailOn::Error);
    }

    #[test]
    fn ignored_namespaces_take_globs() {
        let config = Config::parse("ignore-namespaces: [kube-*, legacy]\n").unwrap();
        assert!(config.settings.ignores_namespace("kube-system"));
        assert!(config.settings.ignores_namespace("legacy"));
        assert!(!config.settings.ignores_namespace("payments"));
    }
}
