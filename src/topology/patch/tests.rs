//! The engine against what `kubectl kustomize` (kustomize v5.5) builds from the same inputs:
//! each expectation below was seen on a small directory first.

use super::*;
use crate::source::yaml::{Pos, parse_documents};
use std::collections::HashMap;

const BASE: &str = "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow
  namespace: prod
  labels: {app: web, tier: be}
  annotations: {note: x}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}
    ports: [{port: 443}, {port: 80}]
  - to:
    - podSelector: {}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny
spec:
  podSelector: {}
  policyTypes: [Egress]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: a
        image: a
        ports: [{containerPort: 80, name: http}, {containerPort: 81}]
        env: [{name: X, value: '1'}, {name: Y, value: '2'}]
      - name: b
        image: b
      volumes: [{name: v1, emptyDir: {}}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: cnp
spec:
  endpointSelector: {}
  egress:
  - toCIDR: [10.0.0.0/8]
  - toCIDR: [11.0.0.0/8]
---
apiVersion: example.com/v1
kind: Thing
metadata:
  name: thing
spec:
  items: [{name: a, v: 1}, {name: b, v: 2}]
  tags: [x, y]
  sel: {a: 1, b: 2}
";

fn base(name: &str) -> Node {
    parse_documents(BASE, 0)
        .unwrap()
        .into_iter()
        .find(|d| ObjectName::of(d).name == name)
        .unwrap()
}

/// A flow-style rendering with sorted keys, to compare with kustomize's output.
fn show(node: &Node) -> String {
    match &node.value {
        Value::Scalar { text, .. } => text.clone(),
        Value::Seq(items) => format!(
            "[{}]",
            items.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
        Value::Map(entries) => {
            let mut e: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}: {}", show(k), show(v)))
                .collect();
            e.sort();
            format!("{{{}}}", e.join(", "))
        }
    }
}

/// A list's items in their order (not sorted).
fn at<'a>(node: &'a Node, path: &[&str]) -> &'a Node {
    path.iter().fold(node, |n, k| match n.as_seq() {
        Some(items) => &items[k.parse::<usize>().unwrap()],
        None => n.get(k).unwrap_or_else(|| panic!("no {k} in {}", show(n))),
    })
}

/// The kustomization file.
fn kfile() -> FileRef {
    FileRef::new(0)
}

/// The patches of kustomization text `k` in `/k`, whose other files are `files`.
fn read_with(k: &str, files: &[(&str, &str)]) -> (Vec<Patch>, Vec<PatchProblem>) {
    let node = parse_documents(k, 0).unwrap().remove(0);
    let files: HashMap<String, (usize, &str)> = files
        .iter()
        .enumerate()
        .map(|(i, (p, t))| (format!("/k/{p}"), (i + 1, *t)))
        .collect();
    let mut read = |path: &Path| -> Result<(FileRef, Vec<Node>), String> {
        let (i, text) = files
            .get(path.to_str().unwrap())
            .ok_or_else(|| "no such file".to_string())?;
        Ok((
            FileRef::new(*i),
            parse_documents(text, 0).map_err(|e| e.message)?,
        ))
    };
    read_patches(&node, kfile(), k, Path::new("/k"), &mut read)
}

fn read(k: &str) -> Vec<Patch> {
    let (patches, problems) = read_with(k, &[]);
    assert_eq!(problems, []);
    patches
}

/// The one patch of an inline `patches:` entry with `body` (indented by the caller's
/// choice of target line), applied to `object`.
fn patch(target: &str, body: &str) -> Patch {
    let head = if target.is_empty() {
        "- ".to_string()
    } else {
        format!("- {target}\n  ")
    };
    let k = format!(
        "patches:\n{head}patch: |\n{}",
        body.lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    );
    let mut patches = read(&k);
    assert_eq!(patches.len(), 1);
    patches.remove(0)
}

fn apply(target: &str, body: &str, object: &str) -> Result<Node, String> {
    let p = patch(target, body);
    let mut o = base(object);
    p.apply(&mut o).map(|_| o).map_err(|e| e.message)
}

fn sm(body: &str, object: &str) -> Node {
    apply("", body, object).unwrap()
}

// ---- strategic merge -------------------------------------------------------------------

#[test]
fn network_policy_lists_are_replaced_and_null_deletes() {
    let o = sm(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow, namespace: prod, labels: {tier: null}}\nspec:\n  egress:\n  - to: [{ipBlock: {cidr: 0.0.0.0/0}}]\n  policyTypes: [Ingress]\n",
        "allow",
    );
    assert_eq!(
        show(&o),
        "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {annotations: {note: x}, labels: {app: web}, name: allow, namespace: prod}, spec: {egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}], podSelector: {}, policyTypes: [Ingress]}}"
    );
}

