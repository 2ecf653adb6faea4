#!/usr/bin/env bash
# The GitHub Action's work (action.yml runs it after installing imds-lint): lint the paths,
# print annotations, write SARIF and the job summary, set the outputs, and exit as imds-lint
# does. It reads only environment variables, so it runs the same on a laptop:
#
#   INPUT_PATHS       files and folders to lint, separated by spaces or line breaks (default .)
#   INPUT_FAIL_ON     error, warning or never; empty: the configuration's fail-on, else error
#   INPUT_ARGS        more imds-lint options, separated by spaces (--preset ecs --cluster prod)
#   INPUT_SARIF_FILE  where to write the SARIF report (default imds-lint.sarif)
#   IMDS_LINT         the imds-lint binary (default: imds-lint on PATH)
#   GITHUB_ACTION_PATH  the action's checkout: not linted when it is below the current folder
#   GITHUB_OUTPUT, GITHUB_STEP_SUMMARY  the runner's files; each is skipped when unset
#
# Exit status: imds-lint's (0 passed, 1 findings at the fail-on severity, 2 unreadable input,
# nothing linted or a usage error).
set -u -o pipefail
# Paths and options are split at white space and never globbed.
set -f

lint=${IMDS_LINT:-imds-lint}
# shellcheck disable=SC2206 # splitting is the point
paths=(${INPUT_PATHS:-})
if [ ${#paths[@]} -eq 0 ]; then
  paths=(.)
fi
# shellcheck disable=SC2206
options=(${INPUT_ARGS:-})
if [ -n "${INPUT_FAIL_ON:-}" ]; then
  options+=(--fail-on "$INPUT_FAIL_ON")
fi
sarif=${INPUT_SARIF_FILE:-imds-lint.sarif}
# The action's own checkout, when the workflow put it in the workspace (`path: .imds-lint`),
# holds test fixtures, not the repository's manifests.
if [ -n "${GITHUB_ACTION_PATH:-}" ] && [ -d "$GITHUB_ACTION_PATH" ]; then
  here=$(pwd -P)
  own=$(cd "$GITHUB_ACTION_PATH" && pwd -P)
  case $own in
    "$here"/*) options+=(--exclude "$(printf '%s' "${own#"$here"/}" | sed 's/[*?[{}]/[&]/g')") ;;
  esac
fi

# `--` keeps a path named like a subcommand (`explain/`) a path.
run() { "$lint" "$@" "${options[@]}" -- "${paths[@]}"; }

# Annotations in the log, where the runner picks them up; imds-lint's messages stay visible.
status=0
run --format github || status=$?

# The other formats quietly: the same run, the same messages.
mkdir -p "$(dirname -- "$sarif")"
run --format sarif >"$sarif" 2>/dev/null
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  {
    run --format markdown 2>/dev/null
    case $status in
      1) printf '\nThe step failed: findings at the `fail-on` severity (the annotations and the SARIF report have them).\n' ;;
      2) printf '\nThe step failed: imds-lint exited 2 (input it could not read, nothing linted, or a usage error): see the log.\n' ;;
    esac
  } >>"$GITHUB_STEP_SUMMARY"
fi

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "sarif-file=$sarif"
    echo "exit-code=$status"
  } >>"$GITHUB_OUTPUT"
fi
exit "$status"
