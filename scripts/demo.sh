#!/usr/bin/env bash
# The demo, on a fresh machine with only Python 3.11+: creates .venv, installs, runs `acs-dns demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python.sh
PY=$(pick_python)
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/acs-dns demo "$@"
