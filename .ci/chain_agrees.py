#!/usr/bin/env python3
"""The precedence chain agrees with the native union semantics on a whole generated repository.

usage: chain_agrees.py IMDS_LINT

Generates bench/gen_corpus.py's repository, lints it, adds one CiliumClusterwideNetworkPolicy
that denies everything to pods labelled `never` (no pod there carries it), and lints again. The
policy sends every namespace down the chain instead of the native fast path, and must change
no verdict and no finding. Only the wording of "pods … are selected by no Egress policy" may
change: through the chain it rightly says "without label never" too. Exits 1 on any
difference.
"""
import json
import os
import subprocess
import sys
import tempfile

NEVER = """apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: never
spec:
  endpointSelector:
    matchLabels: {never: "x"}
  enableDefaultDeny: {egress: false}
  egressDeny:
  - toCIDR: [0.0.0.0/0, "::/0"]
"""


def lint(binary, root):
    out = subprocess.run([binary, "--format", "json", root], capture_output=True, text=True)
    report = json.loads(out.stdout)
    namespaces = sorted(
        (n["cluster"] or "", n["name"], tuple(n["reachable_targets"]), n["isolated"])
        for n in report["namespaces"]
    )
    findings = sorted(
        (f["rule"], f["file"], f["line"], f["column"],
         f["message"].split(" in namespace ")[-1], len(f["related"]))
        for f in report["findings"]
    )
    return namespaces, findings


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "repo")
        subprocess.run(
            [sys.executable, os.path.join(here, "bench", "gen_corpus.py"), root,
             "--namespaces", "1500", "--seed", "3"],
            check=True, capture_output=True,
        )
        native = lint(binary, root)
        with open(os.path.join(root, "never-ccnp.yaml"), "w") as f:
            f.write(NEVER)
        chained = lint(binary, root)
    if native == chained:
        print(f"ok: {len(native[0])} namespaces and {len(native[1])} findings are the same "
              "through the chain")
        return
    print("FAIL: the chain changed verdicts or findings")
    for label, a, b in (("namespace", native[0], chained[0]), ("finding", native[1], chained[1])):
        for x in sorted(set(a) - set(b))[:5]:
            print(f"  {label} only natively: {x}")
        for x in sorted(set(b) - set(a))[:5]:
            print(f"  {label} only through the chain: {x}")
    sys.exit(1)


if __name__ == "__main__":
    main()
