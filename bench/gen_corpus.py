#!/usr/bin/env python3
"""Generate a GitOps-like repository whose metadata-reachability answer is known.

usage: gen_corpus.py OUT --namespaces N --seed S [--noise K]

Writes the repository under OUT/repo and the answer to OUT/expected.json:

    {"namespaces": {"<name>": true|false, ...}, "variants": {"<name>": "<case>", ...}}

true means some pod in the namespace can reach a metadata endpoint
(169.254.169.254 or fd00:ec2::254, TCP port 80) under networking.k8s.io/v1
NetworkPolicy semantics (the API reference, as imds-lint's design notes spell
it out), with namespaces resolved through kustomize as kustomize would.
"namespaces" lists every namespace the repository defines, no more: a tool that
reports another one (from a Helm template, a .gitignored file, a manifest
embedded in a ConfigMap, a namespace kustomize overrides) is wrong too.
"variants" names the case each namespace was built from, for diagnosis.

Each namespace gets one case from CASES below; the verdict of each case is
written next to it with the reason. On top of the cases the repository has
the shapes real repositories have: kustomize bases and overlays, JSON
manifests, multi-document files, `kind: List`, CRLF line endings, a byte order
mark now and then, Helm charts (whose templates must be skipped), and bulk
noise (Deployments, Services, ConfigMaps, RBAC, big CRDs) so that reading and
skipping irrelevant YAML is part of what a benchmark measures.

Deterministic for a given (namespaces, seed, noise). Python standard library only.
"""
import argparse
import json
import os
import random
import re

MD4 = "169.254.169.254/32"
MD6 = "fd00:ec2::254/128"
WEB = {"matchLabels": {"app": "web"}}

# --------------------------------------------------------------------------
# A small YAML emitter: block style, strings quoted (JSON style) when a plain
# scalar could be read as something else.
# --------------------------------------------------------------------------
PLAIN = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./-]*\Z")
RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if v is None:
        return "null"
    s = str(v)
    try:
        float(s)
        looks_numeric = True
    except ValueError:
        looks_numeric = False
    if PLAIN.match(s) and s.lower() not in RESERVED and not looks_numeric:
        return s
    return json.dumps(s)


def emit(value, ind=0, seq_ind=0):
    """Block YAML for a dict or list at indentation `ind`; `seq_ind` is 0 for
    kubectl style (`- ` under the key) or 2 (`- ` indented under the key)."""
    pad = " " * ind
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{k}:\n")
                out.append(emit(v, ind + (2 if isinstance(v, dict) else seq_ind), seq_ind))
            elif isinstance(v, (dict, list)):
                out.append(f"{pad}{k}: {'{}' if isinstance(v, dict) else '[]'}\n")
            else:
                out.append(f"{pad}{k}: {scalar(v)}\n")
    else:
        for item in value:
            if isinstance(item, dict) and item:
                # Emit the mapping two columns in, then turn its first indent into "- ".
                body = emit(item, ind + 2, seq_ind)
                out.append(pad + "- " + body[ind + 2:])
            elif isinstance(item, (dict, list)):
                out.append(f"{pad}- {'{}' if isinstance(item, dict) else '[]'}\n")
            else:
                out.append(f"{pad}- {scalar(item)}\n")
    return "".join(out)


# --------------------------------------------------------------------------
# NetworkPolicy building blocks (plain dicts).
# --------------------------------------------------------------------------
def policy(ns, name, selector="all", types=("Egress",), egress=None, **spec_extra):
    """A NetworkPolicy. selector="all" gives `podSelector: {}`, None omits the key;
    types=None omits policyTypes; egress=None omits the key."""
    meta = {"name": name}
    if ns is not None:
        meta["namespace"] = ns
    spec = {}
    if selector is not None:
        spec["podSelector"] = {} if selector == "all" else selector
    if types is not None:
        spec["policyTypes"] = list(types)
    if egress is not None:
        spec["egress"] = egress
    spec.update(spec_extra)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": meta, "spec": spec}


def block(cidr, *excepts):
    b = {"cidr": cidr}
    if excepts:
        b["except"] = list(excepts)
    return {"ipBlock": b}


def deny(ns, **kw):
    return policy(ns, "deny-egress-all", **kw)


def allow(ns, v6=False, except4=MD4):
    """The allow half of the pair; with v6, also ::/0 minus the IPv6 endpoint."""
    to = [block("0.0.0.0/0", except4)]
    if v6:
        to.append(block("::/0", MD6))
    return policy(ns, "allow-egress-all-except-metadata", egress=[{"to": to}])


