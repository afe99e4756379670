"""Where git cannot run (GitPython missing, or no git executable, which makes GitPython refuse to
import), a command that edits says so in one line with exit 2 and writes nothing, and commands that
need no repository (train, bench, serve) still run, with the repository root's configuration."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import make_repo

from fastapply.cli import main as cli_main
from fastapply.config import load_project_config
from fastapply.repo import GitUnavailable, find_repo

CODE = "def add(a, b):\n    return a + b\n"


@pytest.fixture
def no_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "git", None)  # every `import git` now raises ImportError


def test_an_edit_without_git_is_one_line_exit_2_and_the_file_untouched(tmp_path: Path, monkeypatch, capsys,
                                                                       no_git) -> None:
    root = make_repo(tmp_path / "repo", {"a.py": CODE})
    monkeypatch.chdir(root)
    with pytest.raises(GitUnavailable, match="git is not available"):
        find_repo(root)
    assert cli_main(["run", "a.py", "-m", "Rename add to plus."]) == 2
    err = capsys.readouterr().err
    assert "git is not available" in err and "GIT_PYTHON_GIT_EXECUTABLE" in err
    assert "internal error" not in err and "Traceback" not in err
    assert (root / "a.py").read_text() == CODE


def test_the_root_configuration_is_read_from_a_subfolder_without_git(tmp_path: Path, no_git) -> None:
    root = make_repo(tmp_path / "repo", {"a.py": CODE})
    (root / ".fastapply.toml").write_text('model = "/models/mine"\n')
    (root / "pkg" / "deep").mkdir(parents=True)
    # a subfolder's own file does not govern: the root's does, as when git finds the root
    (root / "pkg" / ".fastapply.toml").write_text('model = "/models/other"\n')
    assert load_project_config(root / "pkg" / "deep").model == "/models/mine"
    assert load_project_config(tmp_path).model is None  # outside any work tree: no file, built-in defaults


def test_a_command_that_needs_no_repository_runs_without_git(tmp_path: Path, monkeypatch, capsys, no_git) -> None:
    monkeypatch.chdir(tmp_path)
    # the phase check is the command's own: it got past reading the configuration
    assert cli_main(["train", "windows", "--phase", "nope", "--out", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert "unknown phase 'nope'" in err and "git is not available" not in err
