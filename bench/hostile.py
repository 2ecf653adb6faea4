#!/usr/bin/env python3
"""Full-size hostile inputs, each timed on the release binary with its peak memory.

    bench/hostile.py [BIN]          (default: target/release/imds-lint)

Each case is a small repository (written to a temporary folder) holding one hostile file and a
policy that opens the metadata endpoint. A case passes when imds-lint exits 1 or 2 (never by a
signal), still reports the open namespace, and stays within 2 s of wall time and 500 MB of peak
RSS. Prints one line per case; exits 1 when any fails.
"""
import json, os, subprocess, sys, tempfile, time

OPEN = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: open, namespace: a}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 169.254.0.0/16}}]}]
"""
UNDER_INDENTED = 'kind: ConfigMap\ndata:\n  k: "abc\n def"\n'
LIMIT_SECONDS, LIMIT_MB = 2.0, 500


def laughs(levels):
    text = UNDER_INDENTED + "a0: &a0 [" + ", ".join(["x"] * 10) + "]\n"
    for i in range(1, levels):
        text += f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n"
    return text


def nested_anchors(size):
    depth = 250
    items = ", ".join(["x"] * (size // 3))
    return "x-big: " + "".join(f"&n{i} {{k: " for i in range(depth)) + f"[{items}]" + "}" * depth + "\nkind: ConfigMap\n"


def big_json(size):
    entry = '"k{}": "' + "v" * 80 + '"'
    count = size // (len(entry) + 2)
    data = ", ".join(entry.format(i) for i in range(count))
    return '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big", "namespace": "a"}, "data": {' + data + "}}"


CASES = {
    "320 KB of [[[ nesting": lambda: "[" * 160_000 + "]" * 160_000,
    "320 KB of {a: nesting": lambda: "{a: " * 80_000,
    "under-indented quoted scalar plus an alias bomb": lambda: laughs(9),
    "800 KB of nested anchors around a list": lambda: nested_anchors(800_000),
    "30 MB single-line JSON ConfigMap": lambda: big_json(30_000_000),
}


def run(binary, folder):
    started = time.monotonic()
    child = subprocess.Popen([binary, "--format", "json", "."], cwd=folder,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.monotonic() - started
    code = os.waitstatus_to_exitcode(status)
    return code, elapsed, usage.ru_maxrss / 1024, out


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/imds-lint")
    failed = 0
    for name, make in CASES.items():
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, "hostile.yaml"), "w") as f:
                f.write(make())
            with open(os.path.join(folder, "open.yaml"), "w") as f:
                f.write(OPEN)
            code, elapsed, mb, out = run(binary, folder)
            try:
                report = json.loads(out)
                still = any(n["name"] == "a" and n["metadata_reachable"] for n in report["namespaces"])
                said = "; ".join(e["message"] for e in report["errors"]) or "no error"
            except ValueError:
                still, said = False, "no JSON"
            ok = code in (1, 2) and still and elapsed <= LIMIT_SECONDS and mb <= LIMIT_MB
            failed += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {name}: exit {code}, {elapsed:.2f} s, {mb:.0f} MB, {said[:100]}")
    print(f"{len(CASES) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