def pair(ns, rnd):
    return [deny(ns), allow(ns, v6=rnd.random() < 0.5)]


def extra(ns, name, egress, selector=WEB, **kw):
    """A third policy next to the pair, selecting app=web by default."""
    return policy(ns, name, selector=selector, egress=egress, **kw)


# --------------------------------------------------------------------------
# Hand-written YAML for cases that exercise YAML syntax rather than semantics.
# {ns} is the namespace.
# --------------------------------------------------------------------------
PAIR_FLOW = """\
# flow style, quoted scalars, trailing comments
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: deny-egress-all, namespace: {ns}}}
spec: {{podSelector: {{}}, policyTypes: [Egress]}}
---
apiVersion: "networking.k8s.io/v1"
kind: 'NetworkPolicy'
metadata:
  name: allow-egress-all-except-metadata   # the IMDS carve-out
  namespace: "{ns}"
spec:
  podSelector: {{}}
  policyTypes: ["Egress"]
  egress:
    - to:
        - ipBlock: {{cidr: "0.0.0.0/0", except: ["169.254.169.254/32"]}}
        # - ipBlock: {{cidr: 169.254.0.0/16}}   (commented out on purpose)
"""

PAIR_REORDERED = """\
spec:
  egress:
  - to:
    - ipBlock:
        except:
        - 169.254.169.254/32
        cidr: 0.0.0.0/0
  policyTypes:
  - Egress
  podSelector: {{}}
metadata:
  namespace: {ns}
  name: allow-egress-all-except-metadata
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
...
---
spec:
  policyTypes: [Egress]
  podSelector: {{}}
metadata: {{namespace: {ns}, name: deny-egress-all}}
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
...
"""

PAIR_ANCHORS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-egress-all
  namespace: &ns {ns}
  labels: {{owner: *ns}}
