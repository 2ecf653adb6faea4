#!/usr/bin/env python3
"""Differential test: what imds-lint shows for each kustomize build against the real kustomize.

    .ci/kustomize_agree.py BIN ROOT...

For every kustomization entry point under each ROOT (a kustomization file that no other
kustomization under the root includes through `resources`, `bases` or `components`, plus every
build imds-lint itself starts), compares `kubectl kustomize DIR` with the documents that
`BIN render --no-controllers ROOT` heads with `# build: kustomize DIR/kustomization.yaml`, on
the fields imds-lint reads: kind, namespace, name, labels, the specs of NetworkPolicies and of
the Cilium, Calico and AdminNetworkPolicy kinds, pod-template labels and `hostNetwork`.

Each entry point ends in exactly one column:
  agree             kubectl built it and imds-lint shows the same objects;
  differ            kubectl built it, imds-lint shows other objects and said nothing about it;
  kubectl refused   kubectl could not build it (imds-lint must have reported an error or a
                    note about one of its files, else it counts as a difference too);
  imds-lint refused kubectl built it, imds-lint shows other objects but said so: an error or a
                    note about one of its files, or a `# not applied:` header on one of its
                    documents (verdicts there are uncertain): listed, not a failure.
  component alone   a kustomization of kind Component that nothing includes: it is built only
                    into what includes it (kubectl refuses it alone where its patches name
                    objects it lacks); counted and listed, not compared.
ConfigMaps and Secrets are left out of the comparison: imds-lint reads nothing of them, and
kustomize's generators name theirs with a hash of the content.
Nothing is skipped: every entry point is in the table. Prints the first differences and exits
1 when any entry point differs (or kubectl refused one imds-lint was silent about).

kubectl runs without network (a proxy that refuses every connection), as imds-lint does.
"""
import json
import os
import subprocess
import sys

try:
    import yaml
except ImportError:  # pragma: no cover - CI installs it
    sys.exit("kustomize_agree.py needs PyYAML (pip install pyyaml)")



class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """PyYAML's safe loader, reading a plain `=` as the string it is to go-yaml (YAML 1.1's
    `value` type has no constructor in PyYAML)."""


Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}
POLICY_GROUPS = {
    "NetworkPolicy": None,  # native, Calico (projectcalico.org) alike: the spec is compared
    "CiliumNetworkPolicy": None,
    "CiliumClusterwideNetworkPolicy": None,
    "GlobalNetworkPolicy": None,
    "AdminNetworkPolicy": None,
    "BaselineAdminNetworkPolicy": None,
}
KUBECTL_TIMEOUT = 60
NO_NETWORK = {
    **os.environ,
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "true",
    "GIT_SSH_COMMAND": "false",
}


def kustomization_in(folder):
    for name in KUSTOMIZATION_NAMES:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def find_kustomizations(root):
    """Every kustomization file under root (not in .git), sorted."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        path = kustomization_in(folder)
        if path:
            found.append(os.path.abspath(path))
    return sorted(found)


def includes(path):
    """The kustomization files a kustomization includes (resources, bases, components that
    are folders with a kustomization), and whether it could be read."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=Loader)
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return [], False
    if not isinstance(doc, dict):
        return [], False
    here = os.path.dirname(path)
    found = []
    for key in ("resources", "bases", "components"):
        entries = doc.get(key)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, str) or "://" in entry or entry.startswith("git@"):
                continue
            target = os.path.normpath(os.path.join(here, entry))
            if os.path.isdir(target):
                k = kustomization_in(target)
                if k:
                    found.append(os.path.abspath(k))
    return found, True


def closure(start, graph):
    """start and every kustomization it includes, transitively (iteratively: cycles end)."""
    seen, stack = {start}, [start]
    while stack:
        for k in graph.get(stack.pop(), []):
            if k not in seen:
                seen.add(k)
                stack.append(k)
    return seen


