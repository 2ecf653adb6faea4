//! A patch's `target`: which objects of a build kustomize applies it to. Group, version,
//! kind, name and namespace are regular expressions anchored at both ends; `labelSelector`
//! and `annotationSelector` are label selectors in their string form (`app=web,tier!=db`).

use super::ObjectName;
use crate::decode::labels::Labels;
use crate::decode::selector::{LabelSelector, Operator, Requirement};
use crate::source::yaml::{Node, Span, Value};
use regex_automata::meta::Regex;

#[derive(Debug, Clone)]
pub struct Target {
    group: Option<Pattern>,
    version: Option<Pattern>,
    kind: Option<Pattern>,
    name: Option<Pattern>,
    namespace: Option<Pattern>,
    labels: Option<LabelSelector>,
    annotations: Option<LabelSelector>,
    /// The `target` mapping.
    pub span: Span,
}

#[derive(Debug, Clone)]
struct Pattern {
    regex: Regex,
}

impl Pattern {
    /// As kustomize compiles it: `^(?:text)$`; empty matches everything (`None`).
    fn new(text: &str, field: &str) -> Result<Option<Pattern>, String> {
        if text.is_empty() {
            return Ok(None);
        }
        Regex::new(&format!("^(?:{text})$"))
            .map(|regex| Some(Pattern { regex }))
            .map_err(|e| format!("target {field} {text:?} is not a regular expression imds-lint can evaluate: {e}"))
    }

    fn matches(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

fn matches(pattern: &Option<Pattern>, text: &str) -> bool {
    pattern.as_ref().is_none_or(|p| p.matches(text))
}

/// A namespace as kustomize compares it: none is `default`.
fn effective(namespace: Option<&str>) -> &str {
    namespace.filter(|n| !n.is_empty()).unwrap_or("default")
}

impl Target {
    pub(super) fn parse(node: &Node) -> Result<Target, String> {
        let Some(entries) = node.as_map() else {
            return Err(format!(
                "a patch target must be a mapping, not {}",
                node.type_name()
            ));
        };
        let field = |name: &str| -> Result<&str, String> {
            match node.get(name) {
                None => Ok(""),
                Some(v) if v.is_null() => Ok(""),
                Some(v) => match &v.value {
                    Value::Scalar { text, .. } => Ok(text),
                    _ => Err(format!(
                        "target {name} must be a string, not {}",
                        v.type_name()
                    )),
                },
            }
        };
        for (k, _) in entries {
            let known = [
                "group",
                "version",
                "kind",
                "name",
                "namespace",
                "labelSelector",
                "annotationSelector",
            ];
            if !k.key_text().is_some_and(|k| known.contains(&k)) {
                return Err(format!(
                    "unknown field {:?} in a patch target",
                    k.key_text().unwrap_or("")
                ));
            }
        }
        let selector = |name: &str| -> Result<Option<LabelSelector>, String> {
            let text = field(name)?;
            if text.is_empty() {
                return Ok(None);
            }
            parse_selector(text)
                .map(Some)
                .map_err(|e| format!("target {name} {text:?}: {e}"))
        };
        Ok(Target {
            group: Pattern::new(field("group")?, "group")?,
            version: Pattern::new(field("version")?, "version")?,
            kind: Pattern::new(field("kind")?, "kind")?,
            name: Pattern::new(field("name")?, "name")?,
            namespace: Pattern::new(field("namespace")?, "namespace")?,
            labels: selector("labelSelector")?,
            annotations: selector("annotationSelector")?,
            span: node.span,
        })
    }

    /// Whether kustomize selects `object`, whose name and namespace were once
    /// `previous[0]` (the first is the original one): name and namespace may match the
    /// original or the current one, each on its own.
    pub(super) fn selects(&self, object: &Node, previous: &[ObjectName]) -> bool {
        let api_version = object
            .get("apiVersion")
            .and_then(Node::as_str)
            .unwrap_or("");
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let kind = object.get("kind").and_then(Node::as_str).unwrap_or("");
        if !(matches(&self.group, group)
            && matches(&self.version, version)
            && matches(&self.kind, kind))
        {
            return false;
        }
        let current = ObjectName::of(object);
        let original = previous.first().unwrap_or(&current);
        let name_ok = matches(&self.name, &original.name) || matches(&self.name, &current.name);
        let namespace_ok = matches(&self.namespace, effective(original.namespace.as_deref()))
            || matches(&self.namespace, effective(current.namespace.as_deref()));
        name_ok
            && namespace_ok
            && self
                .labels
                .as_ref()
                .is_none_or(|s| s.matches(&string_map(object, "labels")))
            && self
                .annotations
                .as_ref()
                .is_none_or(|s| s.matches(&string_map(object, "annotations")))
    }
}

/// `metadata.<field>` as strings.
fn string_map(object: &Node, field: &str) -> Labels {
    object
        .get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .filter_map(|(k, v)| match &v.value {
            Value::Scalar { text, .. } => Some((k.key_text()?.to_string(), text.clone())),
            _ => None,
        })
        .collect()
}

/// A label selector's string form, as `labels.Parse` reads it: requirements separated by
/// commas, each `key`, `!key`, `key=v`, `key==v`, `key!=v`, `key in (a,b)`, `key notin (a,b)`.
pub(super) fn parse_selector(text: &str) -> Result<LabelSelector, String> {
    let mut requirements = Vec::new();
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    for part in parts {
        let part = part.trim();
        if part.is_empty() {
            return Err("an empty requirement".to_string());
        }
        requirements.push(parse_requirement(part)?);
    }
    Ok(LabelSelector { requirements })
}

fn parse_requirement(part: &str) -> Result<Requirement, String> {
    let requirement = |key: &str, operator, values: Vec<String>| {
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(format!("{part:?} is not a requirement"));
        }
        Ok(Requirement {
            key: key.to_string(),
            operator,
            values,
        })
    };
    if let Some(key) = part.strip_prefix('!') {
        return requirement(key, Operator::DoesNotExist, Vec::new());
    }
    for (op, operator) in [
        ("!=", Operator::NotIn),
        ("==", Operator::In),
        ("=", Operator::In),
    ] {
        if let Some((key, value)) = part.split_once(op) {
            return requirement(key, operator, vec![value.trim().to_string()]);
        }
    }
    if part.contains(['<', '>']) {
        return Err(format!(
            "{part:?}: `<` and `>` are not evaluated by imds-lint"
        ));
    }
    if let Some(open) = part.find('(') {
        let head = part[..open].trim();
        let (key, word) = head
            .rsplit_once(char::is_whitespace)
            .ok_or_else(|| format!("{part:?} is not a requirement"))?;
        let operator = match word {
            "in" => Operator::In,
            "notin" => Operator::NotIn,
            _ => return Err(format!("{part:?}: unknown operator {word:?}")),
        };
        let inner = part[open + 1..]
            .strip_suffix(')')
            .ok_or_else(|| format!("{part:?}: missing `)`"))?;
        let values = inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        return requirement(key, operator, values);
    }
    requirement(part, Operator::Exists, Vec::new())
}