spec:
  podSelector: {{}}
  policyTypes: [Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-egress-all-except-metadata
  namespace: {ns}
spec:
  podSelector: {{}}
  policyTypes: [Egress]
  egress:
  - ports: [{{port: 443}}]
    to:
    - ipBlock: &world
        cidr: 0.0.0.0/0
        except: [169.254.169.254/32]
  - to:
    - ipBlock: *world
"""

OPEN_ANCHORS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-egress-all
  namespace: {ns}
spec:
  podSelector: {{}}
  policyTypes: [Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-link-local
  namespace: {ns}
spec:
  podSelector: &web
    matchLabels: {{app: web}}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {{cidr: 169.254.0.0/16}}
    ports: &http
    - {{port: 80, protocol: TCP}}
"""


# --------------------------------------------------------------------------
# The cases. Each returns (documents, reachable); a document is a dict or a
# hand-written YAML string. Weights set how often each case is drawn.
# --------------------------------------------------------------------------
def c_pair(ns, rnd):
    return pair(ns, rnd), False  # the canonical fix: deny all, allow all but IMDS


def c_none(ns, rnd):
    return [], True  # no egress policy: no pod is isolated


def c_configmap_only(ns, rnd):
    return [], True  # like none; the namespace is known only from a ConfigMap's metadata.namespace


def c_deny_only(ns, rnd):
    return [deny(ns)], False  # every pod isolated, nothing allowed


def c_reopen_all(ns, rnd):  # app=web pods may go anywhere: allows are unioned
    return pair(ns, rnd) + [extra(ns, "web-egress", [{"to": [block("0.0.0.0/0")]}])], True


def c_reopen_link_local(ns, rnd):  # 169.254.0.0/16 contains 169.254.169.254
    return pair(ns, rnd) + [extra(ns, "link-local", [{"to": [block("169.254.0.0/16")]}], selector="all")], True


def c_reopen_exact(ns, rnd):
    rule = {"to": [block(MD4)], "ports": [{"protocol": "TCP", "port": 80}]}
    return pair(ns, rnd) + [extra(ns, "imds-for-web", [rule])], True


def c_no_to_port_80(ns, rnd):  # a rule with no `to` allows every destination
    return pair(ns, rnd) + [extra(ns, "http-out", [{"ports": [{"port": 80}]}])], True


def c_empty_to_port_80(ns, rnd):  # `to: []` is every destination too
    return pair(ns, rnd) + [extra(ns, "http-out", [{"to": [], "ports": [{"port": 80}]}])], True


def c_empty_rule(ns, rnd):  # `- {}`: every port, every destination
    return pair(ns, rnd) + [extra(ns, "anything", [{}])], True


def c_endport_low(ns, rnd):  # 1..=1024 contains 80
    return pair(ns, rnd) + [extra(ns, "low-ports", [{"ports": [{"port": 1, "endPort": 1024}]}])], True


def c_endport_80(ns, rnd):  # 80..=80
    return pair(ns, rnd) + [extra(ns, "only-80", [{"ports": [{"protocol": "TCP", "port": 80, "endPort": 80}]}])], True


def c_endport_high(ns, rnd):  # 8000..=9000 misses 80
    return pair(ns, rnd) + [extra(ns, "high-ports", [{"ports": [{"port": 8000, "endPort": 9000}]}])], False


def c_endport_81(ns, rnd):  # 81..=1024 misses 80 by one
    return pair(ns, rnd) + [extra(ns, "above-80", [{"ports": [{"port": 81, "endPort": 1024}]}])], False


def c_multi_port(ns, rnd):  # one port entry of several is enough
    return pair(ns, rnd) + [extra(ns, "web-ports", [{"ports": [{"port": 443}, {"port": 80}]}])], True


def c_tcp_any_port(ns, rnd):  # protocol without port: every TCP port
    rule = {"to": [block("169.254.0.0/16")], "ports": [{"protocol": "TCP"}]}
    return pair(ns, rnd) + [extra(ns, "link-local-tcp", [rule])], True


def c_port_443(ns, rnd):
    return pair(ns, rnd) + [extra(ns, "https", [{"ports": [{"port": 443, "protocol": "TCP"}]}])], False


def c_udp_80(ns, rnd):  # the endpoints are TCP
    return pair(ns, rnd) + [extra(ns, "udp", [{"ports": [{"port": 80, "protocol": "UDP"}]}])], False


def c_udp_any(ns, rnd):
    return pair(ns, rnd) + [extra(ns, "udp-all", [{"ports": [{"protocol": "UDP"}]}])], False


def c_sctp_80(ns, rnd):
    return pair(ns, rnd) + [extra(ns, "sctp", [{"ports": [{"port": 80, "protocol": "SCTP"}]}])], False


def c_dns_53(ns, rnd):  # GCP: 169.254.169.254 is also the VPC resolver; port 53 only is fine
    rule = {"to": [block(MD4)], "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    return pair(ns, rnd) + [extra(ns, "allow-dns", [rule], selector="all")], False


def c_named_port(ns, rnd):  # a named port names a pod's container port: never the endpoint
    return pair(ns, rnd) + [extra(ns, "named-http", [{"ports": [{"port": "http"}]}])], False


def c_pods_only(ns, rnd):  # selector peers select pods, never an address
    rule = {"to": [{"podSelector": {}}, {"namespaceSelector": {}},
                   {"namespaceSelector": {"matchLabels": {"team": "infra"}}, "podSelector": WEB}],
            "ports": [{"port": 80}]}
    return pair(ns, rnd) + [extra(ns, "in-cluster", [rule], selector="all")], False


def c_pods_and_block(ns, rnd):  # one ipBlock among pod peers is enough
    rule = {"to": [{"podSelector": {}}, block("0.0.0.0/0", "10.0.0.0/8")]}
    return pair(ns, rnd) + [extra(ns, "mixed-peers", [rule])], True


def c_opener_except_md(ns, rnd):  # a link-local opener that carves the endpoint out
    rule = {"to": [block("169.254.0.0/16", MD4)]}
    return pair(ns, rnd) + [extra(ns, "link-local-but-imds", [rule])], False


def c_v6_except_range(ns, rnd):  # IPv6 opener whose except covers fd00:ec2::254
    rule = {"to": [block("::/0", "fd00:ec2::/32")]}
    return [deny(ns), allow(ns, v6=False), extra(ns, "v6-out", [rule])], False


def c_v6_open(ns, rnd):  # ::/0 without except reaches fd00:ec2::254
    to = [block("0.0.0.0/0", MD4), block("::/0")]
    return [deny(ns), policy(ns, "allow-egress-all-except-metadata", egress=[{"to": to}])], True


def c_v6_opener(ns, rnd):
    rule = {"to": [block("fd00:ec2::/64")], "ports": [{"port": 80}]}
    return [deny(ns), allow(ns, v6=False), extra(ns, "v6-ec2", [rule])], True


def c_except_wide(ns, rnd):  # except 169.254.0.0/16 removes the endpoint too
    return [deny(ns), allow(ns, except4="169.254.0.0/16")], False


def c_except_typo(ns, rnd):  # .253 is not .254
    return [deny(ns), allow(ns, except4="169.254.169.253/32")], True


def c_except_field_typo(ns, rnd):
    # `excepts:` is an unknown field: the verdict is as if it were absent, so
    # the allow half allows all of 0.0.0.0/0.
    p = allow(ns)
    blk = p["spec"]["egress"][0]["to"][0]["ipBlock"]
    blk["excepts"] = blk.pop("except")
    return [deny(ns), p], True


def c_partial_deny(ns, rnd):  # only app=web isolated; other pods are not
    return [extra(ns, "deny-web", [])], True


def c_ingress_only(ns, rnd):  # does nothing for egress
    return [policy(ns, "default-deny-ingress", types=["Ingress"], ingress=[])], True


def c_implicit_ingress(ns, rnd):  # no policyTypes, no egress rules: Ingress only
    return [policy(ns, "no-egress-rules", types=None)], True


def c_implicit_egress(ns, rnd):  # no policyTypes but egress rules: Ingress + Egress
    return [policy(ns, "private-only", types=None, egress=[{"to": [block("10.0.0.0/8")]}])], False


def c_implicit_egress_open(ns, rnd):  # ditto, and it opens 0.0.0.0/0 for app=web
    return pair(ns, rnd) + [extra(ns, "web-out", [{"to": [block("0.0.0.0/0")]}], types=None)], True


def c_match_in_only(ns, rnd):  # app In [a]: pods without app=a stay open
    sel = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["a"]}]}
    return [policy(ns, "deny-a", selector=sel)], True


