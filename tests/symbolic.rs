//! Selector combinations that used to be enumerated, through the binary: the verdict is exact
//! however many combinations the selectors make, and explain lists the few classes that
//! decide differently. (Timings of the full sizes are in `bench/scaling.py`.)

mod common;

use common::{json_in, namespace, run_in};

const NAMESPACE: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n";

/// For each of `keys` label keys, a Calico policy for pods with the key and one for pods
/// without it, each allowing only 10.0.0.0/8: every pod is isolated, and none may reach the
/// metadata endpoint.
fn complementary(keys: usize) -> String {
    let mut docs = vec![NAMESPACE.to_string()];
    for i in 0..keys {
        for (name, selector) in [
            (format!("has{i}"), format!("has(k{i})")),
            (format!("not{i}"), format!("!has(k{i})")),
        ] {
            docs.push(format!(
                "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: a}}\nspec:\n  selector: \"{selector}\"\n  types: [Egress]\n  egress: [{{action: Allow, destination: {{nets: [10.0.0.0/8]}}}}]\n"
            ));
        }
    }
    docs.join("---\n")
}

#[test]
fn twenty_keys_of_complementary_policies_get_the_exact_verdict() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policies.yaml"), complementary(20)).unwrap();
    let report = json_in(dir.path(), &["."], None);
    let a = namespace(&report, "a");
    assert_eq!(a["metadata_reachable"], false, "{a}");
    assert_eq!(a["isolated"], true, "{a}");
    assert!(
        report["errors"].as_array().unwrap().is_empty(),
        "{}",
        report["errors"]
    );
    // One class: every pod is denied at the end of the default tier, whichever of the forty
    // policies isolate it (there are 2^20 ways to be selected).
    let explain = run_in(dir.path(), &["explain", "a", "."], None);
    assert_eq!(explain.code, 0, "{}", explain.stderr);
    assert!(
        explain.stdout.contains("pod class 1 of 1:"),
        "{}",
        explain.stdout
    );
}

#[test]
fn without_the_negative_halves_the_pods_with_none_of_the_keys_are_open() {
    let dir = tempfile::tempdir().unwrap();
    let yaml: String = complementary(12)
        .split("---\n")
        .filter(|doc| !doc.contains("!has("))
        .collect::<Vec<_>>()
        .join("---\n");
    std::fs::write(dir.path().join("policies.yaml"), yaml).unwrap();
    let report = json_in(dir.path(), &["."], None);
    let a = namespace(&report, "a");
    assert_eq!(a["metadata_reachable"], true, "{a}");
    let run = run_in(dir.path(), &["--color", "never", "."], None);
    assert!(
        run.stdout.contains(
            "pods without label k0, k1, k10, k11, k2, k3, k4, k5, k6, k7, k8, k9 in namespace a"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn thousands_of_policies_on_one_key_or_on_distinct_keys() {
    for (file, selector) in [("one-key", "app: v{i}"), ("distinct", "k{i}: v")] {
        let dir = tempfile::tempdir().unwrap();
        let docs: Vec<String> = (0..3000)
            .map(|i| {
                let selector = selector.replace("{i}", &i.to_string());
                format!(
                    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p{i}, namespace: a}}\nspec:\n  podSelector: {{matchLabels: {{{selector}}}}}\n  policyTypes: [Egress]\n  egress: [{{to: [{{ipBlock: {{cidr: 10.0.0.0/8}}}}]}}]\n"
                )
            })
            .collect();
        std::fs::write(
            dir.path().join(format!("{file}.yaml")),
            format!("{NAMESPACE}---\n{}", docs.join("---\n")),
        )
        .unwrap();
        let run = run_in(dir.path(), &["--color", "never", "."], None);
        assert_eq!(run.code, 1, "{file}: {}", run.stderr);
        let unlabelled = if file == "one-key" {
            "pods without label app in namespace a"
        } else {
            "pods without label k0, k1, k10,"
        };
        assert!(run.stdout.contains(unlabelled), "{file}: {}", run.stdout);
    }
}
