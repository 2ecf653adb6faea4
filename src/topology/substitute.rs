//! Flux post-build variable substitution (`spec.postBuild` of a Flux Kustomization): the
//! variables, and their substitution in each object the Kustomization builds.
//!
//! The rules are kustomize-controller's (fluxcd/pkg `kustomize.SubstituteVariables` and the
//! `envsubst` fork it runs; https://fluxcd.io/flux/components/kustomize/kustomizations/
//! #post-build-variable-substitution):
//! * variables come from `substituteFrom` in order (a later source overrides an earlier one),
//!   then from `substitute`, which overrides them all; newlines are dropped from values;
//! * every variable name must match `^[_[:alpha:]][_[:alpha:][:digit:]]*$`, else the whole
//!   build fails: a ConfigMap key such as `my-key` is enough;
//! * nothing is substituted unless at least one variable is defined, not even a
//!   `${var:=default}` (surprising, and documented);
//! * `${var}` is the value, or empty when the variable is unset (the default, non-strict
//!   mode); `${var:=default}`, `${var:-default}` and the other default forms (`=`, `:?`, `:+`)
//!   all give the default when the value is empty; `$${var}` is the text `${var}` and `$$`
//!   is `$`; `$var` without braces is left as it is; `${var-default}` (no colon) and other bad
//!   syntax fail the build;
//! * an object labelled or annotated `kustomize.toolkit.fluxcd.io/substitute: disabled` is
//!   left as it is.
//!
//! Flux substitutes in the YAML text of each object and reads the text back. imds-lint
//! substitutes in each scalar of the object's tree, keys and values: the two agree while a
//! substituted value reads back as the one scalar it replaces. They can differ where the text
//! would change the YAML structure (a value with `: ` or ` #` or a leading indicator in a
//! plain scalar, a quote or backslash in a quoted one, `,` inside a flow collection), and on a
//! `${…}` in a comment, which the tree does not keep (a bad one fails Flux's build). Where a
//! value could change the structure, the substitution is made and a reason says it is
//! uncertain; two keys of a mapping a substitution makes equal fail Flux's build, a reason
//! too. A plain scalar's result is typed again as YAML reads it (`"8080"` into
//! `port: ${PORT}` is the number 8080, an empty result is null), as in Flux.
//! String functions (`${#var}`, `${var^^}`, `${var:1:2}`, `${var/a/b}`, `${var#x}`, a `${…}`
//! inside a default) are not evaluated: the scalar stays as written, with a reason.

use crate::decode::gitops::{FluxTransform, Reason, SourceKind};
use crate::source::yaml::{FileRef, Node, Span, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The label or annotation that turns substitution off for one object.
pub const DISABLE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// A variable's value and where it is written (its file set).
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub value: String,
    pub origin: Span,
}

/// The post-build variables of one Flux Kustomization.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Variables {
    values: BTreeMap<String, Variable>,
    /// What makes the substitution uncertain (a source that is not in the repository) or
    /// makes Flux fail the whole build (an invalid variable name, a source it refuses).
    pub reasons: Vec<Reason>,
}

impl Variables {
    pub fn get(&self, name: &str) -> Option<&Variable> {
        self.values.get(name)
    }

    /// Flux substitutes only when at least one variable is defined.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn define(&mut self, name: &str, value: &str, origin: Span, name_at: Span) {
        if !valid_name(name) {
            self.reasons.push(Reason {
                span: name_at,
                message: format!(
                    "Flux post-build variable name {name:?} is invalid (it must match \
                     ^[_[:alpha:]][_[:alpha:][:digit:]]*$): Flux fails the whole build"
                ),
            });
        }
        self.values.insert(
            name.to_string(),
            Variable {
                value: value.replace('\n', ""),
                origin,
            },
        );
    }
}

