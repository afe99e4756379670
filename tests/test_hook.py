"""`fastapply hook` and `install-hook`: staged files, idempotence, unstaged work, real pre-commit."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import TESTS_DIR, FakeBackend, git, make_repo, rename_rewrite
from fastapply.cli import main as cli_main
from fastapply.hook import HOOK_MARKER

CODE = "def add(a, b):\n    return a + b\n"
RENAMED = CODE.replace("add", "plus")
CONFIG = (
    '[tool.fastapply]\nmodel = "default"\n'
    '[[tool.fastapply.hook]]\ninstruction = "Rename the function add to plus."\nfiles = "*.py"\n'
)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo(tmp_path / "repo", {"pyproject.toml": CONFIG, "a.py": "x = 1\n", "b.py": "y = 2\n", "notes.txt": "add\n"})
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def backend(use_backend) -> FakeBackend:
    fake = FakeBackend(rewrite=rename_rewrite)
    use_backend(fake)
    return fake


def test_hook_rewrites_staged_files_exits_1_then_0_after_staging(repo: Path, backend: FakeBackend) -> None:
    (repo / "a.py").write_text(CODE)
    (repo / "notes.txt").write_text("add more\n")
    git(repo, "add", "a.py", "notes.txt")
    assert cli_main(["hook"]) == 1
    assert (repo / "a.py").read_text() == RENAMED
    assert (repo / "notes.txt").read_text() == "add more\n"  # not matched by *.py
    assert git(repo, "diff", "--cached", "a.py").count("+def add") == 1  # the index is left alone
    git(repo, "add", "a.py")
    assert cli_main(["hook"]) == 0
    assert [r.path for r in backend.requests] == ["a.py", "a.py"]


def test_a_staged_symlink_is_skipped_so_its_unstaged_target_is_left_alone(repo: Path, backend: FakeBackend) -> None:
    (repo / "m.py").write_text(CODE)
    git(repo, "add", "m.py")
    git(repo, "commit", "-qm", "m")
    os.symlink("m.py", repo / "link.py")
    git(repo, "add", "link.py")
    assert cli_main(["hook"]) == 0
    assert cli_main(["hook", "link.py"]) == 0  # named, as the pre-commit tool passes it
    assert (repo / "m.py").read_text() == CODE and backend.requests == []


def test_hook_on_named_files_and_check_mode(repo: Path, backend: FakeBackend, capsys) -> None:
    (repo / "b.py").write_text(CODE)
    git(repo, "add", "b.py")
    assert cli_main(["hook", "--check", "b.py", "notes.txt"]) == 1
    assert "+def plus" in capsys.readouterr().out
    assert (repo / "b.py").read_text() == CODE


def test_hook_refuses_files_with_unstaged_changes(repo: Path, backend: FakeBackend, capsys) -> None:
    (repo / "a.py").write_text(CODE)
    git(repo, "add", "a.py")
    (repo / "a.py").write_text(CODE + "add(1, 2)  # not staged\n")
    assert cli_main(["hook"]) == 3
    assert "unstaged changes" in capsys.readouterr().out
    assert (repo / "a.py").read_text() == CODE + "add(1, 2)  # not staged\n"
    assert backend.requests == []



def test_a_file_name_with_glob_characters_is_judged_by_itself(repo: Path, backend: FakeBackend) -> None:
    # git reads "[ab].py" as a pattern matching a.py, whose unstaged change must not count against it
    (repo / "[ab].py").write_text(CODE)
    git(repo, "add", "[ab].py")
    (repo / "a.py").write_text("x = 3  # not staged\n")
    assert cli_main(["hook"]) == 1
    assert (repo / "[ab].py").read_text() == RENAMED
    assert (repo / "a.py").read_text() == "x = 3  # not staged\n"

def test_no_matching_files_loads_no_model(repo: Path, backend: FakeBackend, use_backend) -> None:
    (repo / "notes.txt").write_text("add\nadd\n")
    git(repo, "add", "notes.txt")
    assert cli_main(["hook"]) == 0
    assert use_backend.loads == []


def test_no_configured_entries_is_a_no_op(tmp_path: Path, monkeypatch, backend, capsys) -> None:
    root = make_repo(tmp_path / "bare", {"a.py": CODE})
    monkeypatch.chdir(root)
    assert cli_main(["hook", "a.py"]) == 0
    assert "no hook entries" in capsys.readouterr().err
    assert (root / "a.py").read_text() == CODE


def test_install_hook_refuses_a_foreign_hook_and_replaces_its_own(repo: Path, capsys) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho mine\n")
    assert cli_main(["install-hook"]) == 3
    assert "not written by fastapply" in capsys.readouterr().err
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    hook.unlink()
    assert cli_main(["install-hook"]) == 0
    assert cli_main(["install-hook"]) == 0
    assert HOOK_MARKER in hook.read_text() and os.access(hook, os.X_OK)


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(TESTS_DIR),
        "FASTAPPLY_BACKEND": "conftest:rename_backend",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
    }


def _run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_plain_git_hook_under_commit_all_and_partial_staging(tmp_path: Path, repo: Path) -> None:
    env = _env(tmp_path)
    assert cli_main(["install-hook"]) == 0
    (repo / "a.py").write_text(CODE)
    # `git commit -a` runs the hook with GIT_INDEX_FILE pointing at a temporary index.
    first = _run(repo, env, "git", "commit", "-qam", "add a")
    assert first.returncode == 1, first.stderr
    assert (repo / "a.py").read_text() == RENAMED
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"
    second = _run(repo, env, "git", "commit", "-qam", "add a")
    assert second.returncode == 0, second.stdout + second.stderr
    assert git(repo, "show", "HEAD:a.py") == RENAMED

    (repo / "b.py").write_text(CODE)
    git(repo, "add", "b.py")
    (repo / "b.py").write_text(CODE + "# unstaged\n")
    partial = _run(repo, env, "git", "commit", "-qm", "partial")
    # git reports any failing hook as 1 and shows the hook's output on stderr.
    assert partial.returncode == 1 and "b.py: refused: has unstaged changes" in partial.stderr
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "2"
    assert (repo / "b.py").read_text() == CODE + "# unstaged\n"



def test_the_installed_hook_does_not_import_modules_from_the_work_tree(tmp_path: Path, repo: Path) -> None:
    env = {k: v for k, v in _env(tmp_path).items() if k != "PYTHONSAFEPATH"}  # as a user's shell has it
    assert cli_main(["install-hook"]) == 0
    (repo / "secrets.py").write_text("raise SystemExit('work-tree module imported')\n")
    (repo / "a.py").write_text(CODE)
    git(repo, "add", "a.py", "secrets.py")
    result = _run(repo, env, "git", "commit", "-qm", "add a")
    assert "work-tree module imported" not in result.stderr
    assert result.returncode == 1 and (repo / "a.py").read_text() == RENAMED, result.stderr

@pytest.mark.slow
def test_under_the_real_pre_commit_tool_unstaged_work_survives(tmp_path: Path) -> None:
    if shutil.which("pre-commit") is None:
        pytest.skip("pre-commit is not installed")
    config = (
        "repos:\n- repo: local\n  hooks:\n  - id: fastapply\n    name: fastapply\n"
        "    entry: fastapply hook\n    language: system\n    types: [python]\n    require_serial: true\n"
    )
    repo = make_repo(
        tmp_path / "pc",
        {".pre-commit-config.yaml": config, "pyproject.toml": CONFIG, "a.py": "x = 1\n", "b.py": "y = 2\n"},
    )
    env = _env(tmp_path)
    (repo / "a.py").write_text(CODE)
    git(repo, "add", "a.py")
    (repo / "b.py").write_text("y = 3  # unstaged work\n")
    first = _run(repo, env, "pre-commit", "run")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "files were modified by this hook" in first.stdout
    assert (repo / "a.py").read_text() == RENAMED
    assert (repo / "b.py").read_text() == "y = 3  # unstaged work\n"
    git(repo, "add", "a.py")
    second = _run(repo, env, "pre-commit", "run")
    assert second.returncode == 0, second.stdout + second.stderr
    assert (repo / "b.py").read_text() == "y = 3  # unstaged work\n"

    # Unstaged edits in the very file the hook rewrites: pre-commit stashes them around the hook.
    (repo / "a.py").write_text(RENAMED + "z = add\n")
    git(repo, "add", "a.py")
    (repo / "a.py").write_text(RENAMED + "z = add\nmine = 1\n")
    third = _run(repo, env, "pre-commit", "run")
    assert third.returncode == 1
    assert (repo / "a.py").read_text().endswith("mine = 1\n")


@pytest.mark.slow
def test_the_shipped_pre_commit_hooks_manifest_runs_under_try_repo(tmp_path: Path) -> None:
    project = TESTS_DIR.parent
    if shutil.which("pre-commit") is None or not (project / ".git").exists():
        pytest.skip("needs pre-commit and the project's git checkout")
    repo = make_repo(tmp_path / "tr", {"pyproject.toml": CONFIG, "a.py": "x = 1\n"})
    (repo / "a.py").write_text(CODE)
    git(repo, "add", "a.py")
    env = _env(tmp_path)
    check = _run(repo, env, "pre-commit", "try-repo", str(project), "fastapply-check", "--files", "a.py")
    assert check.returncode == 1 and (repo / "a.py").read_text() == CODE, check.stdout
    fix = _run(repo, env, "pre-commit", "try-repo", str(project), "fastapply", "--files", "a.py")
    assert fix.returncode == 1 and "files were modified by this hook" in fix.stdout
    assert (repo / "a.py").read_text() == RENAMED


def test_hook_in_a_repository_without_commits(tmp_path: Path, monkeypatch, backend) -> None:
    root = make_repo(tmp_path / "fresh", {"pyproject.toml": CONFIG, "a.py": CODE}, commit=False)
    monkeypatch.chdir(root)
    git(root, "add", "a.py")
    assert cli_main(["hook"]) == 1
    assert (root / "a.py").read_text() == RENAMED
