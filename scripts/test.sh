#!/usr/bin/env bash
# The whole test suite, on a fresh machine with only Python 3.11+: creates .venv, installs, lints, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
.venv/bin/python -m pip install --quiet -e '.[test]'
.venv/bin/ruff check provisioner acs_sandbox tests bench
.venv/bin/ruff format --check provisioner acs_sandbox tests bench
# line coverage of provisioner/ ([tool.coverage] in pyproject.toml); the floor fails the run below it
.venv/bin/python -m pytest --cov --cov-report=term --cov-fail-under=95 "$@"