#[test]
fn pod_spec_lists_merge_by_key_patch_items_first() {
    let o = sm(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    metadata: {labels: {extra: '1', app: null}}\n    spec:\n      hostNetwork: true\n      containers:\n      - name: b\n        image: b2\n        ports: [{containerPort: 81, protocol: UDP}, {containerPort: 90}]\n      - name: c\n        image: c\n      - name: a\n        env: [{name: Y, value: '3'}, {name: X, $patch: delete}]\n      volumes: [{name: v2, emptyDir: {}}]\n",
        "web",
    );
    let spec = at(&o, &["spec", "template", "spec"]);
    assert_eq!(
        show(at(&o, &["spec", "template", "metadata"])),
        "{labels: {extra: 1}}"
    );
    assert_eq!(
        show(at(spec, &["containers"])),
        "[{image: b2, name: b, ports: [{containerPort: 81, protocol: UDP}, {containerPort: 90}]}, {image: c, name: c}, {env: [{name: Y, value: 3}], image: a, name: a, ports: [{containerPort: 80, name: http}, {containerPort: 81}]}]"
    );
    assert_eq!(
        show(at(spec, &["volumes"])),
        "[{emptyDir: {}, name: v2}, {emptyDir: {}, name: v1}]"
    );
    assert_eq!(show(at(spec, &["hostNetwork"])), "true");
}

#[test]
fn container_ports_merge_by_container_port() {
    let o = sm(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        ports: [{containerPort: 81, name: x}, {containerPort: 82}]\n      volumes:\n      - $patch: delete\n        name: v1\n",
        "web",
    );
    let spec = at(&o, &["spec", "template", "spec"]);
    assert_eq!(
        show(at(spec, &["containers", "0", "ports"])),
        "[{containerPort: 81, name: x}, {containerPort: 82}, {containerPort: 80, name: http}]"
    );
    // Deleting the last item leaves an empty list, not no list.
    assert_eq!(show(at(spec, &["volumes"])), "[]");
}

#[test]
fn custom_resource_lists_are_replaced_and_patch_delete_drops_a_map() {
    let o = sm(
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: cnp}\nspec:\n  endpointSelector:\n    $patch: delete\n  egress:\n  - toCIDR: [169.254.0.0/16]\n    name: x\n",
        "cnp",
    );
    assert_eq!(
        show(at(&o, &["spec"])),
        "{egress: [{name: x, toCIDR: [169.254.0.0/16]}]}"
    );
    // Items with a `name` do not make a custom resource's list merge.
    let o = sm(
        "apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: thing}\nspec:\n  items: [{name: b, v: 3}]\n  tags: [z]\n",
        "thing",
    );
    assert_eq!(
        show(at(&o, &["spec"])),
        "{items: [{name: b, v: 3}], sel: {a: 1, b: 2}, tags: [z]}"
    );
}

#[test]
fn retain_keys_and_other_apply_directives_are_plain_keys_to_kustomize() {
    // kubectl kustomize copies them into the output and does nothing else with them.
    let o = sm(
        "apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: thing}\nspec:\n  $retainKeys: [items]\n  sel: {c: 3}\n  $deleteFromPrimitiveList/tags: [x]\n  $setElementOrder/items: [{name: b}, {name: a}]\n",
        "thing",
    );
    assert_eq!(
        show(at(&o, &["spec"])),
        "{$deleteFromPrimitiveList/tags: [x], $retainKeys: [items], $setElementOrder/items: [{name: b}, {name: a}], items: [{name: a, v: 1}, {name: b, v: 2}], sel: {a: 1, b: 2, c: 3}, tags: [x, y]}"
    );
}

#[test]
fn patch_delete_of_the_whole_object() {
    let p = patch(
        "",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny}\n$patch: delete\n",
    );
    let mut o = base("deny");
    assert_eq!(p.apply(&mut o), Ok(Applied::Deleted));
}

#[test]
fn patch_replace_on_a_map_and_in_a_list() {
    let o = sm(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow, namespace: prod}\nspec:\n  $patch: replace\n  podSelector: {matchLabels: {a: b}}\n",
        "allow",
    );
    assert_eq!(
        show(at(&o, &["spec"])),
        "{podSelector: {matchLabels: {a: b}}}"
    );
    let o = sm(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - $patch: replace\n      - name: z\n        image: z\n",
        "web",
    );
    assert_eq!(
        show(at(&o, &["spec", "template", "spec", "containers"])),
        "[{image: z, name: z}]"
    );
}

#[test]
fn a_directive_inside_a_replaced_list_is_copied_as_written() {
    let o = sm(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow, namespace: prod}\nspec:\n  egress:\n  - $patch: delete\n    to: [{podSelector: {}}]\n",
        "allow",
    );
    assert_eq!(
        show(at(&o, &["spec", "egress"])),
        "[{$patch: delete, to: [{podSelector: {}}]}]"
    );
}

#[test]
fn a_new_map_drops_nulls_and_applies_directives() {
    let o = sm(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - name: b\n        image: b3\n      - name: b\n        image: b4\n      newmap: {a: null, b: 1, c: {$patch: delete}, d: {$patch: replace, e: 1}}\n      volumes:\n      - name: v0\n        emptyDir: {x: null}\n      - {name: nope, $patch: delete}\n",
        "web",
    );
    let spec = at(&o, &["spec", "template", "spec"]);
    assert_eq!(show(at(spec, &["newmap"])), "{b: 1, d: {e: 1}}");
    assert_eq!(
        show(at(spec, &["volumes"])),
        "[{emptyDir: {}, name: v0}, {emptyDir: {}, name: v1}]"
    );
    // Of two patch items with one key, the first is kept.
    assert_eq!(show(at(spec, &["containers", "0", "image"])), "b3");
    assert_eq!(at(spec, &["containers"]).as_seq().unwrap().len(), 2);
}

