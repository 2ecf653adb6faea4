#!/usr/bin/env python3
"""Fails when a module imports a later pipeline stage, or when the stages import each other in
a circle.

The stages, in the order data flows (see the README's Architecture section):

    source -> decode -> topology -> model -> analyze -> lint -> report

`net` is the address and port arithmetic every stage may use; it imports no stage. The
drivers (`lib.rs`, `config`, `fix`, `cli`, `main.rs`) run the pipeline and may import any
stage. Test modules (from a file's `#[cfg(test)]` on) are not read: a test may build inputs
with a later stage.

    python3 .ci/stage_imports.py [SRC]        (default: src)
"""
import os, re, sys

STAGES = ["source", "decode", "topology", "model", "analyze", "lint", "report"]
# Which top-level modules each may import, besides itself. Drivers may import anything.
ALLOWED = {stage: set(STAGES[:i]) | {"net"} for i, stage in enumerate(STAGES)}
ALLOWED["net"] = set()
DRIVERS = {"lib", "main", "config", "fix", "cli"}

USE = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
GROUP = re.compile(r"\buse\s+crate::\{([^;]*)\}", re.S)


def top_module(root, path):
    rel = os.path.relpath(path, root)
    first = rel.split(os.sep)[0]
    return first[:-3] if first.endswith(".rs") else first


def imports(text):
    text = text.split("#[cfg(test)]", 1)[0]
    # Drop comments, so prose naming a module is not an import.
    text = re.sub(r"//[^\n]*", "", text)
    found = set(USE.findall(text))
    for group in GROUP.findall(text):
        found |= set(re.findall(r"(?:^|[,{\s])([a-z_][a-z0-9_]*)(?=::|\s*[,}]|\s*$)", group))
    return found


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "src"
    bad = []
    edges = set()
    for folder, _, names in os.walk(root):
        for name in sorted(names):
            if not name.endswith(".rs"):
                continue
            path = os.path.join(folder, name)
            module = top_module(root, path)
            for target in sorted(imports(open(path, encoding="utf-8").read())):
                if target == module or target not in ALLOWED and target not in DRIVERS:
                    continue
                edges.add((module, target))
                if module in DRIVERS:
                    continue
                if module not in ALLOWED:
                    bad.append(f"{path}: module {module} is not in the table of stages")
                elif target not in ALLOWED[module]:
                    bad.append(f"{path}: {module} imports {target}, a later stage or a driver")
    for line in sorted(set(bad)):
        print(line)
    order = " -> ".join(STAGES)
    if bad:
        print(f"{len(set(bad))} imports against the pipeline order ({order})")
        sys.exit(1)
    print(f"ok: {len(edges)} module edges, all along the pipeline ({order})")


if __name__ == "__main__":
    main()