def c_match_notin_only(ns, rnd):  # app NotIn [batch]: app=batch pods stay open
    sel = {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["batch"]}]}
    return [policy(ns, "deny-most", selector=sel)], True


def c_match_exists_only(ns, rnd):  # app Exists: pods without an app label stay open
    sel = {"matchExpressions": [{"key": "app", "operator": "Exists"}]}
    return [policy(ns, "deny-labelled", selector=sel)], True


def c_match_complement(ns, rnd):
    # Two deny policies whose selectors together cover every pod (app Exists,
    # app DoesNotExist), no policy selecting all pods: every pod is isolated
    # and none may send anything.
    ex = {"matchExpressions": [{"key": "app", "operator": "Exists"}]}
    nex = {"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}
    return [policy(ns, "deny-labelled", selector=ex), policy(ns, "deny-unlabelled", selector=nex)], False


def c_labels_and_exprs_opener(ns, rnd):  # a satisfiable selector with both halves
    sel = {"matchLabels": {"tier": "frontend"},
           "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}
    return pair(ns, rnd) + [extra(ns, "frontend-out", [{}], selector=sel)], True


def c_unsatisfiable_opener(ns, rnd):  # app In [a] and app NotIn [a] selects no pod
    sel = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["a"]},
                                {"key": "app", "operator": "NotIn", "values": ["a"]}]}
    return pair(ns, rnd) + [extra(ns, "selects-nothing", [{}], selector=sel)], False


def c_rejected_opener(ns, rnd):  # endPort < port: the API server rejects it, so it opens nothing
    return pair(ns, rnd) + [extra(ns, "bad-range", [{"ports": [{"port": 80, "endPort": 70}]}])], False


def c_deny_no_selector(ns, rnd):  # a missing podSelector is the empty selector: all isolated
    return [deny(ns, selector=None)], False


def c_deny_empty_parts(ns, rnd):  # matchLabels {} and matchExpressions [] select every pod
    return [deny(ns, selector={"matchLabels": {}, "matchExpressions": []})], False


def c_stray_opener(ns, rnd):  # the pair here, an opener for this namespace in a shared folder
    return pair(ns, rnd), True


def c_pair_flow(ns, rnd):
    return [PAIR_FLOW.format(ns=ns)], False


def c_pair_reordered(ns, rnd):
    return [PAIR_REORDERED.format(ns=ns)], False


def c_pair_anchors(ns, rnd):
    return [PAIR_ANCHORS.format(ns=ns)], False


def c_open_anchors(ns, rnd):
    return [OPEN_ANCHORS.format(ns=ns)], True