#[test]
fn refused_merges_say_what_kustomize_says() {
    let err = apply(
        "",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow, namespace: prod}\nspec:\n  podSelector: {$patch: foo}\n",
        "allow",
    );
    assert_eq!(err.unwrap_err(), "unknown patch strategy 'foo'");
    let err = apply(
        "",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow, namespace: prod}\nspec:\n  podSelector: [a]\n",
        "allow",
    );
    assert!(
        err.unwrap_err()
            .starts_with("wrong node kind: expected MappingNode but got SequenceNode")
    );
    // kustomize empties the list here (`containers: []`); imds-lint says it cannot tell.
    let err = apply(
        "",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers: [{image: q}]\n",
        "web",
    );
    assert!(err.unwrap_err().contains("has no `name`"));
}

#[test]
fn merged_nodes_point_at_the_patch() {
    let k = "patches:\n- patch: |\n    apiVersion: networking.k8s.io/v1\n    kind: NetworkPolicy\n    metadata: {name: allow, namespace: prod}\n    spec:\n      egress:\n      - to: [{ipBlock: {cidr: 0.0.0.0/0}}]\n";
    let p = read(k).remove(0);
    assert_eq!(p.declared_at.start, Pos { line: 2, column: 3 });
    assert_eq!(p.declared_at.file, Some(kfile()));
    let mut o = base("allow");
    p.apply(&mut o).unwrap();
    let cidr = at(&o, &["spec", "egress", "0", "to", "0", "ipBlock", "cidr"]);
    assert_eq!(cidr.span.file, Some(kfile()));
    assert_eq!(
        cidr.span.start,
        Pos {
            line: 8,
            column: 31
        }
    );
    // What the patch did not touch keeps its own place, in the object's file.
    let selector = at(&o, &["spec", "podSelector"]);
    assert_eq!((selector.span.file, selector.span.start.line), (None, 9));
}

// ---- JSON 6902 ---------------------------------------------------------------------------

fn json(ops: &str, object: &str) -> Result<Node, String> {
    apply("target: {name: allow|deny|web}", ops, object)
}

#[test]
fn json_operations_and_negative_indexes() {
    let o = json(
        "- {op: remove, path: /spec/egress/0/ports/-1}\n- {op: replace, path: /spec/egress/-1, value: {to: []}}\n- {op: add, path: /metadata/labels/a~1b, value: '1'}\n- {op: copy, from: /metadata/labels, path: /spec/podSelector/matchLabels}\n- {op: move, from: /metadata/annotations, path: /spec/moved}\n- {op: add, path: /spec/egress/-, value: {to: [{ipBlock: {cidr: 169.254.0.0/16}}]}}\n- {op: add, path: /spec/egress/0/ports/-1, value: 9}\n- {op: add, path: /spec/egress/-4, value: first}\n- {op: add, path: /spec/egress/01, value: second}\n- {op: add, path: /spec/nothing}\n- {op: test, path: /spec/egress/2/ports/0/port, value: 443}\n- {op: test, path: /spec/nope, value: null}\n",
        "allow",
    )
    .unwrap();
    assert_eq!(
        show(&o),
        "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {labels: {a/b: 1, app: web, tier: be}, name: allow, namespace: prod}, spec: {egress: [first, second, {ports: [{port: 443}, 9], to: [{ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}}]}, {to: []}, {to: [{ipBlock: {cidr: 169.254.0.0/16}}]}], moved: {note: x}, nothing: null, podSelector: {matchLabels: {a/b: 1, app: web, tier: be}}, policyTypes: [Egress]}}"
    );
}

#[test]
fn replace_of_a_missing_key_adds_it() {
    // Surprising, but `kubectl kustomize` builds `spec.nope: 1` from this.
    let o = json("- {op: replace, path: /spec/nope, value: 1}\n", "allow").unwrap();
    assert_eq!(show(at(&o, &["spec", "nope"])), "1");
}

#[test]
fn refused_operations_say_what_kustomize_says() {
    let cases = [
        (
            "{op: remove, path: /spec/egress/0/to/0/ipBlock/nope}",
            "error in remove for path: '/spec/egress/0/to/0/ipBlock/nope': Unable to remove nonexistent key: nope: missing value",
        ),
        (
            "{op: test, path: /spec/podSelector, value: {a: b}}",
            "testing value /spec/podSelector failed: test failed",
        ),
        (
            "{op: test, path: /spec/nope, value: 1}",
            "testing value /spec/nope failed: test failed",
        ),
        (
            "{op: add, path: /spec/egress/5, value: 1}",
            "error in add for path: '/spec/egress/5': Unable to access invalid index: 5: invalid index referenced",
        ),
        (
            "{op: add, path: /spec/nope/x, value: 1}",
            "add operation does not apply: doc is missing path: \"/spec/nope/x\": missing value",
        ),
        (
            "{op: add, path: /spec/egress/0/to/0/ipBlock/except/0/x, value: 1}",
            "add operation does not apply: doc is missing path: \"/spec/egress/0/to/0/ipBlock/except/0/x\": missing value",
        ),
        (
            "{op: add, path: '', value: {}}",
            "add operation does not apply: doc is missing path: \"\": missing value",
        ),
        (
            "{op: remove, path: /spec/egress/7}",
            "error in remove for path: '/spec/egress/7': Unable to access invalid index: 7: invalid index referenced",
        ),
        (
            "{op: remove, path: /spec/egress/-3}",
            "error in remove for path: '/spec/egress/-3': Unable to access invalid index: -3: invalid index referenced",
        ),
        (
            "{op: remove, path: /spec/egress/-}",
            "error in remove for path: '/spec/egress/-': strconv.Atoi: parsing \"-\": invalid syntax",
        ),
        (
            "{op: remove, path: /spec/podSelector/matchLabels}",
            "error in remove for path: '/spec/podSelector/matchLabels': Unable to remove nonexistent key: matchLabels: missing value",
        ),
        ("{op: bogus, path: /spec}", "Unexpected kind: bogus"),
        (
            "{op: add, value: 1}",
            "add operation failed to decode path: missing value",
        ),
        (
            "{op: replace, path: /spec/egress/9, value: 1}",
            "replace operation does not apply: doc is missing key: /spec/egress/9: missing value",
        ),
        (
            "{op: replace, path: /spec/nope/x, value: 1}",
            "replace operation does not apply: doc is missing path: /spec/nope/x: missing value",
        ),
        (
            "{op: move, from: /spec/nope, path: /spec/x}",
            "error in move for path: 'nope': Unable to remove nonexistent key: nope: missing value",
        ),
        (
            "{op: move, from: /spec, path: /spec/x}",
            "move operation does not apply: doc is missing destination path: /spec/x: missing value",
        ),
        (
            "{op: copy, from: /spec/podSelector, path: /spec/nope/x}",
            "copy operation does not apply: doc is missing destination path: /spec/nope/x: missing value",
        ),
    ];
    for (op, message) in cases {
        assert_eq!(
            json(&format!("- {op}\n"), "allow").unwrap_err(),
            message,
            "{op}"
        );
    }
}

