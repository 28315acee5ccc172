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
# Installed again only when pyproject.toml changed since the last install here (the editable install
# alone takes ~3 s: pip builds the project's wheel every time).
stamp=.venv/.acs-dns-installed
want=$(.venv/bin/python -c 'import hashlib, sys; print(hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest(), sys.version)')
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
  .venv/bin/python -m pip install --quiet -e '.[test]'
  printf '%s\n' "$want" > "$stamp"
fi
.venv/bin/ruff check provisioner acs_sandbox tests bench
.venv/bin/ruff format --check provisioner acs_sandbox tests bench
# line coverage of provisioner/ ([tool.coverage] in pyproject.toml); the floor fails the run below it.
# The test files are spread over two workers per core, plus one (pytest-xdist; each file stays on one
# worker, so its module fixtures are built once): many tests wait on purpose (verification delays,
# timeouts, silent name servers), and another worker uses the core meanwhile (on a 2-core machine 5
# workers left the cores idle half as long as 4, and ended 1-9 s sooner in three paired runs; 6 were no
# better). Files go out in collection order (--no-loadscope-reorder), which puts the longest first
# (tests/conftest.py, LONG_FILES), so that none is left running alone at the end. PYTEST_WORKERS=0 runs
# them in this process.
# Compiled modules and pytest's rewritten test modules are kept (__pycache__), even where the machine
# sets PYTHONDONTWRITEBYTECODE: every worker and every acs-dns process a test starts would otherwise
# compile them again.
unset PYTHONDONTWRITEBYTECODE
# A checkout's first run (as in CI): the sources are compiled and pytest rewrites the test modules once,
# here, instead of in every worker at once (each would do all of it again, racing the others).
if ! compgen -G "tests/__pycache__/*-pytest-*.pyc" >/dev/null; then
  .venv/bin/python -m compileall -q -j0 provisioner acs_sandbox bench >/dev/null
  .venv/bin/python -m pytest --collect-only -q -p no:cacheprovider >/dev/null
fi
WORKERS=${PYTEST_WORKERS:-$(($(nproc 2>/dev/null || echo 1) * 2 + 1))}
if .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
  export COVERAGE_CORE=sysmon
fi
# pytest-cov analyses the sources once for the floor ("Required test coverage of 95% reached. Total
# coverage: ..."); the per-file table of missed lines, a second analysis, is printed when the run fails.
status=0
.venv/bin/python -m pytest -n "$WORKERS" --dist loadfile --no-loadscope-reorder --cov --cov-report= \
  --cov-fail-under=95 "$@" || status=$?
if [ "$status" -ne 0 ] && [ -f .coverage ]; then
  .venv/bin/python -m coverage report || true
fi
exit "$status"
