#!/usr/bin/env bash
# CI: the lowest versions pyproject.toml allows must work. A separate venv gets every direct dependency at
# its floor (`uv pip install --resolution lowest-direct`), then the fast tests run against it (the slow,
# timing-heavy files are left to scripts/test.sh, which runs everything with today's versions).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
start=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/acs-dns-lowest.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$PY" -m venv "$work/tools"
"$work/tools/bin/python" -m pip install --quiet --disable-pip-version-check uv > "$work/uv.log" 2>&1 \
  || { cat "$work/uv.log"; exit 1; }
uv="$work/tools/bin/uv"
"$uv" venv --quiet --python "$PY" "$work/venv"
VIRTUAL_ENV="$work/venv" "$uv" pip install --quiet --resolution lowest-direct '.[test]'
echo "ci-lowest: installed with --resolution lowest-direct:"
VIRTUAL_ENV="$work/venv" "$uv" pip freeze \
  | grep -iE '^(azure-identity|azure-mgmt-dns|azure-mgmt-communication|typer|click|rich|dnspython|cryptography)==' \
  | tr '\n' ' '
echo
unset PYTHONDONTWRITEBYTECODE  # as in scripts/test.sh: workers reuse compiled and rewritten modules
"$work/venv/bin/python" -m pytest -q -p no:cacheprovider -n auto --dist loadfile tests \
  --ignore=tests/test_interrupts.py \
  --ignore=tests/test_many_domains.py \
  --ignore=tests/sandbox \
  --deselect tests/test_cli_errors.py::test_unexpected_failure_exits_nonzero_without_traceback_within_timeout
echo "ci-lowest: ok in $((SECONDS - start)) s"
