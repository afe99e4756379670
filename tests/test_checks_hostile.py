"""Checks against a hostile tree and hostile commands: links out of the copy, processes that
outlive the check or escape its group, floods of output, interrupts, git reaching the user's index.

Every test is bounded: commands sleep a few seconds at most, subprocesses have timeouts, and a
process a test leaves behind is killed by its pid in ``finally``.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import ScriptedBackend, git, make_repo
from fastapply import checks, scratch
from fastapply.checks import CheckRunner, run_command
from fastapply.cli import main as cli_main
from fastapply.config import CheckEntry
from fastapply.repo import find_repo
from fastapply.scratch import scratch_tree

CODE = "def add(a, b):\n    return a + b\n"
FIXED = "def plus(a, b):\n    return a + b\n"


def _py(code: str) -> str:
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie nobody reaps (no init in a container) is dead too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _pid_in(output: str) -> int:
    match = re.search(r"pid (\d+)", output)
    assert match, output
    return int(match.group(1))


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


@pytest.fixture
def linked(tmp_path: Path):
    """A repository whose ``lnk`` is an absolute link to its own ``realdir``, and ``up`` a relative
    one that climbs out to ``/`` and comes back in by the absolute path."""
    root = make_repo(tmp_path / "repo", {"realdir/mod.py": CODE, "other.py": "x = 1\n"}, commit=False)
    real = os.path.realpath(root / "realdir")
    os.symlink(real, root / "lnk")
    os.symlink("../" * (len(Path(real).parts) + 2) + real.lstrip("/"), root / "up")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return find_repo(root)


@pytest.mark.parametrize("link", ["lnk", "up"])
def test_the_candidate_is_never_written_through_a_link_into_the_users_tree(linked, link: str) -> None:
    real = linked.root / "realdir" / "mod.py"
    with scratch_tree(linked, f"{link}/mod.py", FIXED.encode()) as root:
        assert (root / link / "mod.py").read_text() == FIXED
        assert (root / "realdir" / "mod.py").read_text() == FIXED  # the link leads to the copy's own folder
        assert real.read_text() == CODE


def test_a_check_writing_through_a_link_changes_only_the_copy(linked) -> None:
    script = "open('lnk/mod.py', 'w').write('formatted'); open('up/new.py', 'w').write('x')"
    [result] = CheckRunner(linked, [CheckEntry(_py(script))], builtin=False).run("other.py", "x = 2\n", b"x = 2\n")
    assert result.ok, result.output
    assert (linked.root / "realdir" / "mod.py").read_text() == CODE
    assert not (linked.root / "realdir" / "new.py").exists()


def test_links_out_of_the_tree_a_file_is_copied_as_content_a_missing_one_left_out(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "conf.txt").write_text("shared\n")
    root = make_repo(tmp_path / "repo", {"a.py": "x = 1\n"}, commit=False)
    os.symlink(outside / "conf.txt", root / "conf.txt")
    os.symlink(outside / "dir", root / "dirlink")
    os.symlink(outside / "missing", root / "dangling")
    repo = find_repo(root)
    # the library's own write never follows a link out of the copy, even where the caller named one
    with scratch_tree(repo, "dirlink/x.py", b"y = 1\n") as copy:
        assert not (copy / "conf.txt").is_symlink() and (copy / "conf.txt").read_text() == "shared\n"
        (copy / "conf.txt").write_text("changed by a check\n")
        assert not os.path.lexists(copy / "dangling")
        assert not (copy / "dirlink").is_symlink() and (copy / "dirlink" / "x.py").read_text() == "y = 1\n"
    assert (outside / "conf.txt").read_text() == "shared\n" and list((outside / "dir").iterdir()) == []
    with scratch_tree(repo, "a.py", b"x = 2\n") as copy:
        assert (copy / "dirlink").is_symlink() and (copy / "dirlink").resolve() == (outside / "dir").resolve()


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_failing_run_through_a_linked_folder_leaves_the_real_file_alone(linked, use_backend, monkeypatch, dry_run: bool, capsys) -> None:
    monkeypatch.chdir(linked.root)
    (linked.root / ".fastapply.toml").write_text(f'[[check]]\nname = "fail"\nrun = {json.dumps(_py("raise SystemExit(1)"))}\n')
    use_backend(ScriptedBackend([FIXED]))
    argv = ["run", "lnk/mod.py", "-m", "Rename add to plus.", "--max-attempts", "1", *(["--check"] if dry_run else [])]
    assert cli_main(argv) == 5
    assert "check-failed" in capsys.readouterr().out
    assert (linked.root / "realdir" / "mod.py").read_text() == CODE


def test_a_check_that_leaves_a_background_job_passes_at_once_and_the_job_is_killed(tmp_path: Path) -> None:
    script = "import subprocess; p = subprocess.Popen(['sleep', '8']); print('pid', p.pid, flush=True)"
    started = time.monotonic()
    result = run_command(CheckEntry(_py(script), timeout=4), "a.py", tmp_path)
    pid = _pid_in(result.output)
    try:
        assert result.ok and time.monotonic() - started < 3, result.output
        assert _gone_within(pid, 2)
    finally:
        _kill(pid)


@pytest.mark.parametrize("leader", ["exit", "sleep"])
def test_a_process_that_escaped_the_group_never_holds_the_result(tmp_path: Path, leader: str) -> None:
    script = (
        "import subprocess, time; p = subprocess.Popen(['sleep', '8'], start_new_session=True); "
        "print('pid', p.pid, flush=True)" + ("; time.sleep(8)" if leader == "sleep" else "")
    )
    started = time.monotonic()
    result = run_command(CheckEntry(_py(script), timeout=1.5), "a.py", tmp_path)
    pid = _pid_in(result.output)
    _kill(pid)
    assert time.monotonic() - started < 5, result.output
    if leader == "exit":
        assert result.ok, result.output
    else:
        assert not result.ok and result.output.startswith("timed out after 1.5 s")


def test_a_flood_of_output_is_cut_off_and_kept_short(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(checks, "OUTPUT_LIMIT_BYTES", 2**20, raising=False)
    script = (
        "import sys, time; w = sys.stdout.buffer.write; w(b'FIRST\\n'); "
        "[w(b'y' * 65535 + b'\\n') for _ in range(64)]; sys.stdout.flush(); time.sleep(8)"
    )
    started = time.monotonic()
    result = run_command(CheckEntry(_py(script), timeout=6), "a.py", tmp_path)
    assert time.monotonic() - started < 5
    assert not result.ok and result.output.startswith("killed: printed more than 1 MiB of output"), result.output[:200]
    assert "FIRST" in result.output and "bytes left out" in result.output
    assert len(result.output) < checks.MAX_OUTPUT_CHARS + 200


def test_yes_is_stopped(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_command(CheckEntry("yes", timeout=20), "a.py", tmp_path)
    assert time.monotonic() - started < 15
    assert not result.ok and result.output.startswith("killed: printed more than 64 MiB")
    assert len(result.output) < checks.MAX_OUTPUT_CHARS + 200


def test_long_output_keeps_its_head_and_tail(tmp_path: Path) -> None:
    script = "print('HEAD'); print('x' * 100000); print('TAIL')"
    result = run_command(CheckEntry(_py(script)), "a.py", tmp_path)
    assert result.ok and result.output.startswith("HEAD\n") and result.output.endswith("TAIL\n")
    assert "[... 92011 bytes left out ...]" in result.output


@pytest.mark.parametrize(("name", "number"), [("SIGKILL", 9), ("SIGSEGV", 11)])
def test_a_check_killed_by_a_signal_names_it(tmp_path: Path, name: str, number: int) -> None:
    result = run_command(CheckEntry(_py(f"import os; os.kill(os.getpid(), {number})")), "a.py", tmp_path)
    assert not result.ok and result.output.startswith(f"killed by signal {name} ({number})")


_INTERRUPTED = """
import signal, sys
from pathlib import Path
from fastapply.checks import run_command
from fastapply.config import CheckEntry
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
run_command(CheckEntry(sys.argv[2], timeout=60), "a.py", Path(sys.argv[1]))
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_kills_the_running_check(tmp_path: Path, sig: int) -> None:
    check = _py("import os, time; open('pid.tmp', 'w').write(str(os.getpid())); os.rename('pid.tmp', 'pid'); time.sleep(30)")
    proc = subprocess.Popen(
        [sys.executable, "-c", _INTERRUPTED, str(tmp_path), check],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    pid = 0
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "pid").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = int((tmp_path / "pid").read_text())
        proc.send_signal(sig)
        proc.wait(timeout=15)
        assert _gone_within(pid, 3)
    finally:
        proc.kill()
        proc.wait(timeout=5)
        if pid:
            _kill(pid)