def parse_render(stdout):
    """The documents of `render`: (header dict of lists, object)."""
    docs, current = [], None
    for line in stdout.split("\n"):
        if line == "---":
            current = []
            docs.append(current)
        elif current is not None:
            current.append(line)
    out = []
    for lines in docs:
        header = {}
        for line in lines:
            if not line.startswith("# "):
                break
            key, _, value = line[2:].partition(": ")
            header.setdefault(key, []).append(value)
        out.append((header, yaml.load("\n".join(lines), Loader=Loader)))
    return out


def get(node, *path):
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def view(obj, namespace):
    """What imds-lint reads of an object: identity and the fields the analysis uses."""
    kind = get(obj, "kind")
    fields = {"labels": get(obj, "metadata", "labels") or {}}
    if kind in POLICY_GROUPS:
        fields["spec"] = get(obj, "spec")
        if get(obj, "specs") is not None:
            fields["specs"] = get(obj, "specs")
    template = None
    if kind == "Pod":
        template = obj
    elif kind in WORKLOADS:
        template = get(obj, "spec", "template")
    elif kind == "CronJob":
        template = get(obj, "spec", "jobTemplate", "spec", "template")
    if template is not None:
        if kind != "Pod":
            fields["pod labels"] = get(template, "metadata", "labels") or {}
        fields["hostNetwork"] = bool(get(template, "spec", "hostNetwork"))
    identity = (str(kind), namespace or "", str(get(obj, "metadata", "name")))
    return identity, json.dumps(fields, sort_keys=True, default=str)


UNREAD = {"ConfigMap", "Secret"}


def kubectl_view(obj):
    return view(obj, get(obj, "metadata", "namespace"))


def render_view(header, obj):
    # kubectl leaves a namespaced object without a namespace where imds-lint shows the default
    # namespace it lands in (and says so in the header).
    defaulted = any("the default namespace" in t for t in header.get("transformed", []))
    namespace = None if defaulted else get(obj, "metadata", "namespace")
    return view(obj, namespace)


def compare(expected, actual):
    """Differences between two lists of views, as lines; empty when they agree."""
    lines = []
    want = {}
    for identity, fields in expected:
        want.setdefault(identity, []).append(fields)
    have = {}
    for identity, fields in actual:
        have.setdefault(identity, []).append(fields)
    for identity in sorted(set(want) | set(have)):
        name = "{} {}/{}".format(identity[0], identity[1] or "-", identity[2])
        w, h = sorted(want.get(identity, [])), sorted(have.get(identity, []))
        if w == h:
            continue
        if not h:
            lines.append(f"only kubectl: {name}")
        elif not w:
            lines.append(f"only imds-lint: {name}" + (f" (x{len(h)})" if len(h) > 1 else ""))
        elif len(w) != len(h):
            lines.append(f"{name}: kubectl has {len(w)}, imds-lint {len(h)}")
        else:
            for a, b in zip(w, h):
                if a != b:
                    a, b = json.loads(a), json.loads(b)
                    for key in sorted(set(a) | set(b)):
                        if a.get(key) != b.get(key):
                            lines.append(
                                f"{name}: {key}: kubectl {json.dumps(a.get(key), sort_keys=True)[:160]}"
                                f" / imds-lint {json.dumps(b.get(key), sort_keys=True)[:160]}"
                            )
    return lines


