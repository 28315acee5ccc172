#!/usr/bin/env bash
# Mutation testing of the pure core with mutmut (slow; not part of CI). Module by module, each time-boxed.
#   bash scripts/mutation.sh                      # names desired txt spf verification plan deprovision
#   bash scripts/mutation.sh ownership dmarc record_checks   # the diagnosis and ownership modules (slower)
#   bash scripts/mutation.sh spf txt              # just these
#   MUTATION_TIMEBOX=900 bash scripts/mutation.sh # seconds per module (default 1200)
# Prints killed/total per module; survivors and the reason each is equivalent are listed in docs/mutation.md.
# Configuration (modules, test selection): [tool.mutmut] in pyproject.toml. Work files go to mutants/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
fi
.venv/bin/python -m pip install --quiet -e '.[test,mutation]'
modules=("$@")
[ ${#modules[@]} -gt 0 ] || modules=(names desired txt spf verification plan deprovision)
timebox=${MUTATION_TIMEBOX:-1200}
rm -rf mutants  # mutmut caches results by source hash: start clean so the score is today's
for module in "${modules[@]}"; do
  echo "== provisioner/$module.py (time box ${timebox}s)" >&2
  timeout "$timebox" .venv/bin/mutmut run --max-children 2 "provisioner.$module.*" >/dev/null 2>&1 || echo "   (stopped: exit $?)" >&2
done
.venv/bin/mutmut results --all true 2>/dev/null | .venv/bin/python scripts/mutation_summary.py "${modules[@]}"
