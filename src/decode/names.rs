//! Object names and namespaces as the API server validates them (apimachinery's
//! `IsDNS1123Label` and `IsDNS1123Subdomain`, and the name rule of each kind), and mapping keys
//! written twice, which kubectl's strict decoding refuses. An object with either never
//! reaches a cluster.

use super::kind::Kind;
use super::toolkit::{Problem, ProblemKind};
use super::workload::WorkloadKind;
use crate::source::yaml::{Node, Pos};
use std::collections::HashMap;
use std::collections::hash_map::Entry;

const LABEL_MAX: usize = 63;
/// Mappings up to this size are checked for keys written twice by a scan.
const SCAN_UP_TO: usize = 16;
const SUBDOMAIN_MAX: usize = 253;

/// One dot-free part of a DNS-1123 name: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
fn is_label_text(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// apimachinery's `IsDNS1123Label`.
pub fn is_dns1123_label(s: &str) -> bool {
    s.len() <= LABEL_MAX && is_label_text(s)
}

/// apimachinery's `IsDNS1123Subdomain`.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= SUBDOMAIN_MAX && s.split('.').all(is_label_text)
}

const LABEL_RULE: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric \
                          characters or '-', start and end with an alphanumeric character, and \
                          be at most 63 characters";
const SUBDOMAIN_RULE: &str = "a lowercase RFC 1123 subdomain must consist of lower case \
                              alphanumeric characters, '-' or '.', start and end with an \
                              alphanumeric character, and be at most 253 characters";

/// Why the API server refuses `namespace` as a namespace (a Namespace's name, or any
/// namespaced object's `metadata.namespace`): it must be a DNS-1123 label.
pub fn namespace_problem(namespace: &str) -> Option<String> {
    (!is_dns1123_label(namespace))
        .then(|| format!("namespace {namespace:?} is not valid: {LABEL_RULE}"))
}

/// Why the API server refuses `name` as the name of an object of this kind, for the kinds the
/// analysis reads: a Namespace's name is a DNS-1123 label; a CronJob's a subdomain of at most
/// 52 characters (its Jobs append 11), a Job's of at most 63 (it becomes a label value of its
/// pods); every other kind read here (NetworkPolicy, the built-in workloads, and custom
/// resources, which the API server checks the same way) a DNS-1123 subdomain.
pub fn name_problem(kind: Kind, written_kind: &str, name: &str) -> Option<String> {
    let longest = match kind {
        Kind::Namespace => {
            return (!is_dns1123_label(name))
                .then(|| format!("name {name:?} is not a valid Namespace name: {LABEL_RULE}"));
        }
        Kind::Workload(WorkloadKind::CronJob) if written_kind == "CronJob" => 52,
        Kind::Workload(WorkloadKind::Job) if written_kind == "Job" => LABEL_MAX,
        Kind::NetworkPolicy | Kind::Engine(_) | Kind::Workload(_) | Kind::Applier(_) => {
            SUBDOMAIN_MAX
        }
        // Not checked: Services (DNS-1035 labels) and their endpoints only lend addresses
        // to the rules that name them.
        Kind::Controller(_) | Kind::Service(_) | Kind::Other { .. } => return None,
    };
    if !is_dns1123_subdomain(name) {
        return Some(format!(
            "name {name:?} is not a valid {written_kind} name: {SUBDOMAIN_RULE}"
        ));
    }
    (name.len() > longest).then(|| {
        format!("name {name:?} is not a valid {written_kind} name: it must be no more than {longest} characters")
    })
}