def is_component(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=Loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(doc, dict) and doc.get("kind") == "Component"


def refusal(stderr):
    """kubectl's reason, on one line: its `err="…"`, else its error lines joined."""
    text = " ".join(line.strip() for line in stderr.strip().splitlines())
    at = text.find("err=")
    return text[at + 4:].lstrip('<" ').rstrip('>" ') if at >= 0 else text


def display(path):
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def check_root(bin_, root):
    """Rows (entry point, objects, column, detail lines) for one root."""
    kustomizations = find_kustomizations(root)
    graph, readable = {}, {}
    for k in kustomizations:
        graph[k], readable[k] = includes(k)
    included = {i for k in kustomizations for i in graph[k]}
    entry_points = {k for k in kustomizations if k not in included}

    p = subprocess.run([bin_, "render", "--no-controllers", root], capture_output=True, text=True)
    if "panicked" in p.stderr or p.returncode not in (0, 2):
        return [(display(root), 0, "imds-lint crashed", [p.stderr[-500:]])]
    builds = {}
    for header, obj in parse_render(p.stdout):
        for build in header.get("build", []):
            if build.startswith("kustomize "):
                builds.setdefault(os.path.abspath(build[len("kustomize "):]), []).append((header, obj))
    # Builds imds-lint starts that are no entry point here (a cycle entered at its first member).
    entry_points |= set(builds)
    messages = p.stderr.splitlines()

    rows = []
    for k in sorted(entry_points):
        folder = os.path.dirname(k)
        if is_component(k):
            rows.append((display(k), 0, "component alone", []))
            continue
        members = closure(k, graph)
        dirs = [display(os.path.dirname(m)) + os.sep for m in members]
        reported = [m for m in messages if any(d in m for d in dirs)]
        reported += sorted({f"not applied: {n}" for h, _ in builds.get(k, []) for n in h.get("not applied", [])})
        ours = [render_view(h, o) for h, o in builds.get(k, [])
                if isinstance(o, dict) and o.get("kind") not in UNREAD]
        try:
            kc = subprocess.run(["kubectl", "kustomize", folder], capture_output=True, text=True,
                                timeout=KUBECTL_TIMEOUT, env=NO_NETWORK)
            refused = kc.returncode != 0
            why = [refusal(kc.stderr)] if refused else []
        except subprocess.TimeoutExpired:
            refused, why = True, [f"no answer in {KUBECTL_TIMEOUT}s"]
        if refused:
            detail = [f"kubectl: {w[:300]}" for w in why]
            if reported:
                rows.append((display(k), len(ours), "kubectl refused", detail + [f"imds-lint: {reported[0][:300]}"]))
            else:
                rows.append((display(k), len(ours), "differ", detail + ["imds-lint reported nothing about this build"]))
            continue
        try:
            theirs = [kubectl_view(o) for o in yaml.load_all(kc.stdout, Loader=Loader)
                      if isinstance(o, dict) and o.get("kind") not in UNREAD]
        except yaml.YAMLError as e:
            rows.append((display(k), 0, "differ", [f"kubectl output does not parse: {e}"]))
            continue
        differences = compare(theirs, ours)
        if not differences:
            rows.append((display(k), len(theirs), "agree", []))
        elif reported:
            rows.append((display(k), len(theirs), "imds-lint refused", [f"imds-lint: {reported[0][:300]}"] + differences))
        else:
            rows.append((display(k), len(theirs), "differ", differences))
    return rows


COLUMNS = ["agree", "differ", "kubectl refused", "imds-lint refused", "component alone"]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    bin_, roots = sys.argv[1], sys.argv[2:]
    if subprocess.run(["kubectl", "version", "--client"], capture_output=True).returncode != 0:
        sys.exit("kustomize_agree.py needs kubectl (kubectl kustomize embeds kustomize v5)")
    totals = {c: 0 for c in COLUMNS + ["imds-lint crashed"]}
    failed = False
    shown = 0
    for root in roots:
        rows = check_root(bin_, root)
        counts = {c: sum(1 for r in rows if r[2] == c) for c in totals}
        print(f"\n{root}: {len(rows)} entry points: " + ", ".join(f"{counts[c]} {c}" for c in COLUMNS)
              + (f", {counts['imds-lint crashed']} imds-lint crashed" if counts["imds-lint crashed"] else ""))
        width = max([len(r[0]) for r in rows] + [11])
        print(f"  {'entry point':<{width}}  objects  result")
        for name, objects, column, _ in rows:
            print(f"  {name:<{width}}  {objects:>7}  {column}")
        for c in totals:
            totals[c] += counts[c]
        for name, _, column, detail in rows:
            if column == "agree" or shown >= 40:
                continue
            shown += 1
            print(f"  -- {column}: {name}")
            for line in detail[:8]:
                print(f"       {line}")
            if len(detail) > 8:
                print(f"       … {len(detail) - 8} more")
        failed |= any(r[2] in ("differ", "imds-lint crashed") for r in rows)
    print("\ntotal: " + ", ".join(f"{totals[c]} {c}" for c in COLUMNS)
          + (f", {totals['imds-lint crashed']} imds-lint crashed" if totals["imds-lint crashed"] else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
