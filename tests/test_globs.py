"""One glob dialect (git's wildmatch rules) for run, batch, hook and check entries; bad globs exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FakeBackend, git, make_repo, rename_rewrite
from fastapply.cli import main as cli_main
from fastapply.config import HookEntry
from fastapply.globs import GlobError, compile_glob, select_paths

CODE = "def add(a, b):\n    return a + b\n"
PATHS = ["a.py", "src/a.py", "src/b/c.py", "x/src/a.py", "tests/t.py", "tests/deep/t.py", "notes.txt"]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("*.py", ["a.py", "src/a.py", "src/b/c.py", "x/src/a.py", "tests/t.py", "tests/deep/t.py"]),
        ("src/**/*.py", ["src/a.py", "src/b/c.py"]),
        ("src/*.py", ["src/a.py"]),
        ("**/src/*.py", ["src/a.py", "x/src/a.py"]),
        ("tests", ["tests/t.py", "tests/deep/t.py"]),
        ("tests/", ["tests/t.py", "tests/deep/t.py"]),
        ("?.py", ["a.py", "src/a.py", "src/b/c.py", "x/src/a.py", "tests/t.py", "tests/deep/t.py"]),
        ("[ab].py", ["a.py", "src/a.py", "x/src/a.py"]),
        ("*.txt", ["notes.txt"]),
    ],
)
def test_globs_follow_gits_rules(pattern: str, expected: list[str]) -> None:
    assert select_paths(pattern, PATHS) == expected


@pytest.mark.parametrize("pattern", ["[*.py", "src/[a", "", "   ", "!*.py", "# comment", "[]"])
def test_invalid_globs_are_errors_not_empty_matches(pattern: str) -> None:
    with pytest.raises(GlobError):
        compile_glob(pattern)


def test_hook_entries_use_the_same_rules() -> None:
    entry = HookEntry("x", "src/**/*.py", exclude="src/b")
    assert [p for p in PATHS if entry.matches(p)] == ["src/a.py"]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo(tmp_path / "repo", {"a.py": CODE, "src/a.py": CODE, "src/b/c.py": CODE, ".gitignore": "gen/\n"})
    (root / "gen").mkdir()
    (root / "gen" / "g.py").write_text(CODE)
    monkeypatch.chdir(root)
    return root


def test_run_expands_double_star_to_zero_folders_and_skips_ignored_files(repo: Path, use_backend) -> None:
    fake = FakeBackend(rewrite=rename_rewrite)
    use_backend(fake)
    assert cli_main(["run", "src/**/*.py", "-m", "Rename add to plus", "--check"]) == 1
    assert sorted(r.path for r in fake.requests) == ["src/a.py", "src/b/c.py"]
    fake.requests.clear()
    assert cli_main(["run", "*.py", "-m", "Rename add to plus", "--check"]) == 1
    assert sorted(r.path for r in fake.requests) == ["a.py", "src/a.py", "src/b/c.py"]


def test_run_from_a_subfolder_matches_below_it(repo: Path, use_backend, monkeypatch) -> None:
    fake = FakeBackend(rewrite=rename_rewrite)
    use_backend(fake)
    monkeypatch.chdir(repo / "src")
    assert cli_main(["run", "*.py", "-m", "Rename add to plus", "--check"]) == 1
    assert sorted(r.path for r in fake.requests) == ["src/a.py", "src/b/c.py"]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [("[*.py", "is not a valid glob"), ("../*.py", "below the current folder"), ("*.rs", "no file matches")],
)
def test_run_with_a_bad_glob_exits_2_before_loading_a_model(repo: Path, use_backend, capsys, pattern, message) -> None:
    use_backend(FakeBackend(rewrite=rename_rewrite))
    assert cli_main(["run", pattern, "-m", "Rename add to plus"]) == 2
    assert message in capsys.readouterr().err and use_backend.loads == []
    assert (repo / "a.py").read_text() == CODE


def test_a_file_literally_named_like_a_glob_is_taken_literally(repo: Path, use_backend) -> None:
    (repo / "[x].py").write_text(CODE)
    fake = FakeBackend(rewrite=rename_rewrite)
    use_backend(fake)
    assert cli_main(["run", "[x].py", "-m", "Rename add to plus", "--check"]) == 1
    assert [r.path for r in fake.requests] == ["[x].py"]


def test_hook_with_an_invalid_glob_exits_2_instead_of_passing(repo: Path, use_backend, capsys) -> None:
    use_backend(FakeBackend(rewrite=rename_rewrite))
    (repo / ".fastapply.toml").write_text('[[hook]]\ninstruction = "Rename add to plus"\nfiles = "[*.py"\n')
    (repo / "a.py").write_text(CODE + "\n")
    git(repo, "add", "a.py")
    assert cli_main(["hook"]) == 2
    assert "hook[0].files: '[*.py' is not a valid glob" in capsys.readouterr().err
    assert use_backend.loads == []


def test_hook_glob_with_double_star_reaches_the_top_folder(repo: Path, use_backend) -> None:
    fake = FakeBackend(rewrite=rename_rewrite)
    use_backend(fake)
    (repo / ".fastapply.toml").write_text('[[hook]]\ninstruction = "Rename add to plus"\nfiles = "src/**/*.py"\n')
    git(repo, "add", ".fastapply.toml")
    assert cli_main(["hook", "--check", "a.py", "src/a.py", "src/b/c.py"]) == 1
    assert sorted(r.path for r in fake.requests) == ["src/a.py", "src/b/c.py"]