/// Flux's check of a variable name; `[:alpha:]` and `[:digit:]` are ASCII in Go's regexp.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The variables of a Flux Kustomization whose transformations are `transform`, in file
/// `file` and namespace `namespace` (where Flux looks its sources up). `lookup` gives the tree
/// of a ConfigMap or Secret of this repository by kind, namespace and name, its spans naming
/// its file (`Node::retag`); `None` when the repository has none.
pub fn variables(
    transform: &FluxTransform,
    file: FileRef,
    namespace: &str,
    mut lookup: impl FnMut(SourceKind, &str, &str) -> Option<Node>,
) -> Variables {
    let mut vars = Variables::default();
    for source in &transform.substitute_from {
        let at = source.span.in_file(file);
        let what = match source.kind {
            SourceKind::ConfigMap => "ConfigMap",
            SourceKind::Secret => "Secret",
        };
        let Some(tree) = lookup(source.kind, namespace, &source.name) else {
            let consequence = if source.optional {
                "optional: Flux goes on without it only if it does not exist in the cluster"
            } else {
                "Flux fails the build if it does not exist in the cluster"
            };
            vars.reasons.push(Reason {
                span: at,
                message: format!(
                    "postBuild.substituteFrom {what} {namespace}/{} is not in the repository: \
                     its variables are unknown ({consequence})",
                    source.name
                ),
            });
            continue;
        };
        match source.kind {
            SourceKind::ConfigMap => config_map_variables(&tree, &mut vars),
            SourceKind::Secret => secret_variables(&tree, &mut vars),
        }
    }
    for entry in &transform.substitute {
        vars.define(
            &entry.key,
            &entry.value,
            entry.value_span.in_file(file),
            entry.key_span.in_file(file),
        );
    }
    vars
}

/// The entries of a ConfigMap's `data` (`binaryData` is not read by Flux).
fn config_map_variables(tree: &Node, vars: &mut Variables) {
    for (key, value) in tree.get("data").and_then(Node::as_map).unwrap_or_default() {
        let (Some(name), Some(text)) = (key.key_text(), value.as_str()) else {
            vars.reasons.push(Reason {
                span: value.span,
                message: format!(
                    "ConfigMap data entry is {}, not a string: the API server refuses the \
                     ConfigMap, so Flux cannot read its variables",
                    value.type_name()
                ),
            });
            continue;
        };
        vars.define(name, text, value.span, key.span);
    }
}

/// The entries of a Secret: `data` base64-decoded, then `stringData`, which the API server
/// merges over `data`.
fn secret_variables(tree: &Node, vars: &mut Variables) {
    for field in ["data", "stringData"] {
        for (key, value) in tree.get(field).and_then(Node::as_map).unwrap_or_default() {
            let Some(name) = key.key_text() else {
                continue;
            };
            let decoded = match (field, value.as_str()) {
                ("data", Some(text)) => base64(text).map(|b| String::from_utf8_lossy(&b).into()),
                (_, text) => text.map(str::to_string),
            };
            match decoded {
                Some(text) => vars.define(name, &text, value.span, key.span),
                None => vars.reasons.push(Reason {
                    span: value.span,
                    message: format!(
                        "Secret {field} entry {name:?} is not {}: the API server refuses the \
                         Secret, so Flux cannot read its variables",
                        if field == "data" {
                            "base64"
                        } else {
                            "a string"
                        }
                    ),
                }),
            }
        }
    }
}

/// Standard base64 with padding, as Go's `encoding/base64` reads a Secret's data (line
/// breaks are skipped); `None` if it is not.
fn base64(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b'\n' | b'\r'))
        .collect();
    if !digits.len().is_multiple_of(4) {
        return None;
    }
    let value = |b: u8| match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(digits.len() / 4 * 3);
    let quads = digits.chunks(4).count();
    for (i, quad) in digits.chunks(4).enumerate() {
        let padding = quad.iter().rev().take_while(|&&b| b == b'=').count();
        if padding > 2 || (padding > 0 && i + 1 != quads) {
            return None;
        }
        let mut n: u32 = 0;
        for &b in &quad[..4 - padding] {
            n = (n << 6) | u32::from(value(b)?);
        }
        n <<= 6 * padding as u32;
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - padding]);
    }
    Some(out)
}

/// One substitution made in an object, for messages and `render` comments.
#[derive(Debug, Clone, PartialEq)]
pub struct Substitution {
    pub variable: String,
    /// What was put in place of the variable.
    pub value: String,
    /// The scalar, where the object has it.
    pub at: Span,
    /// Where the value is written (the `substitute:` entry's value, or the ConfigMap or Secret
    /// data entry); `None` where the object's own default was used, or the variable is unset
    /// (and the empty string was put in).
    pub from: Option<Span>,
}

