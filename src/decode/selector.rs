//! Kubernetes label selectors (`matchLabels` + `matchExpressions`), decoded and validated.

use super::labels::Labels;
use super::toolkit::{Decoder, expect_map, expect_seq, expect_string};
use super::workload::SERVICE_ACCOUNT_LABEL;
use crate::source::yaml::Node;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    pub values: Vec<String>,
}

impl Requirement {
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In => value.is_some_and(|v| self.values.contains(v)),
            Operator::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }
}

/// A label selector. `matchLabels` entries are kept as `In` requirements with one value, which
/// is exactly what the API server does with them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct LabelSelector {
    pub requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// An empty selector selects everything.
    pub fn selects_all(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Whether some label set satisfies every requirement at once: keys are independent, so
    /// each key needs a value (absent, one its requirements name, or any other) that all of
    /// its requirements accept.
    pub fn is_satisfiable(&self) -> bool {
        let mut by_key: HashMap<&str, Vec<&Requirement>> = HashMap::new();
        for r in &self.requirements {
            by_key.entry(r.key.as_str()).or_default().push(r);
        }
        by_key.values().all(|requirements| {
            let accepted = |v: &LabelValue| requirements.iter().all(|r| r.accepts(v));
            accepted(&LabelValue::Absent)
                || accepted(&LabelValue::Other)
                || requirements.iter().flat_map(|r| &r.values).any(|v| {
                    // Requirements of one key name few values; each is tried once.
                    requirements.iter().all(|r| r.accepts_named(v))
                })
        })
    }

    /// A short human description: `{}` for everything, else `app=web, tier in (a, b)`.
    pub fn describe(&self) -> String {
        if self.selects_all() {
            return "all pods".into();
        }
        let parts: Vec<String> = self
            .requirements
            .iter()
            .map(|r| match (r.operator, r.values.as_slice()) {
                (Operator::In, [one]) => format!("{}={one}", r.key),
                (Operator::In, vs) => format!("{} in ({})", r.key, vs.join(", ")),
                (Operator::NotIn, vs) => format!("{} notin ({})", r.key, vs.join(", ")),
                (Operator::Exists, _) => r.key.clone(),
                (Operator::DoesNotExist, _) => format!("!{}", r.key),
            })
            .collect();
        format!("pods matching {}", parts.join(", "))
    }
}

/// The value a key takes in a label set: absent, one of the values some requirement names, or
/// a value none names (all such values behave alike).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum LabelValue {
    Absent,
    Named(String),
    Other,
}

impl Requirement {
    fn accepts_named(&self, v: &str) -> bool {
        match self.operator {
            Operator::In => self.values.iter().any(|x| x == v),
            Operator::NotIn => !self.values.iter().any(|x| x == v),
            Operator::Exists => true,
            Operator::DoesNotExist => false,
        }
    }

    fn accepts(&self, value: &LabelValue) -> bool {
        match value {
            LabelValue::Absent => matches!(self.operator, Operator::NotIn | Operator::DoesNotExist),
            LabelValue::Named(v) => match self.operator {
                Operator::In => self.values.contains(v),
                Operator::NotIn => !self.values.contains(v),
                Operator::Exists => true,
                Operator::DoesNotExist => false,
            },
            LabelValue::Other => matches!(self.operator, Operator::NotIn | Operator::Exists),
        }
    }
}

/// The value to describe a witness's label by. Every pod has a service account, and
/// selectors only ever test its name with `In`/`NotIn` (the decoders settle `Exists`), so an
/// absent service-account label stands for a name no selector lists.
fn shown<'a>(key: &str, value: &'a LabelValue) -> &'a LabelValue {
    if key == SERVICE_ACCOUNT_LABEL && *value == LabelValue::Absent {
        &LabelValue::Other
    } else {
        value
    }
}

/// Describes a label set found by [`find_gap`](super::labelsets::find_gap) for messages: `pods without label app`.
pub fn describe_gap(gap: &BTreeMap<String, LabelValue>) -> String {
    let mut without = Vec::new();
    let mut with = Vec::new();
    for (key, value) in gap {
        match shown(key, value) {
            LabelValue::Absent => without.push(key.as_str()),
            LabelValue::Named(v) => with.push(format!("{key}={v}")),
            LabelValue::Other => with.push(format!("{key}=<any other value>")),
        }
    }
    match (with.is_empty(), without.is_empty()) {
        (true, true) => "all pods".into(),
        (false, true) => format!("pods labelled {}", with.join(", ")),
        (true, false) => format!("pods without label {}", without.join(", ")),
        (false, false) => format!(
            "pods labelled {} and without {}",
            with.join(", "),
            without.join(", ")
        ),
    }
}

