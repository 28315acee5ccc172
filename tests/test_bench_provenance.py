"""Benchmarks measure committed code: a dirty tree is refused with the fix, or marked with --allow-dirty."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench.provenance import require_clean_tree, source_state


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    (tmp_path / "provisioner.py").write_text("x = 1\n")
    (tmp_path / "bench" / "results").mkdir(parents=True)
    (tmp_path / "bench" / "results" / "results.md").write_text("old\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "c")
    return tmp_path


def test_clean_tree_is_measured_and_named_by_its_commit(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    state = require_clean_tree(allow_dirty=False, repo=repo)
    assert (state.commit, state.dirty, state.label) == (head, False, f"commit {head[:10]}")


def test_the_benchmarks_own_results_do_not_make_the_tree_dirty(repo: Path) -> None:
    (repo / "bench" / "results" / "results.md").write_text("new figures\n")
    (repo / "bench" / "results" / "plot.png").write_bytes(b"png")
    assert not source_state(repo).dirty


def test_uncommitted_code_is_refused_with_the_fix(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "provisioner.py").write_text("x = 2\n")
    (repo / "new.py").write_text("")
    with pytest.raises(SystemExit) as exited:
        require_clean_tree(allow_dirty=False, repo=repo)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the working tree has uncommitted changes")
    assert " M provisioner.py" in err and "?? new.py" in err
    assert "fix: commit (or stash) them and run again; for a development run pass --allow-dirty" in err


def test_allow_dirty_runs_and_marks_the_results(repo: Path) -> None:
    (repo / "provisioner.py").write_text("x = 2\n")
    state = require_clean_tree(allow_dirty=True, repo=repo)
    assert state.dirty
    assert state.label.endswith("+ uncommitted changes (provisioner.py): a development run, --allow-dirty")
    assert state.as_dict()["dirty"] == [" M provisioner.py"]


def test_outside_a_git_checkout_nothing_is_measured(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        require_clean_tree(allow_dirty=False, repo=tmp_path)
    assert require_clean_tree(allow_dirty=True, repo=tmp_path).label == "unknown commit (not a git checkout)"