#[test]
fn a_refused_operation_is_reported_at_the_operation() {
    let p = patch(
        "target: {name: allow}",
        "- {op: add, path: /spec/x, value: 1}\n- {op: remove, path: /spec/nope}\n",
    );
    let err = p.apply(&mut base("allow")).unwrap_err();
    assert_eq!(
        (err.span.start, err.span.file),
        (Pos { line: 5, column: 7 }, Some(kfile()))
    );
}

#[test]
fn a_path_that_is_not_a_pointer_is_not_guessed() {
    assert!(
        json("- {op: add, path: spec/x, value: 1}\n", "allow")
            .unwrap_err()
            .contains("must start with `/`")
    );
}

#[test]
fn json_patches_deeper_than_the_budget_are_refused() {
    // Each value is within the reader's budget; copied into itself, the tree would not be.
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let inner = "/0".repeat(100);
    let ops = format!(
        "- {{op: add, path: /spec/x, value: {deep}}}\n- {{op: copy, from: /spec/x, path: /spec/x{inner}/-}}\n"
    );
    let err = json(&ops, "allow").unwrap_err();
    assert!(err.contains("deeper than 256"), "{err}");
    let ops = format!(
        "- {{op: add, path: /spec/x, value: {deep}}}\n- {{op: copy, from: /spec/x{inner}, path: /spec/y}}\n"
    );
    assert!(json(&ops, "allow").is_ok());
}

#[test]
fn options_let_a_strategic_merge_patch_rename() {
    // kubectl kustomize renames with allowNameChange, but keeps the namespace; with
    // allowKindChange it changes the kind, but keeps the apiVersion.
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: renamed, namespace: other}\nspec: {policyTypes: [Ingress]}\n";
    let rename = |options: &str| {
        let p = patch(
            &format!("target: {{name: deny}}\n  options: {options}"),
            body,
        );
        let mut o = base("deny");
        p.apply(&mut o).unwrap();
        format!(
            "{} {} {}",
            show(at(&o, &["apiVersion"])),
            show(at(&o, &["kind"])),
            show(at(&o, &["metadata"]))
        )
    };
    assert_eq!(
        rename("{allowNameChange: true}"),
        "networking.k8s.io/v1 NetworkPolicy {name: renamed}"
    );
    assert_eq!(
        rename("{allowKindChange: true}"),
        "networking.k8s.io/v1 ConfigMap {name: deny}"
    );
    assert_eq!(
        rename("{}"),
        "networking.k8s.io/v1 NetworkPolicy {name: deny}"
    );
}

#[test]
fn a_patch_as_deep_as_the_reader_allows_merges_without_overflow() {
    // Both trees nested to the reader's limit, merged level by level.
    let nest = |leaf: &str| format!("{}{leaf}{}", "{a: ".repeat(250), "}".repeat(250));
    let object = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec: {}\n",
        nest("1")
    );
    let patch_doc = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec: {}\n",
        nest("{b: 2}")
    );
    let mut o = parse_documents(&object, 0).unwrap().remove(0);
    let p = parse_documents(&patch_doc, 0).unwrap().remove(0);
    merge::merge_object(&mut o, &p, Renames::default()).unwrap();
    assert_eq!(node::depth(&o), 252);
}

#[test]
fn a_patch_too_costly_to_apply_is_refused_not_run() {
    // Inserts at the front of a growing list: quadratic if run to the end.
    let ops = "- {op: add, path: /spec/x/0, value: 1}\n".repeat(20_000);
    let p = patch(
        "target: {name: allow}",
        &format!("- {{op: add, path: /spec/x, value: []}}\n{ops}"),
    );
    let started = std::time::Instant::now();
    let err = p.apply(&mut base("allow")).unwrap_err();
    assert!(
        err.message.contains("more than 10000000 steps"),
        "{}",
        err.message
    );
    assert!(started.elapsed().as_secs() < 10);
    // Copies of a subtree into itself grow it exponentially (shared, so not in memory).
    let ops =
        "- {op: copy, from: /spec, path: /spec/a}\n- {op: copy, from: /spec, path: /spec/b}\n"
            .repeat(30);
    let err = patch("target: {name: allow}", &ops)
        .apply(&mut base("allow"))
        .unwrap_err();
    assert!(err.message.contains("steps"), "{}", err.message);
}