/// Describes a class's witness for people: `a pod labelled app=web, tier=<any other value>`, or
/// `a pod with none of the labels the selectors use`.
pub fn describe_example(example: &BTreeMap<String, LabelValue>) -> String {
    let present: Vec<String> = example
        .iter()
        .filter_map(|(key, value)| match shown(key, value) {
            LabelValue::Absent => None,
            LabelValue::Named(v) => Some(format!("{key}={v}")),
            LabelValue::Other => Some(format!("{key}=<any other value>")),
        })
        .collect();
    if present.is_empty() {
        if example.is_empty() {
            "any pod".into()
        } else {
            "a pod with none of the labels the selectors use".into()
        }
    } else {
        format!("a pod labelled {}", present.join(", "))
    }
}

/// Decodes a selector; `None` or null means the empty selector.
pub fn decode_selector(node: Option<&Node>, d: &mut Decoder) -> LabelSelector {
    decode_selector_with(node, d, true)
}

/// Like [`decode_selector`]; `check_keys: false` accepts keys that are not Kubernetes label
/// keys (Cilium's `k8s:app`, whose source prefix its API server does not check).
pub fn decode_selector_with(
    node: Option<&Node>,
    d: &mut Decoder,
    check_keys: bool,
) -> LabelSelector {
    let mut selector = LabelSelector::default();
    let Some(node) = node.filter(|n| !n.is_null()) else {
        return selector;
    };
    let Some(entries) = expect_map(node, d) else {
        return selector;
    };
    for (key, value) in entries {
        match key.key_text().unwrap_or_default() {
            "matchLabels" => {
                if value.is_null() {
                    continue;
                }
                let Some(labels) = expect_map(value, d) else {
                    continue;
                };
                for (k, v) in labels {
                    let (Some(k), Some(v)) = (expect_string(k, d), expect_label_value(v, d)) else {
                        continue;
                    };
                    if check_keys {
                        check_label_key(&k, key, d);
                    }
                    check_label_value(&v, value, d);
                    selector.requirements.push(Requirement {
                        key: k,
                        operator: Operator::In,
                        values: vec![v],
                    });
                }
            }
            "matchExpressions" => {
                if value.is_null() {
                    continue;
                }
                for item in expect_seq(value, d).unwrap_or_default() {
                    if let Some(r) = decode_requirement(item, d, check_keys) {
                        selector.requirements.push(r);
                    }
                }
            }
            _ => d.unknown_field(key),
        }
    }
    selector
}

/// A label value may be written as a plain number or boolean in YAML, but the API wants a
/// string: `app: 1` is rejected.
fn expect_label_value(node: &Node, d: &mut Decoder) -> Option<String> {
    if node.is_null() {
        // A null label value decodes as "" in Go.
        return Some(String::new());
    }
    expect_string(node, d)
}

fn decode_requirement(node: &Node, d: &mut Decoder, check_keys: bool) -> Option<Requirement> {
    let entries = expect_map(node, d)?;
    let (mut key, mut operator, mut values) = (None, None, Vec::new());
    for (k, v) in entries {
        match k.key_text().unwrap_or_default() {
            "key" => {
                key = expect_string(v, d);
                if let Some(text) = key.as_ref().filter(|_| check_keys) {
                    check_label_key(text, v, d);
                }
            }
            "operator" => {
                operator = match expect_string(v, d)?.as_str() {
                    "In" => Some(Operator::In),
                    "NotIn" => Some(Operator::NotIn),
                    "Exists" => Some(Operator::Exists),
                    "DoesNotExist" => Some(Operator::DoesNotExist),
                    other => {
                        d.invalid(
                            v,
                            format!("operator {other:?} is not In, NotIn, Exists or DoesNotExist"),
                        );
                        None
                    }
                }
            }
            "values" => {
                if !v.is_null() {
                    for item in expect_seq(v, d).unwrap_or_default() {
                        values.extend(expect_string(item, d));
                    }
                }
            }
            _ => d.unknown_field(k),
        }
    }
    let Some(key) = key else {
        d.invalid(node, "a label selector requirement needs a key".into());
        return None;
    };
    let operator = match operator {
        Some(op) => op,
        None => {
            if node.get("operator").is_none() {
                d.invalid(node, format!("requirement on {key:?} needs an operator"));
            }
            return None;
        }
    };
    match operator {
        Operator::In | Operator::NotIn if values.is_empty() => {
            d.invalid(
                node,
                format!("operator {operator:?} on {key:?} needs at least one value"),
            );
        }
        Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
            d.invalid(
                node,
                format!("operator {operator:?} on {key:?} takes no values"),
            );
        }
        _ => {}
    }
    Some(Requirement {
        key,
        operator,
        values,
    })
}

