#!/usr/bin/env python3
"""Validates imds-lint's SARIF output against the SARIF 2.1.0 JSON schema.

usage: validate_sarif.py SCHEMA IMDS_LINT PATH...

Runs `IMDS_LINT --format sarif PATH` for each PATH and checks the document against SCHEMA
(draft-04, as published by OASIS). Exits 1 if any document is invalid or is not JSON, so CI
fails on an invalid document.
"""
import json
import subprocess
import sys

import jsonschema


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    schema_path, binary, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    failed = False
    for path in paths:
        run = subprocess.run([binary, "--format", "sarif", path], capture_output=True, text=True, timeout=120)
        # 0, 1 and 2 are verdicts (clean, findings, unreadable input); anything else is a crash.
        if run.returncode not in (0, 1, 2):
            print(f"FAIL {path}: exit {run.returncode}: {run.stderr[-300:]}")
            failed = True
            continue
        try:
            document = json.loads(run.stdout)
        except ValueError as e:
            print(f"FAIL {path}: not JSON ({e})")
            failed = True
            continue
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        run_ = document["runs"][0]
        summary = (f"{len(run_.get('results', []))} results, "
                   f"{len(run_['invocations'][0].get('toolExecutionNotifications', []))} notifications, "
                   f"exit {run.returncode}")
        if errors:
            failed = True
            print(f"FAIL {path}: {len(errors)} schema violations ({summary})")
            for error in errors[:20]:
                where = "/".join(str(p) for p in error.absolute_path)
                print(f"       at /{where}: {error.message[:300]}")
        else:
            print(f"ok   {path}: valid SARIF 2.1.0 ({summary})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