// ---- selection -------------------------------------------------------------------------

fn smp(name: &str, namespace: Option<&str>, api_version: &str) -> Patch {
    let ns = namespace
        .map(|n| format!(", namespace: {n}"))
        .unwrap_or_default();
    patch(
        "",
        &format!(
            "apiVersion: {api_version}\nkind: NetworkPolicy\nmetadata: {{name: {name}{ns}}}\nspec: {{policyTypes: [Ingress]}}\n"
        ),
    )
}

fn name(name: &str, namespace: Option<&str>) -> ObjectName {
    ObjectName {
        name: name.into(),
        namespace: namespace.map(Into::into),
    }
}

#[test]
fn a_patch_without_target_selects_by_its_own_id() {
    let v1 = "networking.k8s.io/v1";
    // The object sets `namespace: prod`; the patch must too.
    assert!(!smp("allow", None, v1).selects(&base("allow"), &[]));
    assert!(smp("allow", Some("prod"), v1).selects(&base("allow"), &[]));
    // No namespace is `default`.
    assert!(smp("deny", Some("default"), v1).selects(&base("deny"), &[]));
    // apiVersion and kind must be the same.
    assert!(!smp("deny", None, "networking.k8s.io/v1beta1").selects(&base("deny"), &[]));
    let no_version = patch(
        "",
        "kind: NetworkPolicy\nmetadata: {name: deny}\nspec: {}\n",
    );
    assert!(!no_version.selects(&base("deny"), &[]));
}

#[test]
fn an_overlay_patch_may_name_an_earlier_id() {
    // A base with `namePrefix: p-` and `namespace: staging` builds p-deny in staging; its
    // earlier ids are deny (no namespace), then deny in staging.
    let mut o = base("deny");
    let metadata = o.get_mut("metadata").unwrap().map_mut().unwrap();
    metadata[0].1 = Node::string("p-deny", Span::default());
    metadata.push((
        Node::string("namespace", Span::default()),
        Node::string("staging", Span::default()),
    ));
    let previous = [name("deny", None), name("deny", Some("staging"))];
    let v1 = "networking.k8s.io/v1";
    assert!(smp("deny", None, v1).selects(&o, &previous));
    assert!(smp("deny", Some("staging"), v1).selects(&o, &previous));
    assert!(smp("p-deny", Some("staging"), v1).selects(&o, &previous));
    assert!(!smp("p-deny", None, v1).selects(&o, &previous));
    let by_target = |t: &str| {
        patch(
            &format!("target: {t}"),
            "- {op: add, path: /spec/x, value: 1}\n",
        )
    };
    assert!(by_target("{name: ^deny$}").selects(&o, &previous));
    assert!(by_target("{name: p-deny, namespace: default}").selects(&o, &previous));
    assert!(!by_target("{name: p-deny, namespace: prod}").selects(&o, &previous));
}

#[test]
fn targets_match_as_kustomize_does() {
    let t = |t: &str, object: &str| {
        patch(
            &format!("target: {t}"),
            "- {op: add, path: /spec/x, value: 1}\n",
        )
        .selects(&base(object), &[])
    };
    assert!(!t("{name: den}", "deny"), "names are anchored");
    assert!(t("{namespace: default, name: den.*}", "deny"));
    assert!(t(
        "{version: v1, group: networking.k8s.io, labelSelector: '!app'}",
        "deny"
    ));
    assert!(!t("{labelSelector: '!app'}", "allow"));
    assert!(t(
        "{labelSelector: 'app in (web,x),tier!=fe', annotationSelector: note=x}",
        "allow"
    ));
    assert!(!t("{labelSelector: 'app notin (web)'}", "allow"));
    assert!(t("{labelSelector: 'tier, app==web'}", "allow"));
    assert!(t("{kind: NetworkPolicy}", "allow"));
    assert!(!t("{kind: Network}", "allow"));
    // An empty field is no condition.
    assert!(t("{group: '', kind: Deployment|Thing}", "thing"));
    assert!(t("{group: apps, kind: Deployment|Thing}", "web"));
}

#[test]
fn with_a_target_the_patch_identity_is_ignored() {
    let p = patch(
        "target: {kind: NetworkPolicy}",
        "apiVersion: v1\nkind: Whatever\nmetadata: {name: whatever, labels: {patched: '1'}}\nspec: {policyTypes: [Ingress]}\n",
    );
    assert!(p.selects(&base("deny"), &[]) && p.selects(&base("allow"), &[]));
    assert!(!p.selects(&base("cnp"), &[]));
    let mut o = base("deny");
    p.apply(&mut o).unwrap();
    assert_eq!(
        show(&o),
        "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {labels: {patched: 1}, name: deny}, spec: {podSelector: {}, policyTypes: [Ingress]}}"
    );
}

