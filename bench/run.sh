#!/usr/bin/env bash
# imds-lint's own benchmark: correctness first, then speed.
#
#   bench/run.sh [--check-only] [NAMESPACES] [SEED]        (defaults: 4000 1)
#
# --check-only stops after the agreement check on the own corpus (no timing).
#
# 1. Builds the release binary.
# 2. Generates a corpus with a known answer (bench/gen_corpus.py) in a temporary
#    folder and checks imds-lint's namespaces[].metadata_reachable against it;
#    any disagreement (or a namespace that should not exist) fails the run.
# 3. Times, side by side in this run: the read floor (cat of every file),
#    imds-lint, and, when ../shared/bench exists and PyYAML imports, the shared
#    PyYAML baseline against imds-lint on the shared generator's corpus.
#    hyperfine when installed (--warmup 1 --runs 5), else a median of 5 runs.
#    Peak RSS comes from one run under /usr/bin/time (or getrusage).
#    A disagreement stops the run before timing unless BENCH_TIME_ANYWAY=1.
#
# imds-lint exits 1 when it finds problems: that is expected, not a failure.
set -euo pipefail

CHECK_ONLY=0
if [ "${1:-}" = "--check-only" ]; then
    CHECK_ONLY=1
    shift
fi
N=${1:-4000}
SEED=${2:-1}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
SHARED=$(cd "$ROOT/.." && pwd)/shared/bench
# Where cargo builds: honours CARGO_TARGET_DIR and a cargo config's build.target-dir.
BIN=$("$HERE/target-dir")/release/imds-lint

