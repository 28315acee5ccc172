#!/usr/bin/env bash
# The whole test suite, on a fresh machine with only Python 3.11+: creates .venv, installs, lints, tests.
# Python: see scripts/python.sh (3.12 when the machine has it; PYTHON=... chooses).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python.sh
PY=$(pick_python)
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
.venv/bin/python -m pip install --quiet -e '.[test]'
.venv/bin/ruff check provisioner acs_sandbox tests bench
.venv/bin/ruff format --check provisioner acs_sandbox tests bench
# line coverage of provisioner/ ([tool.coverage] in pyproject.toml); the floor fails the run below it.
# The test files are spread over every core (pytest-xdist; each file stays on one worker, so its
# module fixtures are built once); PYTEST_WORKERS=0 runs them in this process.
if .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
  export COVERAGE_CORE=sysmon
fi
.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-auto}" --dist loadfile --cov --cov-report=term --cov-fail-under=95 "$@"