#[test]
fn a_patch_without_target_must_match_exactly_one_object() {
    let p = smp("nothere", None, "networking.k8s.io/v1");
    let id = "NetworkPolicy.v1.networking.k8s.io/nothere.[noNs]";
    assert_eq!(
        p.match_error(0).unwrap().message,
        format!(
            "no resource matches strategic merge patch \"{id}\": no matches for Id {id}; failed to find unique target for patch {id}"
        )
    );
    assert!(
        p.match_error(2)
            .unwrap()
            .message
            .starts_with("multiple matches")
    );
    assert_eq!(p.match_error(1), None);
    // A target that selects nothing is fine.
    assert_eq!(
        patch("target: {name: nothere}", "- {op: remove, path: /spec}\n").match_error(0),
        None
    );
    let core = patch("", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n");
    assert!(
        core.match_error(0)
            .unwrap()
            .message
            .contains("Namespace.v1.[noGrp]/a.[noNs]")
    );
}

// ---- reading -----------------------------------------------------------------------------

fn problems(k: &str) -> Vec<String> {
    read_with(k, &[]).1.into_iter().map(|p| p.message).collect()
}

#[test]
fn json_and_strategic_merge_are_told_apart_as_kustomize_does() {
    assert_eq!(
        problems("patches:\n- patch: |\n    - op: remove\n      path: /spec/egress/0\n"),
        [
            "must specify a target for JSON patch [patch: \"- op: remove\\n  path: /spec/egress/0\\n\"]"
        ]
    );
    // Given as JSON.
    let p = read(
        "patches:\n- target: {name: deny}\n  patch: '[{\"op\": \"add\", \"path\": \"/spec/x\", \"value\": 1}]'\n",
    );
    assert!(matches!(&p[0].body, PatchBody::Json6902(ops) if ops.len() == 1));
    assert!(
        problems("patches:\n- patch: |\n    foo: bar\n")[0]
            .starts_with("unable to parse SM or JSON patch")
    );
    // A strategic merge patch needs a kind and a name.
    assert!(problems("patches:\n- patch: |\n    apiVersion: networking.k8s.io/v1\n    kind: NetworkPolicy\n    spec: {}\n")[0].starts_with("unable to parse SM or JSON patch"));
    // A list of mappings is JSON, whatever its keys.
    assert!(
        problems("patches:\n- patch: |\n    - foo: bar\n")[0]
            .starts_with("must specify a target for JSON patch")
    );
    assert_eq!(
        json("- {foo: bar}\n", "allow").unwrap_err(),
        "Unexpected kind: unknown"
    );
}

#[test]
fn every_document_of_a_patch_is_a_patch() {
    let p = read(
        "patches:\n- patch: |\n    apiVersion: networking.k8s.io/v1\n    kind: NetworkPolicy\n    metadata: {name: deny}\n    ---\n    apiVersion: networking.k8s.io/v1\n    kind: NetworkPolicy\n    metadata: {name: allow, namespace: prod}\n",
    );
    assert_eq!(p.len(), 2);
    assert!(p[0].selects(&base("deny"), &[]) && p[1].selects(&base("allow"), &[]));
    assert_eq!(p[0].declared_at, p[1].declared_at);
}

#[test]
fn patch_files_and_the_older_fields() {
    let files = [
        (
            "p.yaml",
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny}\nspec: {policyTypes: [Ingress]}\n",
        ),
        (
            "j.yaml",
            "- op: add\n  path: /metadata/labels\n  value: {j: '1'}\n",
        ),
    ];
    let k = "\
patches:
- path: p.yaml
patchesJson6902:
- target: {group: networking.k8s.io, version: v1, kind: NetworkPolicy, name: deny}
  path: j.yaml
- target: {kind: NetworkPolicy, name: allow, namespace: prod}
  patch: |-
    - {op: add, path: /metadata/labels/k, value: '2'}
patchesStrategicMerge:
- p.yaml
- |-
  apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: allow, namespace: prod}
  spec: {policyTypes: [Ingress]}
";
    let (p, problems) = read_with(k, &files);
    assert_eq!(problems, []);
    // kustomize's order: patchesStrategicMerge, patchesJson6902, patches.
    let lines: Vec<u32> = p.iter().map(|p| p.declared_at.start.line).collect();
    // A string entry is declared where its text starts.
    assert_eq!(lines, [10, 12, 4, 6, 2]);
    let files_of: Vec<Option<usize>> = p
        .iter()
        .map(|p| match &p.body {
            PatchBody::StrategicMerge(n) => n.span.file.map(FileRef::index),
            PatchBody::Json6902(ops) => ops[0].span.file.map(FileRef::index),
        })
        .collect();
    assert_eq!(files_of, [Some(1), Some(0), Some(2), Some(0), Some(1)]);
    let mut deny = base("deny");
    for patch in p
        .iter()
        .filter(|p| p.selects(&deny, &[]))
        .collect::<Vec<_>>()
    {
        patch.apply(&mut deny).unwrap();
    }
    assert_eq!(
        show(at(&deny, &["metadata"])),
        "{labels: {j: 1}, name: deny}"
    );
    assert_eq!(show(at(&deny, &["spec", "policyTypes"])), "[Ingress]");
    // The inline strategic merge string is placed at the string.
    let PatchBody::StrategicMerge(inline) = &p[1].body else {
        panic!()
    };
    assert_eq!(
        (inline.span.start.line, inline.span.file),
        (12, Some(kfile()))
    );
}