/// What substitution did to one object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Substituted {
    /// In the order of the object's text.
    pub substitutions: Vec<Substitution>,
    /// Where the result is uncertain, or where Flux fails the whole build; spans in the
    /// object have no file set (the object's file).
    pub reasons: Vec<Reason>,
}

/// Substitutes `vars` in `object`'s scalars, keys and values, as Flux does after the build.
/// A substituted scalar's span becomes its value's origin when a variable gave it.
pub fn substitute(object: &mut Node, vars: &Variables) -> Substituted {
    let mut done = Substituted::default();
    if vars.is_empty() || disabled(object) || !mentions_dollar(object) {
        return done;
    }
    let mut pending: Vec<&mut Node> = vec![object];
    while let Some(node) = pending.pop() {
        if matches!(node.value, Value::Scalar { .. }) {
            substitute_scalar(node, vars, &mut done);
            continue;
        }
        match &mut node.value {
            Value::Scalar { .. } => {}
            Value::Seq(items) => pending.extend(Arc::make_mut(items).iter_mut()),
            Value::Map(entries) => {
                let entries = Arc::make_mut(entries);
                // Keys first, here, so that two keys a substitution makes equal are seen.
                let mut keys_changed = false;
                for (k, _) in entries.iter_mut() {
                    if matches!(k.value, Value::Scalar { .. }) {
                        keys_changed |= substitute_scalar(k, vars, &mut done);
                    }
                }
                if keys_changed {
                    duplicate_keys(entries, &mut done);
                }
                for (k, v) in entries.iter_mut() {
                    if !matches!(k.value, Value::Scalar { .. }) {
                        pending.push(k);
                    }
                    pending.push(v);
                }
            }
        }
    }
    done.substitutions.sort_by_key(|s| s.at.start);
    done.reasons.sort_by_key(|r| r.span.start);
    done
}

/// A reason for each key of `entries` that repeats an earlier one after substitution: in
/// Flux's text the mapping has the key twice, which its YAML reader refuses.
fn duplicate_keys(entries: &[(Node, Node)], done: &mut Substituted) {
    let mut seen = std::collections::HashSet::new();
    for (k, _) in entries {
        if let Some(text) = k.key_text()
            && !seen.insert(text)
        {
            done.reasons.push(Reason {
                span: k.span,
                message: format!(
                    "Flux substitutes in the YAML text: key {text:?} appears twice after \
                     substitution, and Flux fails the build"
                ),
            });
        }
    }
}

/// Whether the object is labelled or annotated `kustomize.toolkit.fluxcd.io/substitute:
/// disabled`.
fn disabled(object: &Node) -> bool {
    let metadata = object.get("metadata");
    ["labels", "annotations"].into_iter().any(|field| {
        metadata
            .and_then(|m| m.get(field))
            .and_then(|m| m.get(DISABLE_KEY))
            .and_then(Node::as_str)
            == Some("disabled")
    })
}

/// Whether some scalar of the tree holds a `$` (nothing is copied otherwise).
fn mentions_dollar(object: &Node) -> bool {
    let mut pending = vec![object];
    while let Some(node) = pending.pop() {
        match &node.value {
            Value::Scalar { text, .. } => {
                if text.contains('$') {
                    return true;
                }
            }
            Value::Seq(items) => pending.extend(items.iter()),
            Value::Map(entries) => pending.extend(entries.iter().flat_map(|(k, v)| [k, v])),
        }
    }
    false
}