TMP=$(mktemp -d "${TMPDIR:-/tmp}/imds-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

echo "== build"
(cd "$ROOT" && cargo build --release)

# Runs imds-lint on $1 into $2; exit 0 or 1 is a verdict, anything else is not.
lint_json() {
    local rc=0
    "$BIN" --format json "$1" >"$2" || rc=$?
    if [ "$rc" -gt 1 ]; then
        echo "imds-lint exited $rc on $1 (unreadable input or usage error):" >&2
        python3 -c 'import json,sys; [print("  ", e) for e in json.load(open(sys.argv[1])).get("errors", [])[:10]]' "$2" >&2 || true
        exit 1
    fi
}

# Compares imds-lint's JSON ($1) with expected.json ($2); $3 names the corpus.
# Unexpected namespaces count as disagreements only when $4 is "strict".
agree() {
    python3 - "$@" <<'PY'
import json, sys
got_path, exp_path, label, mode = sys.argv[1:5]
expected = json.load(open(exp_path))
want, variants = expected["namespaces"], expected.get("variants", {})
# A name may stand in several clusters: the corpus's clusters/<name> layout makes one, and a
# policy in a shared folder no cluster builds (the stray opener) lands in no cluster. A pod
# of the namespace reaches metadata if any of them says so.
got = {}
for n in json.load(open(got_path))["namespaces"]:
    got[n["name"]] = got.get(n["name"], False) or n.get("metadata_reachable")
bad = [ns for ns in sorted(want) if got.get(ns) is not want[ns]]
for ns in bad:
    case = f" ({variants[ns]})" if ns in variants else ""
    print(f"  DISAGREE {ns}{case}: imds-lint {got.get(ns)}, expected {want[ns]}")
extra = sorted(set(got) - set(want)) if mode == "strict" else []
for ns in extra:
    print(f"  UNEXPECTED namespace {ns} (metadata_reachable {got[ns]}): the corpus does not define it")
print(f"agree: {len(want) - len(bad)}/{len(want)} namespaces on {label}"
      + (f", {len(extra)} unexpected" if extra else ""))
sys.exit(1 if bad or extra else 0)
PY
}

# Prints "<files> files, <MB> MB" for a tree.
tree_size() {
    python3 - "$1" <<'PY'
import os, sys
n = b = 0
for d, _, fs in os.walk(sys.argv[1]):
    for f in fs:
        n += 1
        b += os.path.getsize(os.path.join(d, f))
print(f"{n} files, {b / 1e6:.1f} MB")
PY
}

echo "== corpus: bench/gen_corpus.py --namespaces $N --seed $SEED"
python3 "$HERE/gen_corpus.py" "$TMP/own" --namespaces "$N" --seed "$SEED"
OWN=$TMP/own/repo
echo "   $(tree_size "$OWN")"

echo "== agreement"
lint_json "$OWN" "$TMP/own-out.json"
failed=0
agree "$TMP/own-out.json" "$TMP/own/expected.json" "bench/gen_corpus.py corpus" strict || failed=1
if [ "$CHECK_ONLY" -eq 1 ]; then
    exit "$failed"
fi

# The shared baseline runs on the shared generator's corpus (its only input format).
WITH_BASELINE=0
if [ -f "$SHARED/gen_corpus.py" ] && [ -f "$SHARED/baseline_pyyaml.py" ]; then
    if python3 -c 'import yaml' 2>/dev/null; then
        WITH_BASELINE=1
        echo "== shared corpus: ../shared/bench/gen_corpus.py --namespaces $N"
        python3 "$SHARED/gen_corpus.py" "$TMP/shared" --namespaces "$N" --seed "$SEED"
        echo "   $(tree_size "$TMP/shared/clusters")"
        lint_json "$TMP/shared/clusters" "$TMP/shared-out.json"
        agree "$TMP/shared-out.json" "$TMP/shared/expected.json" "shared corpus" lenient || failed=1
    else
        echo "== PyYAML not importable: skipping the shared baseline (pip install pyyaml)"
    fi
else
    echo "== ../shared/bench not found: skipping the shared baseline"
fi

# BENCH_TIME_ANYWAY=1 times even after a disagreement (the run still exits 1).
if [ "$failed" -ne 0 ]; then
    echo "FAIL: imds-lint disagrees with the expected answer" >&2
    [ "${BENCH_TIME_ANYWAY:-0}" = 1 ] || exit 1
fi

# The commands to time, as shell strings (hyperfine and the fallback both run them with sh).
NAMES=() CMDS=()
add() { NAMES+=("$1"); CMDS+=("$2"); }
q() { printf '%q' "$1"; }
# imds-lint exits 1 on findings; only 2 and above are failures.
lint_cmd() { echo "$(q "$BIN") --format json $(q "$1") >/dev/null; [ \$? -le 1 ]"; }
add "cat (read floor), own corpus" "find $(q "$OWN") -type f -print0 | xargs -0 cat >/dev/null"
add "imds-lint, own corpus" "$(lint_cmd "$OWN")"
if [ "$WITH_BASELINE" -eq 1 ]; then
    SC=$TMP/shared/clusters
    add "cat (read floor), shared corpus" "find $(q "$SC") -type f -print0 | xargs -0 cat >/dev/null"
    add "imds-lint, shared corpus" "$(lint_cmd "$SC")"
    add "baseline_pyyaml.py, shared corpus" "python3 $(q "$SHARED/baseline_pyyaml.py") $(q "$SC") >/dev/null"
fi

echo "== timing ($(command -v hyperfine >/dev/null && echo hyperfine || echo 'median of 5, python loop'))"
TIMES=$TMP/times.txt   # one median (seconds) per line, in NAMES order
if command -v hyperfine >/dev/null; then
    args=()
    for i in "${!NAMES[@]}"; do args+=(-n "${NAMES[$i]}" "${CMDS[$i]}"); done
    hyperfine --warmup 1 --runs 5 --style basic --export-json "$TMP/hyperfine.json" "${args[@]}"
    python3 -c 'import json,sys; [print(r["median"]) for r in json.load(open(sys.argv[1]))["results"]]' \
        "$TMP/hyperfine.json" >"$TIMES"
else
    python3 - "${CMDS[@]}" >"$TIMES" <<'PY'
import statistics, subprocess, sys, time
for cmd in sys.argv[1:]:
    subprocess.run(cmd, shell=True, check=True)  # warmup
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run(cmd, shell=True, check=True)
        runs.append(time.perf_counter() - t)
    print(statistics.median(runs))
PY
fi

# Peak RSS of one run of each command, in MB.
RSS=$TMP/rss.txt
: >"$RSS"
for cmd in "${CMDS[@]}"; do
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f %M -o "$TMP/time.out" sh -c "$cmd"
        echo "$(( $(tail -1 "$TMP/time.out") ))" >>"$RSS"   # KiB
    else
        python3 -c 'import resource,subprocess,sys; subprocess.run(sys.argv[1], shell=True, check=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$cmd" >>"$RSS"
    fi
done

echo "== results ($N namespaces, seed $SEED, $(nproc) CPUs)"
python3 - "$TIMES" "$RSS" "${NAMES[@]}" <<'PY'
import sys
times = [float(x) for x in open(sys.argv[1]).read().split()]
rss = [int(x) / 1024 for x in open(sys.argv[2]).read().split()]
names = sys.argv[3:]
width = max(len(n) for n in names)
print(f"{'command':<{width}}  {'median s':>9}  {'peak RSS MB':>11}")
for n, t, r in zip(names, times, rss):
    print(f"{n:<{width}}  {t:>9.3f}  {r:>11.1f}")
t = dict(zip(names, times))
print(f"imds-lint / read floor, own corpus: {t['imds-lint, own corpus'] / t['cat (read floor), own corpus']:.2f}x")
if "imds-lint, shared corpus" in t:
    print(f"imds-lint / read floor, shared corpus: {t['imds-lint, shared corpus'] / t['cat (read floor), shared corpus']:.2f}x")
if "baseline_pyyaml.py, shared corpus" in t:
    ratio = t["baseline_pyyaml.py, shared corpus"] / t["imds-lint, shared corpus"]
    print(f"speed ratio baseline/imds-lint, shared corpus: {ratio:.1f}x")
PY
exit "$failed"
