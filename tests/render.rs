//! `imds-lint render` through the built binary: the objects as they land, after kustomize and
//! the GitOps controllers, as YAML a user (or `kubectl apply`) reads back.

mod common;

use common::{root, run, run_piped};
use serde::Deserialize;
use serde_yaml::Value;

/// (kind, namespace, name).
type Identity<'a> = (&'a str, Option<&'a str>, &'a str);

/// One rendered document: its header comments (`key: value`) and its object.
#[derive(Debug)]
struct Document {
    header: Vec<(String, String)>,
    object: Value,
}

impl Document {
    fn header(&self, key: &str) -> Vec<&str> {
        self.header
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn one(&self, key: &str) -> &str {
        match self.header(key).as_slice() {
            [value] => value,
            other => panic!("{key}: {other:?} in {self:?}"),
        }
    }

    fn field(&self, path: &[&str]) -> Option<&str> {
        path.iter()
            .try_fold(&self.object, |node, key| node.get(key))
            .and_then(Value::as_str)
    }

    fn identity(&self) -> Identity<'_> {
        (
            self.field(&["kind"]).unwrap(),
            self.field(&["metadata", "namespace"]),
            self.field(&["metadata", "name"]).unwrap(),
        )
    }
}

/// The documents of render's output, each parsed by a YAML library of its own.
fn documents(stdout: &str) -> Vec<Document> {
    assert!(stdout.starts_with("---\n"), "{stdout}");
    let texts: Vec<&str> = stdout[4..].split("\n---\n").collect();
    let objects: Vec<Value> = serde_yaml::Deserializer::from_str(stdout)
        .map(|d| Value::deserialize(d).unwrap())
        .collect();
    assert_eq!(texts.len(), objects.len(), "{stdout}");
    texts
        .iter()
        .zip(objects)
        .map(|(text, object)| Document {
            header: text
                .lines()
                .map_while(|l| l.strip_prefix("# "))
                .map(|l| {
                    let (k, v) = l.split_once(": ").unwrap();
                    (k.to_string(), v.to_string())
                })
                .collect(),
            object,
        })
        .collect()
}

fn render(args: &[&str]) -> (i32, Vec<Document>, String) {
    let mut all = vec!["render"];
    all.extend_from_slice(args);
    let r = run(&all);
    let docs = documents(&r.stdout);
    (r.code, docs, r.stderr)
}

#[test]
fn a_kustomize_overlay_lands_its_base_in_its_namespace() {
    let (code, docs, stderr) = render(&["fixtures/kustomize"]);
    assert_eq!(code, 0, "{stderr}");
    let from_base: Vec<(&str, &str, Identity)> = docs
        .iter()
        .filter(|d| d.one("source") == "fixtures/kustomize/base/netpol-pair.yaml:1")
        .map(|d| (d.one("cluster"), d.one("build"), d.identity()))
        .collect();
    // Overlay c builds overlay a, so a is no build of its own; the outermost namespace wins.
    assert_eq!(
        from_base,
        [
            (
                "(none)",
                "kustomize fixtures/kustomize/overlays/b/kustomization.yaml",
                ("NetworkPolicy", Some("beta"), "deny-egress-all")
            ),
            (
                "(none)",
                "kustomize fixtures/kustomize/overlays/c/kustomization.yaml",
                ("NetworkPolicy", Some("gamma"), "deny-egress-all")
            ),
        ]
    );
    let gamma = docs
        .iter()
        .find(|d| d.identity() == ("NetworkPolicy", Some("gamma"), "deny-egress-all"))
        .unwrap();
    assert_eq!(
        gamma.header("transformed"),
        [
            "namespace gamma, set by namespace: in fixtures/kustomize/overlays/c/kustomization.yaml:3"
        ]
    );
    // The rest of the object is as written.
    assert_eq!(
        gamma.object["spec"]["policyTypes"],
        serde_yaml::from_str::<Value>("[Egress]").unwrap()
    );
    // kustomize renames the Namespace object it builds.
    let namespaces: Vec<_> = docs
        .iter()
        .filter(|d| d.field(&["kind"]) == Some("Namespace"))
        .map(|d| (d.identity(), d.header("transformed").len()))
        .collect();
    assert_eq!(
        namespaces,
        [
            (("Namespace", None, "beta"), 1),
            (("Namespace", None, "gamma"), 1)
        ]
    );
    // Files nothing builds keep their own namespace, or land in the default one, and say so.
    let web = docs
        .iter()
        .find(|d| d.one("source") == "fixtures/kustomize/standalone/deployment.yaml:1")
        .unwrap();
    assert_eq!(web.one("build"), "(none)");
    assert_eq!(web.identity(), ("Deployment", Some("default"), "web"));
    assert_eq!(
        web.header("transformed"),
        ["namespace default, the default namespace (the object sets none)"]
    );
    // A patch file is no object of its own; the object it patches says so, and carries what
    // the patch sets.
    assert!(docs.iter().all(|d| !d.one("source").contains("patch.yaml")));
    assert!(docs.iter().all(|d| d.header("not applied").is_empty()));
    let patched: Vec<&Document> = docs
        .iter()
        .filter(|d| {
            d.header("transformed")
                .iter()
                .any(|t| t.starts_with("patched by"))
        })
        .collect();
    assert_eq!(patched.len(), 1, "{patched:?}");
    assert_eq!(
        patched[0].identity(),
        ("NetworkPolicy", Some("beta"), "deny-egress-all")
    );
    assert_eq!(
        patched[0].header("transformed")[0],
        "patched by fixtures/kustomize/overlays/b/kustomization.yaml:8"
    );
    assert_eq!(
        patched[0].field(&["metadata", "annotations", "team"]),
        Some("platform")
    );
}

