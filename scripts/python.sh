# Sourced by scripts/test.sh and scripts/demo.sh (they share .venv): the Python that creates .venv.
# $PYTHON when set; else Python 3.12 when this machine has it, on PATH or installed by pyenv (coverage
# measures through sys.monitoring there, which halves the test suite's time against 3.11's trace
# function); else python3 (3.11 or later).
pick_python() {
  local root candidate
  root=$(pyenv root 2>/dev/null || true)
  for candidate in ${PYTHON:-} python3.12 "$root"/versions/3.12*/bin/python python3; do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
      echo "$candidate"
      return
    fi
  done
  echo python3
}
