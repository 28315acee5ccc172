"""The suite's own scheduling: the files conftest.py starts first must exist, or a renamed long file would
silently drop back to the end of the run (where one worker runs it alone)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LONG_FILES

TESTS = Path(__file__).parent


def test_every_long_file_named_first_is_a_test_file_of_the_suite() -> None:
    missing = [name for name in LONG_FILES if len(list(TESTS.rglob(name))) != 1]  # one file of that name
    assert missing == [], f"tests/conftest.py LONG_FILES names files that do not exist: {missing}"
    assert len(set(LONG_FILES)) == len(LONG_FILES)