#[test]
fn an_inline_patch_other_than_a_literal_block_is_placed_at_its_string() {
    let k = "patches:\n- target: {name: allow}\n  patch: \"[{op: add, path: /metadata/labels/é, value: 'ü'}]\"\n- target: {name: allow}\n  patch: >\n    [{op: add, path: /x,\n    value: 1}]\n- target: {name: allow}\n  patch: |\n    - {op: add, path: /metadata/labels/ü, value: 'é'}\n";
    let p = read(k);
    let starts: Vec<(u32, u32)> = p
        .iter()
        .map(|p| match &p.body {
            PatchBody::Json6902(ops) => match &ops[0].op {
                Op::Add { value, .. } => (value.span.start.line, value.span.start.column),
                other => panic!("{other:?}"),
            },
            PatchBody::StrategicMerge(_) => panic!(),
        })
        .collect();
    // Quoted and folded: the string's place; literal: the value's own, in characters.
    assert_eq!(starts, [(3, 10), (6, 5), (10, 50)]);
}

#[test]
fn flux_spec_shapes_of_the_older_fields() {
    let spec = "\
patchesStrategicMerge:
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: deny}
  spec: {policyTypes: [Ingress]}
patchesJson6902:
- target: {kind: NetworkPolicy, name: deny}
  patch:
  - {op: add, path: /metadata/labels, value: {j: '1'}}
";
    let p = read(spec);
    assert_eq!(p.len(), 2);
    let mut deny = base("deny");
    for patch in &p {
        assert!(patch.selects(&deny, &[]));
        patch.apply(&mut deny).unwrap();
    }
    assert_eq!(show(at(&deny, &["metadata", "labels"])), "{j: 1}");
    let policy_types = at(&deny, &["spec", "policyTypes"]);
    assert_eq!(
        (policy_types.span.start.line, policy_types.span.file),
        (5, Some(kfile()))
    );
}

#[test]
fn a_strategic_merge_patch_needs_a_kind_and_a_name_even_with_a_target() {
    for body in [
        "kind: NetworkPolicy\nspec: {}",
        "metadata: {name: whatever}\nspec: {}",
    ] {
        let k = format!(
            "patches:\n- target: {{name: deny}}\n  patch: |\n    {}\n",
            body.replace('\n', "\n    ")
        );
        assert!(
            problems(&k)[0].starts_with("unable to parse SM or JSON patch"),
            "{body}"
        );
    }
}

#[test]
fn entries_kustomize_refuses_are_problems_with_a_place() {
    let (_, p) = read_with(
        "patches:\n- path: missing.yaml\n- {path: a, patch: b}\n- target: {name: a}\n- target: {name: '('}\n  patch: '[]'\n- target: {nome: a}\n  patch: '[]'\n- patch: |\n    a: [\n",
        &[],
    );
    let got: Vec<(u32, &str)> = p
        .iter()
        .map(|p| (p.span.start.line, p.message.as_str()))
        .collect();
    assert_eq!(got[0], (2, "patch file missing.yaml: no such file"));
    assert_eq!(got[1], (3, "patch and path can't be set at the same time"));
    assert_eq!(got[2], (4, "must specify one of patch and path"));
    assert_eq!(got[3].0, 5);
    assert!(got[3].1.contains("not a regular expression"));
    assert_eq!(got[4], (7, "unknown field \"nome\" in a patch target"));
    assert_eq!(got[5].0, 11);
    assert!(got[5].1.starts_with("the patch is not valid YAML"));
    assert!(p.iter().all(|p| p.span.file == Some(kfile())));
}

#[test]
fn selectors_parse_as_labels_parse_does() {
    use crate::decode::selector::Operator::*;
    let s = target::parse_selector("a, !b, c=1, d==2, e!=3, f in (x, y), g notin (z)").unwrap();
    let ops: Vec<_> = s
        .requirements
        .iter()
        .map(|r| (r.key.as_str(), r.operator, r.values.len()))
        .collect();
    assert_eq!(
        ops,
        [
            ("a", Exists, 0),
            ("b", DoesNotExist, 0),
            ("c", In, 1),
            ("d", In, 1),
            ("e", NotIn, 1),
            ("f", In, 2),
            ("g", NotIn, 1)
        ]
    );
    assert!(target::parse_selector("a,,b").is_err());
    assert!(target::parse_selector("a > 1").is_err());
    assert!(target::parse_selector("a b").is_err());
}