/// Each mapping key written a second time in the tree, at the second key: kustomize (and so
/// Flux and Argo CD building it) refuses the object with go-yaml's "mapping key already
/// defined", as kubectl's strict client-side decoding did. An explicit stack: depth costs no
/// call stack.
pub fn duplicate_keys(tree: &Node) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut pending = vec![tree];
    while let Some(node) = pending.pop() {
        if let Some(items) = node.as_seq() {
            pending.extend(items);
            continue;
        }
        let Some(entries) = node.as_map() else {
            continue;
        };
        // Most mappings are small: a scan costs less than a hash map.
        let mut seen: HashMap<&str, Pos> = HashMap::new();
        for (i, (key, value)) in entries.iter().enumerate() {
            pending.push(value);
            let Some(text) = key.key_text() else {
                continue;
            };
            let first = if entries.len() <= SCAN_UP_TO {
                entries[..i]
                    .iter()
                    .find(|(k, _)| k.key_text() == Some(text))
                    .map(|(k, _)| k.span.start)
            } else {
                match seen.entry(text) {
                    Entry::Occupied(first) => Some(*first.get()),
                    Entry::Vacant(slot) => {
                        slot.insert(key.span.start);
                        None
                    }
                }
            };
            if let Some(first) = first {
                problems.push(Problem {
                    kind: ProblemKind::Invalid,
                    span: key.span,
                    message: format!(
                        "mapping key {text:?} already defined at line {}: kustomize refuses \
                         the object, as kubectl's strict YAML decoding does",
                        first.line
                    ),
                });
            }
        }
    }
    problems.sort_by_key(|p| p.span.start);
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::kind::classify;
    use crate::source::yaml::parse_documents;

    #[test]
    fn labels_and_subdomains_as_apimachinery_has_them() {
        for good in ["a", "0", "a-b", "abc123", &"a".repeat(63)] {
            assert!(is_dns1123_label(good), "{good}");
            assert!(is_dns1123_subdomain(good), "{good}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "A",
            "a_b",
            "a.b",
            "a b",
            "é",
            &"a".repeat(64),
        ] {
            assert!(!is_dns1123_label(bad), "{bad}");
        }
        assert!(is_dns1123_subdomain("a.b-c.d"));
        assert!(is_dns1123_subdomain(&format!(
            "{}.{}",
            "a".repeat(63),
            "b".repeat(63)
        )));
        for bad in [
            "",
            ".a",
            "a.",
            "a..b",
            "a.-b",
            "Deny_Egress_All",
            &"a".repeat(254),
        ] {
            assert!(!is_dns1123_subdomain(bad), "{bad}");
        }
    }

    #[test]
    fn each_kind_has_its_rule() {
        let np = classify("NetworkPolicy", "networking.k8s.io/v1");
        assert!(name_problem(np, "NetworkPolicy", "deny.egress").is_none());
        let message = name_problem(np, "NetworkPolicy", "Deny_Egress_All").unwrap();
        assert!(message.contains("RFC 1123 subdomain"), "{message}");
        let ns = classify("Namespace", "v1");
        assert!(name_problem(ns, "Namespace", "a.b").is_some());
        assert!(name_problem(ns, "Namespace", "shop").is_none());
        let cron = classify("CronJob", "batch/v1");
        assert!(name_problem(cron, "CronJob", &"c".repeat(52)).is_none());
        assert!(
            name_problem(cron, "CronJob", &"c".repeat(53))
                .unwrap()
                .contains("52")
        );
        let job = classify("Job", "batch/v1");
        assert!(name_problem(job, "Job", &"j".repeat(64)).is_some());
        let deployment = classify("Deployment", "apps/v1");
        assert!(name_problem(deployment, "Deployment", &"d".repeat(64)).is_none());
        let cilium = classify("CiliumNetworkPolicy", "cilium.io/v2");
        assert!(name_problem(cilium, "CiliumNetworkPolicy", "Upper").is_some());
        // Kinds the analysis does not read keep their own rules.
        let cm = classify("ConfigMap", "v1");
        assert!(name_problem(cm, "ConfigMap", "Any_Name").is_none());
        assert!(namespace_problem("Not Valid!").is_some());
        assert!(namespace_problem("kube-system").is_none());
    }

    #[test]
    fn keys_written_twice_are_found_at_the_second() {
        let tree = &parse_documents(
            "a: 1\nb:\n  - {x: 1, y: 2, x: 3}\n  - {x: 1}\nc: {d: 1}\na: 2\n\"a\": 3\n",
            0,
        )
        .unwrap()[0];
        let found: Vec<(u32, u32, String)> = duplicate_keys(tree)
            .into_iter()
            .map(|p| (p.span.start.line, p.span.start.column, p.message))
            .collect();
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!((found[0].0, found[0].1), (3, 18));
        assert!(
            found[0]
                .2
                .starts_with("mapping key \"x\" already defined at line 3")
        );
        assert_eq!((found[1].0, found[2].0), (6, 7));
        // Large mappings too, each repeat naming the first line.
        let mut text: String = (0..20).map(|i| format!("k{i}: 1\n")).collect();
        text.push_str("k3: 2\nk3: 3\n");
        let found = duplicate_keys(&parse_documents(&text, 0).unwrap()[0]);
        let lines: Vec<(u32, bool)> = found
            .iter()
            .map(|p| (p.span.start.line, p.message.contains("at line 4:")))
            .collect();
        assert_eq!(lines, [(21, true), (22, true)]);
        // A merge key's keys are set, not written twice.
        let merged = &parse_documents("base: &b {x: 1}\nm:\n  <<: *b\n  x: 2\n", 0).unwrap()[0];
        assert_eq!(duplicate_keys(merged), []);
    }
}