def test_a_scratch_folder_that_resists_removal_is_never_an_error(tmp_path: Path, monkeypatch) -> None:
    repo = find_repo(make_repo(tmp_path / "repo", {"a.py": "x = 1\n"}))
    real_rmtree = shutil.rmtree
    calls: list[str] = []

    def racing(path, *args, **kwargs):  # a leftover writer adds a file while the folder is removed
        calls.append(str(path))
        if len(calls) == 1:
            raise OSError(errno.ENOTEMPTY, "Directory not empty", str(path))
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", racing)
    with scratch_tree(repo, "a.py", b"x = 2\n") as root:
        folder = root.parent
    assert len(calls) == 2 and not folder.exists()

    monkeypatch.setattr(shutil, "rmtree", lambda path, *a, **k: (_ for _ in ()).throw(OSError(errno.EBUSY, "busy")))
    with scratch_tree(repo, "a.py", b"x = 2\n") as root:
        folder = root.parent
    monkeypatch.setattr(shutil, "rmtree", real_rmtree)
    real_rmtree(folder, ignore_errors=True)


def test_git_in_a_copy_made_inside_the_work_tree_never_reaches_the_users_index(tmp_path: Path, monkeypatch) -> None:
    root = make_repo(tmp_path / "repo", {"a.py": "x = 1\n", ".gitignore": "tmp/\n"})
    (root / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root / "tmp"))
    monkeypatch.delenv("GIT_CEILING_DIRECTORIES", raising=False)
    index = (root / ".git" / "index").read_bytes()
    runner = CheckRunner(find_repo(root), [CheckEntry("git add -f {file}")], builtin=False)
    [result] = runner.run("a.py", "x = 2\n", b"x = 2\n")
    assert (root / ".git" / "index").read_bytes() == index, result.output
    assert "not a git repository" in result.output