// ---- properties ------------------------------------------------------------------------

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// A random tree of small mappings, lists and scalars, as YAML flow text.
    fn tree() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("1".to_string()),
            Just("x".to_string()),
            Just("null".to_string()),
            Just("'a/b~c'".to_string())
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(", "))),
                prop::collection::btree_map("[a-c~/]{1,2}", inner, 0..4).prop_map(|m| {
                    let e: Vec<String> =
                        m.into_iter().map(|(k, v)| format!("'{k}': {v}")).collect();
                    format!("{{{}}}", e.join(", "))
                }),
            ]
        })
    }

    /// Every pointer into `node` (the root excluded), escaped.
    fn pointers(node: &Node) -> Vec<(Vec<String>, Node)> {
        let mut out = Vec::new();
        let mut pending = vec![(Vec::<String>::new(), node)];
        while let Some((path, n)) = pending.pop() {
            if let Some(items) = n.as_seq() {
                for (i, item) in items.iter().enumerate() {
                    let mut p = path.clone();
                    p.push(i.to_string());
                    out.push((p.clone(), item.clone()));
                    pending.push((p, item));
                }
            }
            if let Some(entries) = n.as_map() {
                for (k, v) in entries.iter() {
                    let mut p = path.clone();
                    p.push(k.key_text().unwrap().to_string());
                    out.push((p.clone(), v.clone()));
                    pending.push((p, v));
                }
            }
        }
        out
    }

    fn op(kind: &str, tokens: &[String], value: Option<Node>) -> Operation {
        let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let path = Pointer::from_tokens(&refs);
        Operation {
            op: match (kind, value) {
                ("remove", _) => Op::Remove { path },
                (_, Some(value)) => Op::Add { path, value },
                _ => unreachable!(),
            },
            span: Span::default(),
        }
    }

    proptest! {
        /// Removing what a pointer names and adding it back at the same pointer restores the
        /// document; so does adding a new value and removing it.
        #[test]
        fn remove_then_add_is_the_identity(text in tree(), pick in any::<prop::sample::Index>()) {
            let doc = parse_documents(&format!("root: {text}"), 0).unwrap().remove(0);
            let all = pointers(&doc);
            let (tokens, value) = pick.get(&all).clone();
            let mut patched = doc.clone();
            json6902::apply_operation(&mut patched, &op("remove", &tokens, None)).unwrap();
            json6902::apply_operation(&mut patched, &op("add", &tokens, Some(value))).unwrap();
            prop_assert!(node::same_value(&patched, &doc), "{} != {}", show(&patched), show(&doc));
            let mut added = doc.clone();
            let mut new = tokens.clone();
            *new.last_mut().unwrap() = match doc_parent_is_seq(&doc, &tokens) { true => "0".into(), false => "~new".into() };
            json6902::apply_operation(&mut added, &op("add", &new, Some(node::null(Span::default())))).unwrap();
            json6902::apply_operation(&mut added, &op("remove", &new, None)).unwrap();
            prop_assert!(node::same_value(&added, &doc));
        }

        /// Merging lists by key agrees with a brute-force oracle: the patch's items in order
        /// (the first of each key; merged into the object's first item of that key), then
        /// the object's other items.
        #[test]
        fn merge_by_key_agrees_with_nested_loops(
            old in prop::collection::vec((0u8..6, 0u8..3), 0..8),
            new in prop::collection::vec((0u8..6, 0u8..3, any::<bool>()), 0..8),
        ) {
            let container = |(n, v): (u8, u8)| format!("{{name: c{n}, image: i{v}}}");
            let object = format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers: [{}]\n",
                old.iter().map(|&c| container(c)).collect::<Vec<_>>().join(", ")
            );
            let patch_items: Vec<String> = new
                .iter()
                .map(|&(n, v, delete)| if delete { format!("{{name: c{n}, $patch: delete}}") } else { format!("{{name: c{n}, tag: t{v}}}") })
                .collect();
            let patch_doc = format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers: [{}]\n",
                patch_items.join(", ")
            );
            let mut o = parse_documents(&object, 0).unwrap().remove(0);
            let p = parse_documents(&patch_doc, 0).unwrap().remove(0);
            merge::merge_object(&mut o, &p, Renames::default()).unwrap();
            // The oracle.
            let mut used = vec![false; old.len()];
            let mut seen: Vec<u8> = Vec::new();
            let mut expected = Vec::new();
            for &(n, v, delete) in &new {
                if seen.contains(&n) { continue; }
                seen.push(n);
                let found = (0..old.len()).find(|&i| old[i].0 == n && !used[i] && !(0..i).any(|j| old[j].0 == n));
                if let Some(i) = found { used[i] = true; }
                if delete { continue; }
                expected.push(match found {
                    Some(i) => format!("{{image: i{}, name: c{n}, tag: t{v}}}", old[i].1),
                    None => format!("{{name: c{n}, tag: t{v}}}"),
                });
            }
            for (i, &(n, v)) in old.iter().enumerate() {
                if !used[i] { expected.push(format!("{{image: i{v}, name: c{n}}}")); }
            }
            prop_assert_eq!(show(at(&o, &["spec", "containers"])), format!("[{}]", expected.join(", ")));
        }
    }

    fn doc_parent_is_seq(doc: &Node, tokens: &[String]) -> bool {
        let parent = tokens[..tokens.len() - 1]
            .iter()
            .fold(doc, |n, t| match n.as_seq() {
                Some(items) => &items[t.parse::<usize>().unwrap()],
                None => n.get(t).unwrap(),
            });
        parent.as_seq().is_some()
    }

    #[test]
    fn merging_long_lists_is_linear() {
        let n = 20_000;
        let items = |field: &str| {
            (0..n)
                .map(|i| format!("{{name: c{i}, {field}: x}}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let object = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers: [{}]\n",
            items("image")
        );
        let patch_doc = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers: [{}]\n",
            items("tag")
        );
        let mut o = parse_documents(&object, 0).unwrap().remove(0);
        let p = parse_documents(&patch_doc, 0).unwrap().remove(0);
        let started = std::time::Instant::now();
        merge::merge_object(&mut o, &p, Renames::default()).unwrap();
        assert_eq!(at(&o, &["spec", "containers"]).as_seq().unwrap().len(), n);
        assert!(started.elapsed().as_secs() < 5);
    }
}