/// A qualified name: an optional DNS-subdomain prefix and `/`, then a name of at most 63
/// characters of alphanumerics, `-`, `_`, `.`, beginning and ending alphanumeric.
fn check_label_key(key: &str, at: &Node, d: &mut Decoder) {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            })
    });
    if !prefix_ok || !is_label_name(name) || name.is_empty() {
        d.invalid(at, format!("{key:?} is not a valid label key"));
    }
}

fn check_label_value(value: &str, at: &Node, d: &mut Decoder) {
    if !value.is_empty() && !is_label_name(value) {
        d.invalid(at, format!("{value:?} is not a valid label value"));
    }
}

fn is_label_name(s: &str) -> bool {
    let bytes = s.as_bytes();
    s.len() <= 63
        && bytes.first().is_none_or(|b| b.is_ascii_alphanumeric())
        && bytes.last().is_none_or(|b| b.is_ascii_alphanumeric())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Label sets to check the selector arithmetic against, by enumeration.
#[cfg(test)]
pub mod brute_force {
    use super::{LabelValue, Operator, Requirement};
    use crate::decode::labels::Labels;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Every label set over keys a, b with values absent, x, y, z (z is never named).
    pub fn all_label_sets() -> Vec<Labels> {
        let values = [None, Some("x"), Some("y"), Some("z")];
        let mut sets = Vec::new();
        for a in values {
            for b in values {
                let labels = [("a", a), ("b", b)]
                    .into_iter()
                    .filter_map(|(k, v)| Some((k.to_string(), v?.to_string())))
                    .collect();
                sets.push(labels);
            }
        }
        sets
    }

    /// A label set for a witness; "any other value" becomes a value no requirement names.
    pub fn concrete(example: &BTreeMap<String, LabelValue>) -> Labels {
        example
            .iter()
            .filter_map(|(k, v)| match v {
                LabelValue::Absent => None,
                LabelValue::Named(n) => Some((k.clone(), n.clone())),
                LabelValue::Other => Some((k.clone(), "\u{0}other".into())),
            })
            .collect()
    }

    /// A requirement over keys a, b and values x, y, as [`all_label_sets`] spans them.
    pub fn arb_requirement() -> impl Strategy<Value = Requirement> {
        let key = prop::sample::select(vec!["a", "b"]);
        let op = prop::sample::select(vec![
            Operator::In,
            Operator::NotIn,
            Operator::Exists,
            Operator::DoesNotExist,
        ]);
        let values = prop::collection::vec(prop::sample::select(vec!["x", "y"]), 1..3);
        (key, op, values).prop_map(|(key, operator, values)| Requirement {
            key: key.into(),
            operator,
            values: match operator {
                Operator::In | Operator::NotIn => values.into_iter().map(String::from).collect(),
                _ => Vec::new(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::selector::brute_force::{all_label_sets, arb_requirement};
    use crate::source::yaml::parse_documents;

    fn selector(yaml: &str) -> (LabelSelector, Vec<String>) {
        let doc = parse_documents(yaml, 0).unwrap().remove(0);
        let mut d = Decoder::default();
        let s = decode_selector(Some(&doc), &mut d);
        (s, d.problems.into_iter().map(|p| p.message).collect())
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn empty_selector_forms_select_everything() {
        for yaml in [
            "{}",
            "matchLabels: {}",
            "matchExpressions: []",
            "matchLabels: {}\nmatchExpressions: []",
            "matchLabels:\n",
        ] {
            let (s, problems) = selector(yaml);
            assert!(s.selects_all(), "{yaml}");
            assert!(problems.is_empty(), "{yaml}: {problems:?}");
        }
        let mut d = Decoder::default();
        assert!(decode_selector(None, &mut d).selects_all());
    }

    #[test]
    fn match_labels_and_expressions_are_anded() {
        let (s, _) = selector(
            "matchLabels: {app: web}\nmatchExpressions:\n- {key: tier, operator: In, values: [front]}\n",
        );
        assert!(s.matches(&labels(&[("app", "web"), ("tier", "front")])));
        assert!(!s.matches(&labels(&[("app", "web")])));
        assert!(!s.matches(&labels(&[("tier", "front")])));
    }

    #[test]
    fn the_four_operators() {
        let (s, _) = selector("matchExpressions:\n- {key: a, operator: In, values: [x, w]}\n");
        assert!(s.matches(&labels(&[("a", "w")])));
        assert!(!s.matches(&labels(&[("a", "z")])));
        assert!(!s.matches(&labels(&[])));
        let (s, _) = selector("matchExpressions:\n- {key: a, operator: NotIn, values: [x]}\n");
        assert!(s.matches(&labels(&[])), "NotIn matches an absent key");
        assert!(s.matches(&labels(&[("a", "z")])));
        assert!(!s.matches(&labels(&[("a", "x")])));
        let (s, _) = selector("matchExpressions:\n- {key: a, operator: Exists}\n");
        assert!(s.matches(&labels(&[("a", "")])));
        assert!(!s.matches(&labels(&[])));
        let (s, _) = selector("matchExpressions:\n- {key: a, operator: DoesNotExist}\n");
        assert!(s.matches(&labels(&[])));
        assert!(!s.matches(&labels(&[("a", "x")])));
    }

    #[test]
    fn satisfiability() {
        let sat = |y: &str| selector(y).0.is_satisfiable();
        assert!(sat("{}"));
        assert!(sat(
            "matchExpressions:\n- {key: a, operator: NotIn, values: [x]}\n- {key: a, operator: Exists}\n"
        ));
        assert!(!sat(
            "matchExpressions:\n- {key: a, operator: In, values: [x]}\n- {key: a, operator: NotIn, values: [x]}\n"
        ));
        assert!(!sat(
            "matchExpressions:\n- {key: a, operator: Exists}\n- {key: a, operator: DoesNotExist}\n"
        ));
        assert!(!sat(
            "matchLabels: {a: x}\nmatchExpressions:\n- {key: a, operator: In, values: [y]}\n"
        ));
        assert!(sat(
            "matchLabels: {a: x}\nmatchExpressions:\n- {key: b, operator: DoesNotExist}\n"
        ));
    }

    #[test]
    fn gaps_and_examples_are_described_for_people() {
        let without_app: BTreeMap<String, LabelValue> =
            [("app".to_string(), LabelValue::Absent)].into();
        assert_eq!(describe_gap(&without_app), "pods without label app");
        // Every pod has a service account: an absent one is one no selector names.
        let account: BTreeMap<String, LabelValue> =
            [(SERVICE_ACCOUNT_LABEL.to_string(), LabelValue::Absent)].into();
        assert_eq!(
            describe_gap(&account),
            "pods labelled @serviceaccount=<any other value>"
        );
        assert_eq!(
            describe_example(&account),
            "a pod labelled @serviceaccount=<any other value>"
        );
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn satisfiable_matches_brute_force(requirements in prop::collection::vec(arb_requirement(), 0..5)) {
            let s = LabelSelector { requirements };
            let brute = all_label_sets().iter().any(|labels| s.matches(labels));
            prop_assert_eq!(s.is_satisfiable(), brute);
        }
    }

    #[test]
    fn yaml_1_1_booleans_are_not_label_values() {
        // `y` and `on` are booleans to go-yaml v2; the API server refuses them as strings.
        let (_, p) = selector("matchExpressions:\n- {key: a, operator: In, values: [y]}\n");
        assert!(p[0].contains("expected a string, found a boolean"), "{p:?}");
        let (_, p) = selector("matchLabels: {enabled: on}\n");
        assert!(p[0].contains("expected a string"), "{p:?}");
    }

    #[test]
    fn invalid_requirements_are_reported() {
        let (_, p) = selector("matchExpressions:\n- {key: a, operator: Has}\n");
        assert!(p[0].contains("not In, NotIn"), "{p:?}");
        let (_, p) = selector("matchExpressions:\n- {key: a, operator: In}\n");
        assert!(p[0].contains("at least one value"), "{p:?}");
        let (_, p) = selector("matchExpressions:\n- {key: a, operator: Exists, values: [x]}\n");
        assert!(p[0].contains("takes no values"), "{p:?}");
        let (_, p) = selector("matchLabels: {app: 1}\n");
        assert!(p[0].contains("expected a string"), "{p:?}");
        let (_, p) = selector("matchLabels: {\"bad key!\": x}\n");
        assert!(p[0].contains("not a valid label key"), "{p:?}");
        let (_, p) = selector("matchLables: {app: web}\n");
        assert!(p[0].contains("unknown field"), "{p:?}");
    }
}