CASES = [
    (c_pair, 40), (c_none, 5), (c_configmap_only, 1), (c_deny_only, 3),
    (c_reopen_all, 3), (c_reopen_link_local, 2), (c_reopen_exact, 1), (c_no_to_port_80, 2),
    (c_empty_to_port_80, 1), (c_empty_rule, 2), (c_endport_low, 2), (c_endport_80, 1),
    (c_endport_high, 1), (c_endport_81, 1), (c_multi_port, 1), (c_tcp_any_port, 1),
    (c_port_443, 2), (c_udp_80, 2), (c_udp_any, 1), (c_sctp_80, 1), (c_dns_53, 2),
    (c_named_port, 2), (c_pods_only, 2), (c_pods_and_block, 1), (c_opener_except_md, 1),
    (c_v6_except_range, 1), (c_v6_open, 2), (c_v6_opener, 1), (c_except_wide, 2),
    (c_except_typo, 2), (c_except_field_typo, 1), (c_partial_deny, 2), (c_ingress_only, 2),
    (c_implicit_ingress, 1), (c_implicit_egress, 2), (c_implicit_egress_open, 1),
    (c_match_in_only, 1), (c_match_notin_only, 1), (c_match_exists_only, 1),
    (c_match_complement, 1), (c_labels_and_exprs_opener, 1), (c_unsatisfiable_opener, 1),
    (c_rejected_opener, 1), (c_deny_no_selector, 1), (c_deny_empty_parts, 1),
    (c_stray_opener, 1), (c_pair_flow, 1), (c_pair_reordered, 1), (c_pair_anchors, 1),
    (c_open_anchors, 1),
]


def case_name(fn):
    return fn.__name__[2:].replace("_", "-")


# --------------------------------------------------------------------------
# Bulk noise: what a real repository is mostly made of.
# --------------------------------------------------------------------------
def deployment(ns, i, rnd, labels=None):
    labels = labels or {"app": f"svc-{i}"}
    env = [{"name": f"VAR_{j}", "value": f"{rnd.getrandbits(64):x}"} for j in range(rnd.randint(3, 14))]
    env.append({"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}})
    container = {
        "name": "main",
        "image": f"registry.example.com/team/svc-{i}:{rnd.randint(1, 99)}.{rnd.randint(0, 9)}",
        "ports": [{"name": "http", "containerPort": 8080}],
        "env": env,
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
    }
    meta = {"name": f"svc-{i}", "labels": dict(labels)}
    if ns is not None:
        meta["namespace"] = ns
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
        "spec": {
            "replicas": rnd.randint(1, 5),
            "selector": {"matchLabels": dict(labels)},
            "template": {"metadata": {"labels": dict(labels)},
                         "spec": {"serviceAccountName": "default", "containers": [container]}},
        },
    }


def service(ns, i):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"svc-{i}", "namespace": ns},
            "spec": {"selector": {"app": f"svc-{i}"},
                     "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


def configmap_text(ns, i, rnd, lines, kind_last=False):
    """A ConfigMap with a long literal block; kind_last puts `kind` after `data`
    (as `kubectl get -o yaml` orders keys), so a reader only learns late that it
    may skip the document."""
    body = "".join(f"    key_{k} = {rnd.getrandbits(128):032x}\n" for k in range(lines))
    if rnd.random() < 0.02:
        # A manifest quoted inside a ConfigMap is data, not an object.
        body += ("    ---\n    apiVersion: v1\n    kind: Namespace\n    metadata:\n"
                 f"      name: embedded-{ns}\n")
    meta = f"metadata:\n  name: cfg-{i}\n  namespace: {ns}\n  labels:\n    app: svc-{i}\n"
    data = f"data:\n  app.properties: |\n{body}  LOG_LEVEL: info\n"
    if kind_last:
        return f"apiVersion: v1\n{data}kind: ConfigMap\n{meta}"
    return f"apiVersion: v1\nkind: ConfigMap\n{meta}{data}"


def rbac(ns):
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "deployer", "namespace": ns}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "deployer", "namespace": ns},
         "rules": [{"apiGroups": ["", "apps"], "resources": ["pods", "deployments", "services"],
                    "verbs": ["get", "list", "watch", "create", "update", "patch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "deployer", "namespace": ns},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
         "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}]},
    ]


def crd_text(i, rnd, props):
    fields = "".join(
        f"                field{k}:\n                  type: string\n"
        f"                  description: \"{rnd.getrandbits(160):x}\"\n"
        for k in range(props))
    return f"""apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets{i}.example.com
spec:
  group: example.com
  names:
    kind: Widget{i}
    plural: widgets{i}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
{fields}"""


# --------------------------------------------------------------------------
# Writing files in the various shapes.
# --------------------------------------------------------------------------
class Repo:
    def __init__(self, root, rnd):
        self.root, self.rnd = root, rnd

    def write(self, rel, text, crlf=False, bom=False):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if crlf:
            text = text.replace("\n", "\r\n")
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(("\ufeff" if bom else "") + text)

    def yaml_docs(self, rel, docs, **kw):
        """One file, documents separated by `---` (sometimes a leading one too)."""
        seq_ind = self.rnd.choice((0, 2))
        texts = [d if isinstance(d, str) else emit(d, 0, seq_ind) for d in docs]
        lead = "---\n" if self.rnd.random() < 0.3 else ""
        self.write(rel, lead + "---\n".join(texts), **kw)


def write_policies(repo, d, docs, rnd):
    """Write a namespace's policy documents in one of several shapes."""
    if not docs:
        return
    crlf = rnd.random() < 0.1
    bom = rnd.random() < 0.03
    raw = any(isinstance(x, str) for x in docs)
    shape = rnd.choices(["multi", "split", "list", "json", "json-list", "with-apps"],
                        [35, 25, 10, 10, 5, 15])[0]
    if raw and shape in ("list", "json", "json-list"):
        shape = "multi"
    if shape == "multi":
        repo.yaml_docs(f"{d}/netpol.yaml", docs, crlf=crlf, bom=bom)
    elif shape == "split":
        for k, doc in enumerate(docs):
            repo.yaml_docs(f"{d}/np-{k}.yml", ["# network policy, owned by the platform team\n", doc], crlf=crlf)
    elif shape == "list":
        repo.yaml_docs(f"{d}/netpol-list.yaml", [{"apiVersion": "v1", "kind": "List", "items": docs}], crlf=crlf)
    elif shape == "json":
        for k, doc in enumerate(docs):
            repo.write(f"{d}/np-{k}.json", json.dumps(doc, indent=2) + "\n", crlf=crlf)
    elif shape == "json-list":
        repo.write(f"{d}/netpol.json", json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}, indent=2))
    else:
        return "with-apps"  # the caller appends them to apps.yaml
    return None


