#!/usr/bin/env bash
# The pre-commit hook, for real: pre-commit builds this repository's hook (language: rust,
# `cargo install --path .`) and runs it in a throw-away git repository, once on a safe tree
# (must pass) and once on one whose pods can reach the metadata service (must fail, naming
# IMDS001). Then the same through a `.pre-commit-config.yaml` like the README's.
#
# try-repo uses this repository's HEAD plus its uncommitted changes to tracked files (new,
# untracked files are not included until they are committed or `git add`ed).
set -euo pipefail
cd "$(dirname "$0")/.."
here=$(pwd)

command -v pre-commit >/dev/null 2>&1 || pip install --quiet pre-commit

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A fresh store: the hook is built from this checkout, not from an earlier run's cache.
export PRE_COMMIT_HOME="$work/cache"
# The hook's build only needs to be correct, not fast to run: skip the release profile's
# fat LTO, and keep build artefacts between CI runs so that a rebuild is incremental.
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
# Under the target folder cargo uses here (CARGO_TARGET_DIR is honoured).
CARGO_TARGET_DIR="$(bench/target-dir)/pre-commit-hook"
export CARGO_TARGET_DIR

namespace() {
  printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n' "$1"
}
pair() {
  cat <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-egress-all
  namespace: $1
spec:
  podSelector: {}
  policyTypes: [Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-egress-all-except-metadata
  namespace: $1
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to:
        - ipBlock:
            cidr: 0.0.0.0/0
            except: [169.254.169.254/32]
EOF
}

# A git repository holding `clusters/<ns>/` with the safe pair; `exposed` adds a policy that
# reopens the metadata service for some pods.
make_repo() {
  local dir=$1 kind=$2
  mkdir -p "$dir/clusters/payments"
  git -C "$dir" init --quiet
  namespace payments >"$dir/clusters/payments/namespace.yaml"
  pair payments >"$dir/clusters/payments/egress-baseline.yaml"
  if [ "$kind" = exposed ]; then
    cat >"$dir/clusters/payments/allow-link-local.yaml" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-link-local
  namespace: payments
spec:
  podSelector:
    matchLabels: {app: api}
  policyTypes: [Egress]
  egress:
    - to:
        - ipBlock:
            cidr: 169.254.0.0/16
EOF
  fi
  # Also a file the hook must not choke on.
  printf '# payments\n' >"$dir/README.md"
  git -C "$dir" add -A
}

# expect DIR WANT PATTERN... -- COMMAND...: runs COMMAND in DIR, prints its output, and fails
# the script unless the exit status is WANT ("0" or "non-zero") and the output holds every
# PATTERN.
expect() {
  local dir=$1 want=$2 patterns=() out code
  shift 2
  while [ "$1" != -- ]; do
    patterns+=("$1")
    shift
  done
  shift
  set +e
  out=$(cd "$dir" && "$@" 2>&1)
  code=$?
  set -e
  printf '%s\n' "$out" | sed 's/^/    /'
  if [ "$want" = 0 ] && [ "$code" -ne 0 ]; then
    echo "FAIL: $* in $(basename "$dir") exited $code, want 0"
    exit 1
  fi
  if [ "$want" != 0 ] && [ "$code" -eq 0 ]; then
    echo "FAIL: $* in $(basename "$dir") exited 0, want non-zero"
    exit 1
  fi
  for pattern in "${patterns[@]}"; do
    if ! grep -qF -- "$pattern" <<<"$out"; then
      echo "FAIL: $* in $(basename "$dir"): output lacks $pattern"
      exit 1
    fi
  done
  echo "ok: $(basename "$dir") exited $code"
}

start=$(date +%s)
make_repo "$work/safe" safe
make_repo "$work/exposed" exposed

echo "pre-commit try-repo on a safe tree (builds the hook)"
expect "$work/safe" 0 "imds-lint (cloud metadata reachable from pods)" "Passed" -- \
  pre-commit try-repo "$here" imds-lint --all-files
echo "pre-commit try-repo on an exposed tree"
expect "$work/exposed" non-zero "Failed" "IMDS001" "clusters/payments/allow-link-local.yaml:12:11" -- \
  pre-commit try-repo "$here" imds-lint --all-files

# The README's form: a .pre-commit-config.yaml naming this repository at its HEAD commit.
rev=$(git -C "$here" rev-parse HEAD)
cat >"$work/exposed/.pre-commit-config.yaml" <<EOF
repos:
  - repo: $here
    rev: $rev
    hooks:
      - id: imds-lint
        args: [clusters/]
EOF
git -C "$work/exposed" add .pre-commit-config.yaml
echo "pre-commit run with a .pre-commit-config.yaml, at $rev"
expect "$work/exposed" non-zero "Failed" "IMDS001" -- pre-commit run --all-files
echo "pre-commit checks passed in $(($(date +%s) - start)) s"
