#!/usr/bin/env python3
"""Checks that two imds-lint binaries print the same reports, byte for byte.

    bench/same_output.py BEFORE_BIN AFTER_BIN [ROOT ...]

For every ROOT (default: every folder of fixtures/, every repository in ../shared/corpora/
and a 4000-namespace corpus from ../shared/bench/gen_corpus.py), runs both binaries with
`--format json` and with the human report (no colour), and compares standard output, standard
error and the exit status. For the folders of fixtures/ it also compares SARIF, GitHub
annotations, `fix --dry-run`, and `explain` (human and JSON) of every namespace. The only thing masked is the elapsed time in the summary line and
the JSON `elapsed` field, which differ from run to run. Exits 1 on the first kind of difference
and prints a unified diff of each differing pair (its first 40 lines).
"""
import difflib, os, re, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(os.path.dirname(ROOT), "shared")

TIME = [
    (re.compile(rb"in \d+\.\d+s"), b"in <elapsed>s"),
    (re.compile(rb'"elapsed(_ms|_seconds)?": ?[0-9.]+'), b'"elapsed": <elapsed>'),
]


def mask(data: bytes) -> bytes:
    for pattern, replacement in TIME:
        data = pattern.sub(replacement, data)
    return data


def run(binary, args):
    env = dict(os.environ, NO_COLOR="1", COLUMNS="100")
    p = subprocess.run([binary, *args], capture_output=True, env=env, cwd=ROOT, timeout=600)
    return p.returncode, mask(p.stdout), mask(p.stderr)


def default_roots(tmp):
    roots = sorted(os.path.join("fixtures", d) for d in os.listdir(os.path.join(ROOT, "fixtures"))
                   if os.path.isdir(os.path.join(ROOT, "fixtures", d)))
    corpora = os.path.join(SHARED, "corpora")
    if os.path.isdir(corpora):
        roots += sorted(os.path.join(corpora, d) for d in os.listdir(corpora)
                        if os.path.isdir(os.path.join(corpora, d)))
        roots.append(os.path.join(SHARED, "imds-examples"))
    generator = os.path.join(SHARED, "bench", "gen_corpus.py")
    if os.path.exists(generator):
        out = os.path.join(tmp, "corpus4000")
        subprocess.run([sys.executable, generator, out, "--namespaces", "4000", "--seed", "1"],
                       check=True, capture_output=True)
        roots.append(out)
    return roots


def fixture_runs(binary, root):
    """The extra runs on a fixture folder: other formats, fix, and explain per namespace."""
    runs = [["--format", "sarif", root], ["--format", "github", root], ["fix", "--dry-run", root]]
    code, out, _ = run(binary, ["--format", "json", root])
    try:
        namespaces = sorted({n["name"] for n in __import__("json").loads(out)["namespaces"]})
    except ValueError:
        namespaces = []
    for ns in namespaces:
        runs += [["explain", ns, root], ["explain", "--format", "json", ns, root]]
    return runs


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    before, after = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        roots = sys.argv[3:] or default_roots(tmp)
        different = 0
        compared = 0
        for root in roots:
            runs = [["--format", "json", root], ["--color", "never", root]]
            if root.startswith("fixtures"):
                runs += fixture_runs(before, root)
            for args in runs:
                compared += 1
                a, b = run(before, args), run(after, args)
                label = " ".join(args)
                if a == b:
                    print(f"same      {label} ({len(a[1])} bytes, exit {a[0]})")
                    continue
                different += 1
                print(f"DIFFERENT {label}: exit {a[0]} vs {b[0]}")
                for name, x, y in (("stdout", a[1], b[1]), ("stderr", a[2], b[2])):
                    diff = list(difflib.unified_diff(
                        x.decode(errors="replace").splitlines(), y.decode(errors="replace").splitlines(),
                        f"before {name}", f"after {name}", lineterm="", n=1))
                    for line in diff[:40]:
                        print("    " + line)
        print(f"{compared - different} same, {different} different")
        sys.exit(1 if different else 0)


if __name__ == "__main__":
    main()