def write_noise(repo, d, ns, n, rnd, noise, tail_docs=()):
    apps = []
    for i in range(noise):
        apps.append(deployment(ns, i, rnd))
        apps.append(service(ns, i))
    repo.yaml_docs(f"{d}/apps.yaml", apps + list(tail_docs), crlf=rnd.random() < 0.05)
    cms = [configmap_text(ns, i, rnd, rnd.randint(6, 60), kind_last=rnd.random() < 0.2) for i in range(noise)]
    repo.write(f"{d}/config.yaml", "---\n".join(cms))
    if rnd.random() < 0.3:
        repo.yaml_docs(f"{d}/rbac.yaml", rbac(ns))
    if n % 25 == 7:
        # A custom resource of one of the platform CRDs, with an explicit namespace.
        repo.yaml_docs(f"{d}/widget.yaml", [{"apiVersion": "example.com/v1", "kind": "Widget0",
                                              "metadata": {"name": "w", "namespace": ns},
                                              "spec": {"field0": "x"}}])


def write_plain_namespace(repo, n, ns, fn, rnd, noise, stray):
    """A namespace under clusters/prod/<ns>/ built from case `fn`."""
    docs, reachable = fn(ns, rnd)
    d = f"clusters/prod/{ns}"
    # Mostly a Namespace object; without one the namespace is known from what lands in it.
    with_object = rnd.random() < 0.9 or not docs
    if fn is c_configmap_only:
        repo.write(f"{d}/settings.yaml", configmap_text(ns, "settings", rnd, 4))
    elif with_object:
        repo.yaml_docs(f"{d}/namespace.yaml", [{"apiVersion": "v1", "kind": "Namespace",
                                                 "metadata": {"name": ns, "labels": {"team": f"t{n % 50}"}}}])
    tail = docs if write_policies(repo, d, docs, rnd) == "with-apps" else []
    write_noise(repo, d, ns, n, rnd, noise, tail)
    if fn is c_stray_opener:
        stray.append(extra(ns, "platform-metrics-egress", [{"to": [block("169.254.0.0/16")]}], selector="all"))
    return reachable