/// Substitutes in one scalar; whether it changed.
fn substitute_scalar(node: &mut Node, vars: &Variables, done: &mut Substituted) -> bool {
    let Value::Scalar { text, quoted } = &node.value else {
        return false;
    };
    if !text.contains('$') {
        return false;
    }
    let quoted = *quoted;
    let (result, pieces) = match evaluate(text, vars) {
        Ok(evaluated) => evaluated,
        Err(Failure::Refused(why)) => {
            done.reasons.push(Reason {
                span: node.span,
                message: format!("Flux fails the build: bad substitution in {text:?} ({why})"),
            });
            return false;
        }
        Err(Failure::Unsupported(what)) => {
            done.reasons.push(Reason {
                span: node.span,
                message: format!(
                    "Flux substitution {what} in {text:?} is not evaluated: its value is unknown"
                ),
            });
            return false;
        }
    };
    if pieces.is_empty() && result == *text {
        return false;
    }
    let inserted: Vec<&str> = pieces.iter().map(|p| p.value.as_str()).collect();
    let result = if quoted {
        result
    } else {
        // Read back as a plain scalar, the text loses its surrounding spaces.
        result.trim_matches([' ', '\t']).to_string()
    };
    if could_change_structure(&result, &inserted, quoted) {
        done.reasons.push(Reason {
            span: node.span,
            message: format!(
                "Flux substitutes in the YAML text: {result:?} may read back as more than one \
                 {} scalar",
                if quoted { "quoted" } else { "plain" }
            ),
        });
    }
    let span = pieces.iter().find_map(|p| p.from).unwrap_or(node.span);
    for piece in pieces {
        done.substitutions.push(Substitution {
            variable: piece.variable,
            value: piece.value,
            at: node.span,
            from: piece.from,
        });
    }
    node.value = Value::Scalar {
        text: result,
        quoted,
    };
    node.span = span;
    true
}

/// Whether Flux's text substitution could read back as something else than the one scalar.
fn could_change_structure(result: &str, inserted: &[&str], quoted: bool) -> bool {
    if quoted {
        return inserted.iter().any(|v| v.contains(['"', '\'', '\\', '\n']));
    }
    let mut chars = result.chars();
    let first = chars.next();
    let second = chars.next();
    let leading_indicator = match first {
        Some('-' | '?' | ':') => second.is_none_or(|c| c == ' ' || c == '\t'),
        Some(c) => "[]{},#&*!|>'\"%@`".contains(c),
        None => false,
    };
    leading_indicator
        || result.contains(": ")
        || result.contains(":\t")
        || result.ends_with(':')
        || result.contains(" #")
        || result.contains("\t#")
        || inserted
            .iter()
            .any(|v| v.contains(['\n', ',', '[', ']', '{', '}']))
}

/// The value one `${…}` gave.
struct Piece {
    variable: String,
    value: String,
    from: Option<Span>,
}

