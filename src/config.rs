//! `.imds-lint.yaml`: a repository's settings, found by walking up from the linted path.
//!
//! Parsed over the positioned YAML tree so that every mistake (an unknown key, a wrong type, a
//! bad value) is reported at its line and column instead of being ignored.

use crate::lint::settings::{FailOn, RuleSetting, Settings};
use crate::lint::{RULES, Severity, find_rule};
use crate::net::{PRESETS, Target};
pub use crate::source::discover::CONFIG_NAMES;
use crate::source::yaml::{self, Node, Pos, Scalar};
use globset::{Glob, GlobMatcher};
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
}

/// Why a configuration file was not used; `file` names it as the user wrote it.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ConfigError {
    #[error("{file}: cannot read: {source}")]
    Unreadable {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{}:{}: {}", .invalid.pos.line, .invalid.pos.column, .invalid.message)]
    Invalid {
        file: String,
        invalid: InvalidConfig,
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
    "rules, exclude, ignore-namespaces, targets, presets, default-namespace, fail-on";

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
        Ok(config)
    }

    /// Parses configuration text. Errors carry the position of the offending node.
    pub fn parse(text: &str) -> Result<Config, InvalidConfig> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let documents = yaml::parse_documents(text, 0).map_err(|e| InvalidConfig {
            pos: e.pos,
            message: e.message,
        })?;
        let mut config = Config::default();
        let root = match documents.as_slice() {
            [] => return Ok(config),
            [root] => root,
            [_, second, ..] => {
                return Err(InvalidConfig::at(
                    second,
                    "a configuration file holds one YAML document".into(),
                ));
            }
        };
        if root.is_null() {
            return Ok(config);
        }
        let entries = root.as_map().ok_or_else(|| {
            wrong(
                root,
                &format!("a mapping of settings ({KEYS})"),
                "the file's top level",
            )
        })?;
        for (key, value) in entries {
            config.set(key, value)?;
        }
        if let Some(fail_on) = config.fail_on {
            config.settings.fail_on = fail_on;
        }
        Ok(config)
    }

    /// Applies one top-level `key: value` of the file.
    fn set(&mut self, key: &Node, value: &Node) -> Result<(), InvalidConfig> {
        let name = key.key_text().unwrap_or_default();
        match name {
            "rules" => self.settings.rules = parse_rules(value)?,
            "exclude" => self.exclude = exclude_globs(value, name)?,
            "ignore-namespaces" => {
                self.settings.ignore_namespaces = namespace_globs(value, name)?;
            }
            "targets" => self.targets = targets(value, name)?,
            "presets" => self.presets.extend(presets(value, name)?),
            "default-namespace" => match value.as_str() {
                Some(ns) if !ns.is_empty() => self.default_namespace = Some(ns.to_string()),
                _ => return Err(wrong(value, "a namespace name", name)),
            },
            "fail-on" => {
                self.fail_on = Some(match value.as_str() {
                    Some("error") => FailOn::Error,
                    Some("warning") => FailOn::Warning,
                    Some("never") => FailOn::Never,
                    _ => return Err(wrong(value, "error, warning or never", name)),
                });
            }
            _ => {
                return Err(InvalidConfig::at(
                    key,
                    format!("unknown key {name:?}; known keys: {KEYS}"),
                ));
            }
        }
        Ok(())
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
}

fn wrong(node: &Node, expected: &str, key: &str) -> InvalidConfig {
    InvalidConfig::at(
        node,
        format!("{key}: expected {expected}, found {}", node.type_name()),
    )
}

/// `exclude`: globs as written, each checked to compile.
fn exclude_globs(node: &Node, key: &str) -> Result<Vec<String>, InvalidConfig> {
    strings(node, key)?
        .into_iter()
        .map(|(glob, node)| {
            Glob::new(glob.trim_end_matches('/'))
                .map(|_| glob.to_string())
                .map_err(|e| InvalidConfig::at(node, format!("bad glob: {e}")))
        })
        .collect()
}

/// `ignore-namespaces`: names or globs, compiled.
fn namespace_globs(node: &Node, key: &str) -> Result<Vec<GlobMatcher>, InvalidConfig> {
    strings(node, key)?
        .into_iter()
        .map(|(glob, node)| {
            Glob::new(glob)
                .map(|g| g.compile_matcher())
                .map_err(|e| InvalidConfig::at(node, format!("bad glob: {e}")))
        })
        .collect()
}

/// `targets`: `ADDR[:PORT][/PROTO]` each.
fn targets(node: &Node, key: &str) -> Result<Vec<Target>, InvalidConfig> {
    strings(node, key)?
        .into_iter()
        .map(|(text, node)| Target::parse(text).map_err(|e| InvalidConfig::at(node, e.to_string())))
        .collect()
}