def write_kustomize_app(repo, a, names, rnd, noise):
    """apps/app-<a>/: a base holding the pair (no metadata.namespace) and one
    overlay per namespace in `names` setting `namespace:`. The first overlay
    may add a reopening policy (so only its namespace is reachable); some bases
    carry a placeholder metadata.namespace that the overlays override; some
    overlays go through an intermediate kustomization with its own namespace
    (the outermost one wins). Returns {namespace: (reachable, case)}."""
    base = f"apps/app-{a:04d}/base"
    placeholder = f"placeholder-{a:04d}" if rnd.random() < 0.3 else None
    docs = [deny(placeholder), allow(placeholder, v6=rnd.random() < 0.5)]
    repo.yaml_docs(f"{base}/netpol.yaml", docs)
    repo.yaml_docs(f"{base}/deployment.yaml", [deployment(None, 0, rnd, {"app": "web"})])
    cms = [configmap_text("placeholder", i, rnd, rnd.randint(8, 40)).replace("  namespace: placeholder\n", "")
           for i in range(max(1, noise - 1))]
    repo.write(f"{base}/config.yaml", "---\n".join(cms))
    kname = rnd.choice(["kustomization.yaml", "kustomization.yml", "Kustomization"])
    repo.write(f"{base}/{kname}", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
               "resources:\n- netpol.yaml\n- deployment.yaml\n- config.yaml\n")
    reopen = rnd.random() < 0.5
    out = {}
    for k, ns in enumerate(names):
        od = f"apps/app-{a:04d}/overlays/{ns}"
        resources = ["namespace.yaml"]
        target = "../../base"
        if rnd.random() < 0.2:
            # overlay -> mid (namespace: shared-<a>) -> base; the overlay's namespace wins.
            mid = f"apps/app-{a:04d}/mid-{k}"
            repo.write(f"{mid}/kustomization.yaml", f"namespace: shared-{a:04d}\nresources:\n- ../base\n")
            target = f"../../mid-{k}"
        field = "bases" if rnd.random() < 0.2 else "resources"
        case = "kustomize-overlay"
        reachable = False
        components = []
        if k == 0 and reopen:
            # The reopening policy says another namespace; the overlay overrides it.
            # It comes either as an overlay resource or through a kustomize Component.
            opener = [extra("somewhere-else", "web-anywhere", [{}])]
            if rnd.random() < 0.5:
                repo.yaml_docs(f"{od}/reopen.yaml", opener)
                resources.append("reopen.yaml")
                case, reachable = "kustomize-overlay-reopen", True
            else:
                comp = f"apps/app-{a:04d}/components/reopen"
                repo.write(f"{comp}/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1alpha1\n"
                           "kind: Component\nresources:\n- reopen.yaml\n")
                repo.yaml_docs(f"{comp}/reopen.yaml", opener)
                components.append("../../components/reopen")
                case, reachable = "kustomize-component-reopen", True
        repo.yaml_docs(f"{od}/namespace.yaml", [{"apiVersion": "v1", "kind": "Namespace",
                                                 "metadata": {"name": ns}}])
        text = ("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                f"namespace: {ns}\n{field}:\n- {target}\n")
        if field == "bases":
            text += "resources:\n" + "".join(f"- {r}\n" for r in resources)
        else:
            text += "".join(f"- {r}\n" for r in resources)
        if components:
            text += "components:\n" + "".join(f"- {c}\n" for c in components)
        text += "commonLabels:\n  managed-by: kustomize\n"
        repo.write(f"{od}/kustomization.yaml", text, crlf=rnd.random() < 0.1)
        out[ns] = (reachable, case)
    return out


def write_kustomize_keep(repo, a, ns, rnd):
    """apps/keep-<a>/: a kustomization without `namespace:`; its resources keep
    their own metadata.namespace. Half of them add an opener for app=web."""
    d = f"apps/keep-{a:04d}"
    docs = pair(ns, rnd)
    reachable = rnd.random() < 0.5
    if reachable:
        docs.append(extra(ns, "web-out", [{"to": [block("0.0.0.0/0")]}]))
    repo.yaml_docs(f"{d}/netpol.yaml", docs)
    repo.yaml_docs(f"{d}/deployment.yaml", [deployment(ns, 0, rnd, {"app": "web"})])
    repo.write(f"{d}/kustomization.yaml", "resources:\n- netpol.yaml\n- deployment.yaml\n")
    return reachable, "kustomize-keep-namespace" + ("-reopen" if reachable else "")


HELM_TEMPLATE = """\
{{{{- if .Values.networkPolicy.enabled }}}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{{{ include "chart.fullname" . }}}}-egress
  namespace: {{{{ .Release.Namespace }}}}
spec:
  podSelector:
    matchLabels:
      {{{{- include "chart.selectorLabels" . | nindent 6 }}}}
  egress:
  - {{}}
{{{{- end }}}}
"""


def write_helm_chart(repo, c, rnd):
    """charts/chart-<c>/: templates are Go templates, not manifests, and must be
    skipped; one template is even valid YAML naming a namespace nobody creates."""
    d = f"charts/chart-{c}"
    repo.write(f"{d}/Chart.yaml", f"apiVersion: v2\nname: chart-{c}\nversion: 1.{c}.0\nappVersion: \"2.0\"\n")
    repo.write(f"{d}/values.yaml", "replicaCount: 2\nnamespace: helm-values\nnetworkPolicy:\n  enabled: true\n"
               "image:\n  repository: registry.example.com/chart\n  tag: \"1.0\"\n")
    repo.write(f"{d}/templates/_helpers.tpl", '{{- define "chart.fullname" -}}{{ .Release.Name }}{{- end }}\n')
    repo.write(f"{d}/templates/networkpolicy.yaml", HELM_TEMPLATE)
    repo.yaml_docs(f"{d}/templates/static.yaml", [extra(f"helm-template-{c}", "static", [{}])])
    repo.yaml_docs(f"{d}/templates/deployment.yaml",
                   [deployment("{{ .Release.Namespace }}", 0, rnd)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--namespaces", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--noise", type=int, default=3, help="Deployments/Services/ConfigMaps per namespace")
    args = ap.parse_args()

    rnd = random.Random(args.seed)
    repo = Repo(os.path.join(args.out, "repo"), rnd)
    fns, weights = [f for f, _ in CASES], [w for _, w in CASES]
    expected, variants, stray = {}, {}, []

    def note(ns, reachable, case):
        expected[ns], variants[ns] = reachable, case

    # A namespace-less Deployment lands in `default`, which has no policy.
    if args.namespaces >= 2:
        repo.yaml_docs("clusters/prod/default/legacy-app.yaml", [deployment(None, 0, rnd)])
        note("default", True, "default-namespace")

    n = a = 0
    while len(expected) < args.namespaces:
        left = args.namespaces - len(expected)
        if left >= 2 and rnd.random() < 0.08:
            count = 2 if left == 2 or rnd.random() < 0.7 else 3
            names = [f"app-{a:04d}-{env}" for env in ("prod", "staging", "dev")[:count]]
            for ns, (reachable, case) in write_kustomize_app(repo, a, names, rnd, args.noise).items():
                note(ns, reachable, case)
            a += 1
            continue
        if rnd.random() < 0.02:
            ns = f"keep-{a:04d}"
            note(ns, *write_kustomize_keep(repo, a, ns, rnd))
            a += 1
            continue
        ns = f"team-{n:05d}"
        fn = rnd.choices(fns, weights)[0]
        note(ns, write_plain_namespace(repo, n, ns, fn, rnd, args.noise, stray), case_name(fn))
        n += 1

    # Cluster-scoped objects create no namespace, even without metadata.namespace.
    for i in range(max(1, args.namespaces // 20)):
        repo.write(f"platform/crds/widgets{i}.yaml", crd_text(i, rnd, rnd.randint(150, 500)))
    repo.yaml_docs("platform/rbac.yaml", [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "reader"},
         "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]},
        {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"}, "value": 1000},
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fast"},
         "provisioner": "ebs.csi.aws.com"},
    ])
    if stray:
        repo.yaml_docs("platform/shared-egress-policies.yaml", stray)
    for c in range(max(1, args.namespaces // 500)):
        write_helm_chart(repo, c, rnd)
    # Files git ignores are not part of the repository.
    repo.write(".gitignore", "/rendered/\n*.orig\n")
    repo.yaml_docs("rendered/all.yaml", [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "rendered-leak"}}])
    repo.write("README.md", "# fleet\n\nclusters/prod: one folder per namespace; apps/: kustomize; charts/: Helm.\n")

    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump({"namespaces": expected, "variants": variants}, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
