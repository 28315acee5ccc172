#!/usr/bin/env bash
# CI: `python -m build` makes an sdist and a wheel (the wheel is built from the sdist, so the sdist is
# complete); the wheel, installed with constraints.txt into a fresh venv outside the checkout, answers
# `acs-dns --version` with pyproject's version, `acs-dns --help`, and runs the demo against its own sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
start=$SECONDS
[ -x .venv/bin/python ] || { echo "ci-wheel: run scripts/test.sh first (it creates .venv)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/acs-dns-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT

.venv/bin/python -m build --outdir "$work/dist" . > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
version=$(.venv/bin/python -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
wheel="$work/dist/acs_dns_provisioner-$version-py3-none-any.whl"
sdist="$work/dist/acs_dns_provisioner-$version.tar.gz"
[ -f "$wheel" ] && [ -f "$sdist" ] || { echo "ci-wheel: expected $wheel and $sdist, got: $(ls "$work/dist")" >&2; exit 1; }
echo "ci-wheel: built $(basename "$sdist") and $(basename "$wheel")"

"$PY" -m venv "$work/venv"
cd "$work"  # outside the checkout: nothing can be imported from the source tree
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check -c "$ROOT/constraints.txt" "$wheel" \
  > "$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }
echo "ci-wheel: installed into a fresh venv: $("$work/venv/bin/python" -m pip freeze | grep -ci .) distributions"
"$work/venv/bin/python" - "$ROOT" <<'PY'
import sys
from pathlib import Path

import acs_sandbox
import provisioner

root = Path(sys.argv[1]).resolve()
for module in (provisioner, acs_sandbox):
    assert root not in Path(module.__file__).resolve().parents, f"{module.__name__} imported from the checkout"
PY
got=$("$work/venv/bin/acs-dns" --version)
echo "ci-wheel: \`acs-dns --version\` -> $got"
[ "$got" = "acs-dns $version" ] || { echo "ci-wheel: expected 'acs-dns $version'" >&2; exit 1; }
"$work/venv/bin/acs-dns" --help > "$work/help.txt"
grep -q "provision" "$work/help.txt" || { cat "$work/help.txt"; echo "ci-wheel: --help lists no provision" >&2; exit 1; }
echo "ci-wheel: \`acs-dns --help\` -> $(wc -l < "$work/help.txt") lines, lists provision"
"$work/venv/bin/acs-dns" demo > "$work/demo.txt" 2>&1 || { cat "$work/demo.txt"; echo "ci-wheel: demo failed" >&2; exit 1; }
grep -q "result: verified (exit 0)" "$work/demo.txt" || { cat "$work/demo.txt"; echo "ci-wheel: demo did not verify" >&2; exit 1; }
echo "ci-wheel: \`acs-dns demo\` from the wheel -> $(grep -m1 -o 'result: verified (exit 0)' "$work/demo.txt")"
echo "ci-wheel: ok in $((SECONDS - start)) s"