/// `presets`: names of [`PRESETS`], or `all`.
fn presets(node: &Node, key: &str) -> Result<Vec<String>, InvalidConfig> {
    strings(node, key)?
        .into_iter()
        .map(|(preset, node)| {
            if preset == "all" || PRESETS.iter().any(|p| p.name == preset) {
                Ok(preset.to_string())
            } else {
                let known: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
                Err(InvalidConfig::at(
                    node,
                    format!(
                        "unknown preset {preset:?}; known presets: {}, all",
                        known.join(", ")
                    ),
                ))
            }
        })
        .collect()
}

/// A list of strings (null counts as an empty list).
fn strings<'a>(node: &'a Node, key: &str) -> Result<Vec<(&'a str, &'a Node)>, InvalidConfig> {
    if node.is_null() {
        return Ok(Vec::new());
    }
    let items = node
        .as_seq()
        .ok_or_else(|| wrong(node, "a list of strings", key))?;
    items
        .iter()
        .map(|item| {
            item.as_str()
                .map(|s| (s, item))
                .ok_or_else(|| wrong(item, "a string", key))
        })
        .collect()
}

/// `rules:` maps a rule id or name to `off`, `warning`, `error`, or
/// `{enabled: BOOL, severity: warning|error}`.
fn parse_rules(node: &Node) -> Result<BTreeMap<&'static str, RuleSetting>, InvalidConfig> {
    let mut out = BTreeMap::new();
    if node.is_null() {
        return Ok(out);
    }
    let entries = node
        .as_map()
        .ok_or_else(|| wrong(node, "a mapping of rule ids to settings", "rules"))?;
    for (key, value) in entries {
        let name = key.key_text().unwrap_or_default();
        let rule = find_rule(name).ok_or_else(|| {
            let known: Vec<&str> = RULES.iter().map(|r| r.id).collect();
            InvalidConfig::at(
                key,
                format!("unknown rule {name:?}; rules are {}", known.join(", ")),
            )
        })?;
        let what = format!("rules.{name}");
        let setting = match (value.scalar(), value.as_map()) {
            // YAML 1.1 reads a plain `off` as false and `on` as true.
            (Some(Scalar::Bool(false)), _) => RuleSetting::Off,
            (Some(Scalar::Bool(true)), _) => RuleSetting::On(None),
            (Some(Scalar::Str("warning")), _) => RuleSetting::On(Some(Severity::Warning)),
            (Some(Scalar::Str("error")), _) => RuleSetting::On(Some(Severity::Error)),
            (_, Some(fields)) => rule_fields(fields, &what)?,
            _ => {
                return Err(wrong(
                    value,
                    "off, warning, error or {enabled: false, severity: warning}",
                    &what,
                ));
            }
        };
        out.insert(rule.id, setting);
    }
    Ok(out)
}

/// The long form of a rule's setting, `{enabled: BOOL, severity: warning|error}`; `what`
/// (`rules.IMDS002`) names it in messages.
fn rule_fields(fields: &[(Node, Node)], what: &str) -> Result<RuleSetting, InvalidConfig> {
    let mut enabled = true;
    let mut severity = None;
    for (field, v) in fields {
        match field.key_text().unwrap_or_default() {
            "enabled" => match v.scalar() {
                Some(Scalar::Bool(b)) => enabled = b,
                _ => return Err(wrong(v, "true or false", &format!("{what}.enabled"))),
            },
            "severity" => match v.as_str() {
                Some("warning") => severity = Some(Severity::Warning),
                Some("error") => severity = Some(Severity::Error),
                _ => return Err(wrong(v, "warning or error", &format!("{what}.severity"))),
            },
            other => {
                return Err(InvalidConfig::at(
                    field,
                    format!("unknown key {other:?} in {what}; known keys: enabled, severity"),
                ));
            }
        }
    }
    Ok(if enabled {
        RuleSetting::On(severity)
    } else {
        RuleSetting::Off
    })
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
        text.push_str(&format!(
            "  {}: {:<8} # {}: {}\n",
            rule.id, rule.severity, rule.name, rule.summary
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
         fail-on: error\n",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> (usize, usize, String) {
        match Config::parse(text) {
            Ok(_) => panic!("{text:?} parsed"),
            Err(InvalidConfig { pos, message }) => (pos.line, pos.column, message),
        }
    }

    #[test]
    fn default_file_loads_and_sets_the_defaults() {
        let config = Config::parse(&default_file()).unwrap();
        for rule in RULES {
            assert_eq!(config.settings.severity(rule), Some(rule.severity));
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
