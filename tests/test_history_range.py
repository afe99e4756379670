"""A git range from the user reaches `git log` as a revision, never as an option."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fastapply.history import mine_git


def test_a_range_that_looks_like_an_option_is_a_bad_range_and_writes_nothing(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "a.py").write_text("x = 1\n")
    subprocess.run(["git", "-C", str(repo), "add", "a.py"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@e.invalid",
                    "commit", "-qm", "one"], check=True)
    out = tmp_path / "written"
    with pytest.raises(ValueError):
        mine_git(repo, f"--output={out}")
    assert not out.exists()