def test_a_program_in_an_ignored_folder_runs_from_the_users_tree_on_the_copy(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"a.py": "x = 1\n", ".gitignore": ".venv/\n"})
    lint = root / ".venv" / "bin" / "lint"
    lint.parent.mkdir(parents=True)
    lint.write_text(f"#!{sys.executable}\nimport os, sys\nprint(os.getcwd())\nprint(open(sys.argv[1]).read(), end='')\n")
    lint.chmod(0o755)
    runner = CheckRunner(find_repo(root), [CheckEntry(".venv/bin/lint {file}")], builtin=False)
    runner.preflight()
    [result] = runner.run("a.py", "x = 2\n", b"x = 2\n")
    assert result.ok, result.output
    cwd, content = result.output.split("\n", 1)
    assert Path(cwd) != root and content == "x = 2\n"


def test_a_tracked_repo_relative_program_is_the_copys_own(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"a.py": "x = 1\n", "tools/lint": f"#!{sys.executable}\nimport sys\nprint(sys.argv[0])\n"})
    (root / "tools" / "lint").chmod(0o755)
    [result] = CheckRunner(find_repo(root), [CheckEntry("tools/lint {file}")], builtin=False).run("a.py", "x = 2\n", b"x = 2\n")
    assert result.ok and result.output.strip() == "tools/lint"


def test_the_scratch_module_refuses_a_path_that_climbs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a plain repo-relative path"):
        scratch.write_inside(tmp_path, "../escape.py", b"x")
    assert not (tmp_path.parent / "escape.py").exists()