enum Failure {
    /// envsubst refuses the text: Flux fails the build.
    Refused(&'static str),
    /// A form imds-lint does not evaluate.
    Unsupported(&'static str),
}

/// The text after substitution, and what each `${…}` gave; a scan of the text as envsubst's
/// scanner makes it.
fn evaluate(text: &str, vars: &Variables) -> Result<(String, Vec<Piece>), Failure> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut pieces = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match (chars[i], chars.get(i + 1)) {
            ('$', Some('{')) => {
                let (piece, end) = expression(&chars, i + 2, vars)?;
                out.push_str(&piece.value);
                pieces.push(piece);
                i = end;
            }
            ('$', Some('$')) => {
                out.push('$');
                i += 2;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok((out, pieces))
}

/// One `${…}` whose name starts at `start`: its value and the index after its `}`.
fn expression(chars: &[char], start: usize, vars: &Variables) -> Result<(Piece, usize), Failure> {
    if chars.get(start) == Some(&'#') {
        return Err(Failure::Unsupported("${#var}"));
    }
    let mut end = start;
    while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
        end += 1;
    }
    if end == start {
        return Err(Failure::Refused("no variable name after ${"));
    }
    let variable: String = chars[start..end].iter().collect();
    let set = vars.get(&variable);
    let value = set.map_or("", |v| v.value.as_str());
    let default_from = match (chars.get(end), chars.get(end + 1)) {
        (Some('}'), _) => None,
        (Some(':'), Some('=' | '-' | '?' | '+')) => Some(end + 2),
        (Some(':'), _) => return Err(Failure::Unsupported("${var:offset}")),
        (Some('='), _) => Some(end + 1),
        (Some(',' | '^'), _) => return Err(Failure::Unsupported("${var^^} / ${var,,}")),
        (Some('/'), _) => return Err(Failure::Unsupported("${var/pattern/text}")),
        (Some('#' | '%'), _) => return Err(Failure::Unsupported("${var#prefix} / ${var%suffix}")),
        _ => return Err(Failure::Refused("missing closing brace")),
    };
    let Some(from) = default_from else {
        let piece = Piece {
            variable,
            value: value.to_string(),
            from: set.map(|v| v.origin),
        };
        return Ok((piece, end + 1));
    };
    let mut close = from;
    while close < chars.len() && chars[close] != '}' {
        if chars[close] == '$' && chars.get(close + 1) == Some(&'{') {
            return Err(Failure::Unsupported("a ${…} inside a default"));
        }
        close += 1;
    }
    if close == chars.len() {
        return Err(Failure::Refused("missing closing brace"));
    }
    let default: String = chars[from..close].iter().collect();
    let piece = if value.is_empty() && !default.is_empty() {
        Piece {
            variable,
            value: default,
            from: None,
        }
    } else {
        Piece {
            variable,
            value: value.to_string(),
            from: set.map(|v| v.origin),
        }
    };
    Ok((piece, close + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::gitops::{Applier, ApplierKind, decode};
    use crate::source::yaml::{Scalar, parse_documents};

    const FLUX_FILE: usize = 3;
    const VARS_FILE: usize = 7;

    fn tree(text: &str) -> Node {
        parse_documents(text, 0).expect("YAML").remove(0)
    }

    /// The transformations of a Flux Kustomization with `spec` (indented by two).
    fn flux(spec: &str) -> FluxTransform {
        let text = format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: apps, namespace: flux-system}}\nspec:\n{spec}"
        );
        match decode(ApplierKind::FluxKustomization, &tree(&text)) {
            Applier::Flux(k) => *k.transform,
            Applier::Argo(_) => panic!("a Flux Kustomization"),
        }
    }

    /// The variables of `spec`, with `sources` (kind, name, tree text) in namespace
    /// flux-system of file VARS_FILE.
    fn vars_with(spec: &str, sources: &[(SourceKind, &str, &str)]) -> Variables {
        variables(
            &flux(spec),
            FileRef::new(FLUX_FILE),
            "flux-system",
            |kind, namespace, name| {
                let (_, _, text) = sources
                    .iter()
                    .find(|(k, n, _)| *k == kind && *n == name && namespace == "flux-system")?;
                let mut node = tree(text);
                node.retag(FileRef::new(VARS_FILE));
                Some(node)
            },
        )
    }

    fn inline(pairs: &str) -> Variables {
        vars_with(&format!("  postBuild:\n    substitute: {{{pairs}}}\n"), &[])
    }

    fn value(vars: &Variables, name: &str) -> Option<(String, u32, Option<usize>)> {
        vars.get(name).map(|v| {
            (
                v.value.clone(),
                v.origin.start.line,
                v.origin.file.map(FileRef::index),
            )
        })
    }

    #[test]
    fn substitute_overrides_substitute_from_and_a_later_source_an_earlier_one() {
        let spec = "  postBuild:\n    substitute:\n      X: inline\n    substituteFrom:\n      - {kind: ConfigMap, name: cm}\n      - {kind: Secret, name: sec}\n";
        let cm =
            "kind: ConfigMap\ndata:\n  X: from-cm\n  Y: from-cm\n  Z: from-cm\n  W: \"a\\nb\"\n";
        // c2VjcmV0 is "secret"; stringData is merged over data, as the API server does.
        let sec = "kind: Secret\ndata:\n  Z: c2VjcmV0\n  V: c2VjcmV0\nstringData:\n  V: plain\n";
        let vars = vars_with(
            spec,
            &[
                (SourceKind::ConfigMap, "cm", cm),
                (SourceKind::Secret, "sec", sec),
            ],
        );
        assert_eq!(vars.reasons, vec![]);
        assert_eq!(
            value(&vars, "X"),
            Some(("inline".into(), 7, Some(FLUX_FILE)))
        );
        assert_eq!(
            value(&vars, "Y"),
            Some(("from-cm".into(), 4, Some(VARS_FILE)))
        );
        assert_eq!(
            value(&vars, "Z"),
            Some(("secret".into(), 3, Some(VARS_FILE)))
        );
        assert_eq!(
            value(&vars, "V"),
            Some(("plain".into(), 6, Some(VARS_FILE)))
        );
        // Newlines are dropped from values.
        assert_eq!(value(&vars, "W").map(|v| v.0), Some("ab".into()));
    }

    #[test]
    fn a_source_not_in_the_repository_makes_the_variables_unknown() {
        let spec = "  postBuild:\n    substituteFrom:\n      - {kind: ConfigMap, name: gone}\n      - {kind: Secret, name: gone, optional: true}\n";
        let vars = vars_with(spec, &[]);
        assert!(vars.is_empty());
        let found: Vec<(u32, Option<usize>, bool)> = vars
            .reasons
            .iter()
            .map(|r| {
                (
                    r.span.start.line,
                    r.span.file.map(FileRef::index),
                    r.message.contains("optional"),
                )
            })
            .collect();
        assert_eq!(
            found,
            [(7, Some(FLUX_FILE), false), (8, Some(FLUX_FILE), true)]
        );
        assert!(
            vars.reasons[0]
                .message
                .contains("ConfigMap flux-system/gone is not in the repository")
        );
    }

    #[test]
    fn names_flux_refuses_and_unreadable_sources_are_reasons() {
        let spec = "  postBuild:\n    substitute: {ok_1: a, 1st: b}\n    substituteFrom:\n      - {kind: ConfigMap, name: cm}\n      - {kind: Secret, name: sec}\n";
        let cm = "kind: ConfigMap\ndata:\n  my-key: x\n  port: 8080\n";
        let sec = "kind: Secret\ndata:\n  T: not*base64\n";
        let vars = vars_with(
            spec,
            &[
                (SourceKind::ConfigMap, "cm", cm),
                (SourceKind::Secret, "sec", sec),
            ],
        );
        let mut found: Vec<(Option<usize>, u32, &str)> = vars
            .reasons
            .iter()
            .map(|r| {
                (
                    r.span.file.map(FileRef::index),
                    r.span.start.line,
                    r.message.split(':').next().unwrap(),
                )
            })
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                (
                    Some(FLUX_FILE),
                    6,
                    "Flux post-build variable name \"1st\" is invalid (it must match ^[_["
                ),
                (
                    Some(VARS_FILE),
                    3,
                    "Flux post-build variable name \"my-key\" is invalid (it must match ^[_["
                ),
                (Some(VARS_FILE), 3, "Secret data entry \"T\" is not base64"),
                (
                    Some(VARS_FILE),
                    4,
                    "ConfigMap data entry is an integer, not a string"
                ),
            ]
        );
        assert!(
            vars.reasons
                .iter()
                .any(|r| r.message.ends_with("Flux fails the whole build"))
        );
        assert_eq!(value(&vars, "ok_1").map(|v| v.0), Some("a".into()));
    }

    #[test]
    fn base64_as_go_reads_it() {
        assert_eq!(base64("aGVsbG8="), Some(b"hello".to_vec()));
        assert_eq!(base64("aGVs\nbG8h"), Some(b"hello!".to_vec()));
        assert_eq!(base64("aGk="), Some(b"hi".to_vec()));
        assert_eq!(base64("aA=="), Some(b"h".to_vec()));
        assert_eq!(base64(""), Some(Vec::new()));
        for bad in ["aGVsbG8", "a===", "aA==aGk=", "aG!s"] {
            assert_eq!(base64(bad), None, "{bad}");
        }
    }

    /// The object's tree after substitution, and what was done.
    fn run(object: &str, vars: &Variables) -> (Node, Substituted) {
        let mut node = tree(object);
        let done = substitute(&mut node, vars);
        (node, done)
    }

    fn at<'a>(node: &'a Node, path: &[&str]) -> &'a Node {
        path.iter()
            .fold(node, |n, key| n.get(key).unwrap_or_else(|| panic!("{key}")))
    }

    const POLICY: &str = "kind: NetworkPolicy\nmetadata: {name: allow}\nspec:\n  cidr: ${ALLOWED_CIDR:=10.0.0.0/8}\n";

    #[test]
    fn a_variable_replaces_the_default_and_the_value_points_at_its_origin() {
        let vars = inline("ALLOWED_CIDR: 169.254.0.0/16");
        let (node, done) = run(POLICY, &vars);
        let cidr = at(&node, &["spec", "cidr"]);
        assert_eq!(cidr.as_str(), Some("169.254.0.0/16"));
        assert_eq!(
            (cidr.span.start.line, cidr.span.file),
            (6, Some(FileRef::new(FLUX_FILE)))
        );
        assert_eq!(done.reasons, vec![]);
        let s = &done.substitutions[0];
        assert_eq!(
            (s.variable.as_str(), s.value.as_str(), s.at.start.line),
            ("ALLOWED_CIDR", "169.254.0.0/16", 4)
        );
        assert_eq!(s.from, Some(cidr.span));
    }

    #[test]
    fn an_unset_variable_takes_the_default_written_in_the_object() {
        let vars = inline("OTHER: x");
        let (node, done) = run(POLICY, &vars);
        let cidr = at(&node, &["spec", "cidr"]);
        assert_eq!(cidr.as_str(), Some("10.0.0.0/8"));
        assert_eq!((cidr.span.start.line, cidr.span.file), (4, None));
        assert_eq!(done.substitutions[0].from, None);
        // An empty value takes the default too; every default form behaves alike.
        let vars = inline("A: ''");
        for form in [":=", ":-", ":?", ":+", "="] {
            let (node, _) = run(&format!("v: ${{A{form}d}}\n"), &vars);
            assert_eq!(node.get("v").and_then(Node::as_str), Some("d"), "{form}");
        }
    }

    #[test]
    fn without_any_variable_flux_substitutes_nothing_not_even_defaults() {
        let (node, done) = run(POLICY, &Variables::default());
        assert_eq!(
            at(&node, &["spec", "cidr"]).as_str(),
            Some("${ALLOWED_CIDR:=10.0.0.0/8}")
        );
        assert_eq!(done, Substituted::default());
    }

    #[test]
    fn an_unset_variable_without_default_is_empty() {
        let vars = inline("OTHER: x");
        let (node, done) = run(
            "plain: ${MISSING}\nquoted: \"${MISSING}\"\nin: a${MISSING}b\n",
            &vars,
        );
        // A plain scalar that becomes empty reads back as null, as in Flux's text.
        assert_eq!(node.get("plain").map(Node::is_null), Some(true));
        assert_eq!(node.get("quoted").and_then(Node::as_str), Some(""));
        assert_eq!(node.get("in").and_then(Node::as_str), Some("ab"));
        assert!(
            done.substitutions
                .iter()
                .all(|s| s.from.is_none() && s.value.is_empty())
        );
        assert_eq!(done.substitutions.len(), 3);
    }

    #[test]
    fn escapes_and_unbraced_variables_stay_text() {
        let vars = inline("A: x");
        let (node, done) = run(
            "e: $${A}\nd: a$$b\nu: $A\nm: $$$${A}\nt: '$${A}-${A}'\n",
            &vars,
        );
        let text = |k: &str| node.get(k).and_then(Node::as_str).map(str::to_string);
        assert_eq!(text("e").as_deref(), Some("${A}"));
        assert_eq!(text("d").as_deref(), Some("a$b"));
        assert_eq!(text("u").as_deref(), Some("$A"));
        assert_eq!(text("m").as_deref(), Some("$${A}"));
        assert_eq!(text("t").as_deref(), Some("${A}-x"));
        assert_eq!(done.substitutions.len(), 1);
    }

    #[test]
    fn a_plain_result_is_typed_again_a_quoted_one_stays_a_string() {
        let vars = inline("PORT: '8080', ON: 'true'");
        let (node, _) = run("p: ${PORT}\nq: \"${PORT}\"\nb: ${ON}\n", &vars);
        assert_eq!(
            node.get("p").and_then(Node::scalar),
            Some(Scalar::Int(8080))
        );
        assert_eq!(node.get("q").and_then(Node::as_str), Some("8080"));
        assert_eq!(
            node.get("b").and_then(Node::scalar),
            Some(Scalar::Bool(true))
        );
    }

    #[test]
    fn keys_are_substituted_and_a_mixed_scalar_points_at_its_first_variable() {
        let vars = inline("K: team, A: web, B: prod");
        let (node, done) = run("labels:\n  ${K}: ${A}-${NONE:=x}-${B}\n", &vars);
        let (key, value) = &node.get("labels").unwrap().as_map().unwrap()[0];
        assert_eq!(key.key_text(), Some("team"));
        assert_eq!(value.as_str(), Some("web-x-prod"));
        assert_eq!(value.span.file, Some(FileRef::new(FLUX_FILE)));
        assert_eq!(
            done.substitutions
                .iter()
                .map(|s| (s.variable.as_str(), s.from.is_some()))
                .collect::<Vec<_>>(),
            [("K", true), ("A", true), ("NONE", false), ("B", true)]
        );
    }

    #[test]
    fn keys_a_substitution_makes_equal_fail_the_build() {
        let vars = inline("K: app");
        let (_, done) = run("labels:\n  app: a\n  ${K}: b\n  other: c\n", &vars);
        assert_eq!(done.reasons.len(), 1, "{:?}", done.reasons);
        assert!(
            done.reasons[0]
                .message
                .contains("key \"app\" appears twice")
        );
        assert_eq!(done.reasons[0].span.file, Some(FileRef::new(FLUX_FILE)));
    }

    #[test]
    fn the_disabled_label_or_annotation_leaves_the_object_as_written() {
        let vars = inline("A: x");
        for field in ["labels", "annotations"] {
            let object = format!(
                "metadata:\n  {field}: {{kustomize.toolkit.fluxcd.io/substitute: disabled}}\nv: ${{A}}\n"
            );
            let (node, done) = run(&object, &vars);
            assert_eq!(
                node.get("v").and_then(Node::as_str),
                Some("${A}"),
                "{field}"
            );
            assert_eq!(done, Substituted::default());
        }
        let (node, _) = run(
            "metadata:\n  labels: {kustomize.toolkit.fluxcd.io/substitute: enabled}\nv: ${A}\n",
            &vars,
        );
        assert_eq!(node.get("v").and_then(Node::as_str), Some("x"));
    }

    #[test]
    fn bad_syntax_fails_the_flux_build_and_functions_are_not_evaluated() {
        let vars = inline("A: x");
        for (text, refused) in [
            ("${}", true),
            ("${A", true),
            ("${A b}", true),
            ("${A-d}", true),
            ("${A:=d", true),
            ("${-A}", true),
            ("${#A}", false),
            ("${A^^}", false),
            ("${A,,}", false),
            ("${A:1:2}", false),
            ("${A/x/y}", false),
            ("${A#x}", false),
            ("${A%x}", false),
            ("${A:=${B}}", false),
        ] {
            let (node, done) = run(&format!("v: '{text}'\n"), &vars);
            assert_eq!(node.get("v").and_then(Node::as_str), Some(text));
            assert_eq!(done.reasons.len(), 1, "{text}");
            let message = &done.reasons[0].message;
            assert_eq!(
                message.starts_with("Flux fails the build"),
                refused,
                "{message}"
            );
            assert_eq!(done.reasons[0].span.start.line, 1);
        }
    }

    #[test]
    fn a_value_that_could_change_the_yaml_structure_is_uncertain() {
        let vars =
            inline("A: 'a: b', H: 'x #y', L: '[1]', Q: 'say \"hi\"', S: ' 10.0.0.0/8 ', D: '- x'");
        let (node, done) = run(
            "a: ${A}\nh: ${H}\nl: ${L}\nq: \"${Q}\"\ns: ${S}\nd: ${D}\nok: \"${A}\"\n",
            &vars,
        );
        let lines: Vec<u32> = done.reasons.iter().map(|r| r.span.start.line).collect();
        assert_eq!(lines, [1, 2, 3, 4, 6], "{:?}", done.reasons);
        // The substitution is still made; a plain result loses its surrounding spaces.
        assert_eq!(node.get("a").and_then(Node::as_str), Some("a: b"));
        assert_eq!(node.get("s").and_then(Node::as_str), Some("10.0.0.0/8"));
        assert_eq!(node.get("ok").and_then(Node::as_str), Some("a: b"));
    }

    #[test]
    fn an_object_without_a_dollar_is_not_copied() {
        let vars = inline("A: x");
        let mut node = tree("spec: {egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]}\n");
        let before = node.clone();
        let Value::Map(entries) = &before.value else {
            panic!("a mapping")
        };
        let shared = Arc::clone(entries);
        assert_eq!(substitute(&mut node, &vars), Substituted::default());
        let Value::Map(after) = &node.value else {
            panic!("a mapping")
        };
        assert!(Arc::ptr_eq(&shared, after));
    }

    #[test]
    fn deep_objects_cost_no_call_stack() {
        let vars = inline("A: x");
        let depth = 200;
        let text = "[".repeat(depth) + "'${A}'" + &"]".repeat(depth) + "\n";
        let (node, done) = run(&text, &vars);
        assert_eq!(done.substitutions.len(), 1);
        assert!(matches!(node.value, Value::Seq(_)));
    }
}