#[test]
fn labels_a_kustomization_sets_are_shown_where_they_land() {
    let (code, docs, _) = render(&["fixtures/fix/clusters/team-a"]);
    assert_eq!(code, 0);
    let api = docs
        .iter()
        .find(|d| d.field(&["kind"]) == Some("Deployment"))
        .unwrap();
    assert_eq!(
        api.header("transformed"),
        ["labelled by fixtures/fix/clusters/team-a/kustomization.yaml:8"]
    );
    // commonLabels: the object, its selector and its pod template.
    for path in [
        &["metadata", "labels", "team"][..],
        &["spec", "selector", "matchLabels", "team"],
        &["spec", "template", "metadata", "labels", "team"],
    ] {
        assert_eq!(api.field(path), Some("a"), "{path:?}");
    }
    assert_eq!(
        api.field(&["spec", "template", "metadata", "labels", "app"]),
        Some("api")
    );
}

#[test]
fn a_flux_kustomization_names_its_cluster_and_build() {
    let (code, docs, stderr) = render(&["fixtures/flux-fleet"]);
    assert_eq!(code, 0, "{stderr}");
    let web: Vec<(&str, &str, Vec<&str>)> = docs
        .iter()
        .filter(|d| d.one("source") == "fixtures/flux-fleet/apps/web/base/deployment.yaml:1")
        .map(|d| {
            assert_eq!(d.identity(), ("Deployment", Some("web"), "web"));
            (d.one("cluster"), d.one("build"), d.header("transformed"))
        })
        .collect();
    assert_eq!(
        web,
        [
            (
                "clusters/prod",
                "Flux Kustomization web (fixtures/flux-fleet/clusters/prod/web.yaml:2)",
                vec![
                    "namespace web, set by namespace: in fixtures/flux-fleet/apps/web/prod/kustomization.yaml:4"
                ]
            ),
            (
                "clusters/staging",
                "Flux Kustomization web (fixtures/flux-fleet/clusters/staging/web.yaml:2)",
                vec![
                    "namespace web, set by namespace: in fixtures/flux-fleet/apps/web/staging/kustomization.yaml:4"
                ]
            ),
        ]
    );
    // targetNamespace overrides; what Flux does not follow is said on standard error.
    let api = docs
        .iter()
        .find(|d| d.one("source") == "fixtures/flux-fleet/apps/payments/api.yaml:1")
        .unwrap();
    assert_eq!(
        api.header("transformed"),
        [
            "namespace payments, set by the targetNamespace of Flux Kustomization payments (fixtures/flux-fleet/clusters/prod/payments.yaml:3)"
        ]
    );
    assert!(
        stderr.contains("imds-lint: note: fixtures/flux-fleet/clusters/prod/payments.yaml:18: Kustomization podinfo is not followed"),
        "{stderr}"
    );

    // One cluster only.
    let (code, docs, _) = render(&["--cluster", "clusters/staging", "fixtures/flux-fleet"]);
    assert_eq!(code, 0);
    assert!(!docs.is_empty());
    assert!(docs.iter().all(|d| d.one("cluster") == "clusters/staging"));
    let r = run(&["render", "--cluster", "nope", "fixtures/flux-fleet"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("known clusters: clusters/prod, clusters/staging")
    );

    // Without the controllers, each kustomization nothing includes is a build of its own, as
    // `kubectl kustomize DIR` builds it.
    let (code, docs, _) = render(&["--no-controllers", "fixtures/flux-fleet"]);
    assert_eq!(code, 0);
    let builds: Vec<(&str, &str)> = docs
        .iter()
        .filter(|d| d.one("source") == "fixtures/flux-fleet/apps/web/base/deployment.yaml:1")
        .map(|d| (d.one("cluster"), d.one("build")))
        .collect();
    assert_eq!(
        builds,
        [
            (
                "(none)",
                "kustomize fixtures/flux-fleet/apps/web/prod/kustomization.yaml"
            ),
            (
                "(none)",
                "kustomize fixtures/flux-fleet/apps/web/staging/kustomization.yaml"
            ),
        ]
    );
}

#[test]
fn standard_input_is_rendered_under_its_name() {
    let stdin = b"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n  data: {a: \"yes\", b: \"1:20\", c: \"x: y\", d: \"\\u2028\"}\n- apiVersion: networking.k8s.io/v1\n  kind: NetworkPolicy\n  metadata: {name: n, namespace: own}\n  spec: {podSelector: {}}\n";
    let r = run_piped(
        root(),
        &[
            "render",
            "--stdin-filename",
            "rendered.yaml",
            "--default-namespace",
            "apps",
            "-",
        ],
        stdin,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let docs = documents(&r.stdout);
    let places: Vec<(&str, Identity)> = docs
        .iter()
        .map(|d| (d.one("source"), d.identity()))
        .collect();
    assert_eq!(
        places,
        [
            ("rendered.yaml:4", ("ConfigMap", Some("apps"), "c")),
            ("rendered.yaml:8", ("NetworkPolicy", Some("own"), "n")),
        ]
    );
    // Strings that YAML would read as something else stay strings.
    let data = &docs[0].object["data"];
    for (key, value) in [
        ("a", "yes"),
        ("b", "1:20"),
        ("c", "x: y"),
        ("d", "\u{2028}"),
    ] {
        assert_eq!(data[key].as_str(), Some(value), "{}", r.stdout);
    }

    // Unreadable input: the error with file, line and column, exit status 2.
    let r = run_piped(
        root(),
        &["render", "--stdin-filename", "bad.yaml", "-"],
        b"kind: Pod\nmetadata: {name: [\n",
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("bad.yaml:3:1: "), "{}", r.stderr);
    // A document refused for invalid UTF-8 stays refused; the next one is still shown.
    let r = run_piped(
        root(),
        &["render", "-"],
        b"kind: ConfigMap\napiVersion: v1\nmetadata: {name: caf\xe9}\n---\nkind: ConfigMap\napiVersion: v1\nmetadata: {name: ok}\n",
    );
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr, "<stdin>:3:21: invalid UTF-8\n");
    let names: Vec<_> = documents(&r.stdout)
        .iter()
        .map(|d| (d.one("source").to_string(), d.identity().2.to_string()))
        .collect();
    assert_eq!(names, [("<stdin>:5".to_string(), "ok".to_string())]);
    // Nothing at all: exit status 2, as the lint.
    let r = run_piped(root(), &["render", "-"], b"");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no manifests found under <stdin>"));
    let r = run(&["render", "fixtures/no-such-folder"]);
    assert_eq!(r.code, 2);
}

#[test]
fn excluded_paths_are_not_rendered() {
    let (code, docs, _) = render(&["--exclude", "standalone", "fixtures/kustomize"]);
    assert_eq!(code, 0);
    assert!(!docs.is_empty());
    assert!(docs.iter().all(|d| !d.one("source").contains("standalone")));
}

#[test]
fn hostile_input_is_reported_not_rendered() {
    // Binary data, an alias bomb, nesting past the limit, Latin-1: each an error with its
    // place; the good documents beside them are still rendered.
    let r = run(&["render", "fixtures/bad-input"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    for file in ["binary.yaml", "bomb.yaml", "deep.yaml", "latin1.yaml"] {
        assert!(
            r.stderr
                .lines()
                .any(|l| l.starts_with(&format!("fixtures/bad-input/{file}:"))),
            "{file}: {}",
            r.stderr
        );
    }
    let docs = documents(&r.stdout);
    assert!(
        docs.iter()
            .any(|d| d.one("source").starts_with("fixtures/bad-input/good/"))
    );
    // Deep nesting is written back as it was (as deep as the YAML library of this test
    // reads; the writer's own test goes far deeper).
    let depth = 100;
    let text = format!(
        "kind: ConfigMap\napiVersion: v1\nmetadata: {{name: deep}}\ndata: {}1{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let r = run_piped(root(), &["render", "-"], text.as_bytes());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let docs = documents(&r.stdout);
    let mut node = &docs[0].object["data"];
    for _ in 0..depth {
        node = &node[0];
    }
    assert_eq!(node.as_i64(), Some(1));
}
