"""Checks on a candidate: built-in parsers, configured commands in a scratch copy, timeouts."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import pytest

from conftest import git, make_repo
from fastapply.checks import CheckRunner, CheckSetupError, parse_check
from fastapply.config import CheckEntry
from fastapply.repo import find_repo


@pytest.mark.parametrize(
    ("path", "text", "ok", "message"),
    [
        ("a.py", "def f(:\n    pass\n", False, "a.py:1:"),
        ("a.py", "x = (1,\n", False, "SyntaxError"),
        ("a.py", "x = 1\n", True, ""),
        ("a.py", "x = '\0'\nnull\0byte\n", False, "null bytes"),
        ("d.json", '{"a": 1,}', False, "d.json:1:"),
        ("d.json", '{"a": 1}', True, ""),
        ("c.toml", "a = \n", False, "c.toml:"),
        ("c.toml", "a = 1\n", True, ""),
        ("c.yaml", "a: [1, 2\n", False, "c.yaml:"),
        ("c.yml", "a: 1\n", True, ""),
    ],
)
def test_built_in_parse_checks(path: str, text: str, ok: bool, message: str) -> None:
    if path.endswith((".yaml", ".yml")):
        pytest.importorskip("yaml")
    result = parse_check(path, text)
    assert result is not None and result.ok is ok and message in result.output
    assert result.name.startswith("parse:")


def test_files_of_other_kinds_have_no_built_in_check() -> None:
    assert parse_check("notes.txt", "anything {[(") is None
    assert parse_check("Makefile", "all:\n") is None


@pytest.fixture
def repo(tmp_path: Path):
    root = make_repo(tmp_path / "repo", {"a.py": "x = 1\n", "pkg/b.py": "y = 2\n", ".gitignore": "venv/\n"})
    (root / "venv").mkdir()
    (root / "venv" / "big.bin").write_bytes(b"\0" * 10)
    (root / "untracked.txt").write_text("mine\n")
    (root / "a.py").write_text("x = 'uncommitted'\n")
    return find_repo(root)


def _py(code: str) -> str:
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"


def test_a_file_check_gets_the_candidates_path_in_a_scratch_copy(repo) -> None:
    script = "import sys, os; print(os.getcwd()); print(open(sys.argv[1]).read(), end=''); sys.exit(3)"
    runner = CheckRunner(repo, [CheckEntry(_py(script) + " {file}", files="*.py", name="show")], builtin=False)
    [result] = runner.run("pkg/b.py", "y = 3\n", b"y = 3\n")
    cwd, content = result.output.split("\n", 1)
    assert not result.ok and result.name == "show" and content == "y = 3\n"
    assert Path(cwd) != repo.root and not Path(cwd).exists()  # a scratch copy, removed afterwards
    assert (repo.root / "pkg" / "b.py").read_text() == "y = 2\n"


def test_a_project_check_sees_the_candidate_and_the_users_other_edits_but_never_writes_the_tree(repo) -> None:
    user_root = str(repo.root)
    script = (
        "import os, sys; "
        "assert open('pkg/b.py').read() == 'y = 3\\n'; "  # the candidate is in place
        "assert open('a.py').read() == \"x = 'uncommitted'\\n\"; "  # the user's own edits too
        "assert open('untracked.txt').read() == 'mine\\n'; "
        "assert not os.path.exists('venv'); "  # ignored files are not copied
        f"assert open({user_root!r} + '/pkg/b.py').read() == 'y = 2\\n'; "  # the user's tree is untouched
        "open('pkg/b.py', 'w').write('clobbered'); open('new.txt', 'w').write('x')"
    )
    runner = CheckRunner(repo, [CheckEntry(_py(script), name="project")], builtin=False)
    before = {p: p.read_bytes() for p in repo.root.rglob("*") if p.is_file() and ".git" not in p.parts}
    [result] = runner.run("pkg/b.py", "y = 3\n", b"y = 3\n")
    assert result.ok, result.output
    after = {p: p.read_bytes() for p in repo.root.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert after == before
    assert git(repo.root, "status", "--porcelain") == " M a.py\n?? untracked.txt\n"


def test_a_check_that_times_out_fails_with_what_it_printed(repo) -> None:
    script = "import time; print('started', flush=True); time.sleep(30)"
    runner = CheckRunner(repo, [CheckEntry(_py(script), timeout=0.5, name="slow")], builtin=False)
    started = time.monotonic()
    [result] = runner.run("a.py", "x = 2\n", b"x = 2\n")
    assert time.monotonic() - started < 10
    assert not result.ok and result.output.startswith("timed out after 0.5 s") and "started" in result.output


def test_a_command_that_cannot_start_is_a_configuration_error(repo) -> None:
    runner = CheckRunner(repo, [CheckEntry("no-such-linter-xyz {file}")], builtin=False)
    with pytest.raises(CheckSetupError, match="cannot start 'no-such-linter-xyz'"):
        runner.preflight()
    with pytest.raises(CheckSetupError, match="cannot start"):
        runner.run("a.py", "x = 2\n", b"x = 2\n")
    with pytest.raises(CheckSetupError, match="cannot split"):
        CheckRunner(repo, [CheckEntry("ruff 'unclosed")], builtin=False).preflight()


def test_only_entries_whose_glob_matches_run_and_results_carry_the_attempt(repo) -> None:
    runner = CheckRunner(
        repo, [CheckEntry(_py("print('txt')"), files="*.txt", name="txt"), CheckEntry(_py("pass"), files="pkg/**", name="pkg")]
    )
    results = runner.run("pkg/b.py", "y = 3\n", b"y = 3\n", attempt=2)
    assert [(r.name, r.ok, r.attempt) for r in results] == [("parse:python", True, 2), ("pkg", True, 2)]
    assert not CheckRunner(repo, [], builtin=True).applies("notes.txt")


def test_a_check_does_not_inherit_the_variables_that_point_git_at_the_users_repository(repo, monkeypatch) -> None:
    monkeypatch.setenv("GIT_INDEX_FILE", str(repo.git_dir / "index"))
    monkeypatch.setenv("GIT_DIR", str(repo.git_dir))
    monkeypatch.setenv("FASTAPPLY_CHECK_PROBE", "kept")
    script = "import os; print(os.environ.get('GIT_INDEX_FILE'), os.environ.get('GIT_DIR'), os.environ.get('FASTAPPLY_CHECK_PROBE'))"
    [result] = CheckRunner(repo, [CheckEntry(_py(script))], builtin=False).run("a.py", "x = 2\n", b"x = 2\n")
    assert result.output.split() == ["None", "None", "kept"]
