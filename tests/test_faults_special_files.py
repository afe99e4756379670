"""Special files where fastapply reads: a FIFO, a link to /dev/zero or a huge file in a work-tree
file's place or in the journal is refused or skipped, looked at and never waited on or read out.

Every operation that could wait or read without end runs bounded: the command line in a
subprocess with a timeout and a memory cap, a library call in a thread released (by opening the
FIFO's other end) when it overstays, so a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import TESTS_DIR, git
from fault_support import CODE, RENAMED, edit_one, head_of
from fault_support import repo  # noqa: F401  (the repository fixture)

from fastapply.apply import ApplySession, apply_results
from fastapply.errors import RefusedError
from fastapply.journal import MAX_UNSIZED_BLOB_BYTES
from fastapply.repo import find_repo
from fastapply.undo import list_applies

TIMEOUT_S = 30
MEMORY_CAP = 2 << 30  # bytes of address space a command may take; reading /dev/zero passes it in a second
HUGE = 4 << 30  # a sparse file's size: over the memory cap, so reading it whole fails at once


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def fastapply(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``fastapply ARGS`` in ``repo``, killed after TIMEOUT_S (a failure, not a hang)."""
    full_env = {**os.environ, "PYTHONPATH": str(TESTS_DIR), **env}
    full_env.pop("FASTAPPLY_DEBUG", None)
    try:
        return subprocess.run(
            [sys.executable, "-m", "fastapply.cli", *args], cwd=repo, env=full_env, capture_output=True,
            text=True, timeout=TIMEOUT_S, preexec_fn=_cap_memory,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`fastapply {' '.join(args)}` still running after {TIMEOUT_S} s (waiting on a FIFO?)")


def within(call: Callable[[], object], fifo: Path, seconds: float = TIMEOUT_S) -> object:
    """``call()``'s value, or the exception it raised, failing the test if it waits past ``seconds``."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except Exception as exc:  # handed back to the test, which asserts on it
            box["value"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # a writer releases the reader's open
        os.close(fd)
        thread.join(5)
        pytest.fail(f"still waiting on the FIFO {fifo.name} after {seconds} s")
    return box["value"]


def state(repo: Path) -> dict[str, object]:
    """What must stay byte-identical: the work tree's files (a FIFO by kind only: reading it would
    wait), the index's bytes and entries, and HEAD (fault_support's snapshot reads every file)."""
    files: dict[str, object] = {}
    for path in sorted(repo.rglob("*")):
        rel = path.relative_to(repo).as_posix()
        if rel.split("/")[0] == ".git":
            continue
        info = path.lstat()
        if stat.S_ISREG(info.st_mode):
            files[rel] = (path.read_bytes(), stat.S_IMODE(info.st_mode))
        elif not stat.S_ISDIR(info.st_mode):
            files[rel] = stat.S_IFMT(info.st_mode)
    index = repo / ".git" / "index"
    return {"files": files, "index": index.read_bytes(), "staged": git(repo, "ls-files", "-s"), "head": head_of(repo)}


def _fifo_in_place_of(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _record_file(repo: Path, apply_id: str) -> Path:
    return find_repo(repo).git_dir / "fastapply" / "applies" / f"{apply_id}.json"


# 1. A FIFO in a work-tree file's place.


def test_undo_and_its_listing_refuse_a_fifo_in_a_files_place_without_waiting(repo: Path) -> None:
    record = apply_results([edit_one(repo / "a.py")])
    _fifo_in_place_of(repo / "a.py")
    before = state(repo)
    done = fastapply(repo, "undo")
    assert done.returncode == 3, done.stderr
    assert "a.py: is no longer a regular file (a FIFO); not restored" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    listed = fastapply(repo, "undo", "--list")
    assert listed.returncode == 0, listed.stderr
    assert record.id in listed.stdout and "blocked (a.py: is no longer a regular file (a FIFO)" in listed.stdout
    assert state(repo) == before
    assert [r.undone for r in list_applies(repo)] == [False]


def test_an_apply_refuses_a_fifo_put_in_the_files_place_after_generation(repo: Path) -> None:
    result = edit_one(repo / "a.py")
    _fifo_in_place_of(repo / "a.py")
    before = state(repo)
    refused = within(lambda: apply_results([result]), repo / "a.py")
    assert isinstance(refused, RefusedError), refused
    assert (refused.path, refused.reason) == ("a.py", "is no longer a regular file (a FIFO); nothing written")
    assert state(repo) == before and list_applies(repo) == []


def test_a_fifo_in_the_files_place_counts_as_changed_without_waiting(repo: Path) -> None:
    result = edit_one(repo / "a.py")
    _fifo_in_place_of(repo / "a.py")
    assert within(result.changed_on_disk, repo / "a.py") is True


def test_the_write_under_the_lock_refuses_a_fifo_without_waiting(repo: Path) -> None:
    result = edit_one(repo / "a.py")
    _fifo_in_place_of(repo / "a.py")
    before = state(repo)
    session = ApplySession(find_repo(repo))
    refused = within(lambda: session.write(result), repo / "a.py")
    assert isinstance(refused, RefusedError), refused
    assert (refused.path, refused.reason) == ("a.py", "is no longer a regular file (a FIFO)")
    assert state(repo) == before and list_applies(repo) == []


def test_a_check_that_puts_a_fifo_in_the_files_place_makes_the_run_refuse_it(repo: Path) -> None:
    script = f"import os; os.remove({str(repo / 'a.py')!r}); os.mkfifo({str(repo / 'a.py')!r})"
    command = json.dumps(f"{sys.executable} -c \"{script}\"")
    (repo / ".fastapply.toml").write_text(f"[[check]]\nrun = {command}\nfiles = \"a.py\"\n")
    git(repo, "add", ".fastapply.toml")
    git(repo, "commit", "-q", "-m", "a check")
    done = fastapply(repo, "run", "a.py", "-m", "Rename the function add to plus.",
                     FASTAPPLY_BACKEND="conftest:rename_backend")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "a.py: refused: is no longer a regular file (a FIFO)" in done.stdout
    assert stat.S_ISFIFO((repo / "a.py").lstat().st_mode) and list_applies(repo) == []
    assert (repo / "b.py").read_text() == CODE


def test_an_apply_refuses_a_link_to_dev_zero_put_in_the_files_place(repo: Path) -> None:
    script = (
        "import os, sys\n"
        "from fault_support import edit_one\n"
        "from fastapply.apply import apply_results\n"
        "from fastapply.errors import RefusedError\n"
        "result = edit_one(__import__('pathlib').Path('a.py').resolve())\n"
        "os.remove('a.py'); os.symlink('/dev/zero', 'a.py')\n"
        "try:\n"
        "    apply_results([result])\n"
        "except RefusedError as exc:\n"
        "    print(exc.reason)\n"
    )
    before = state(repo)
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=repo, env={**os.environ, "PYTHONPATH": str(TESTS_DIR)},
            capture_output=True, text=True, timeout=TIMEOUT_S, preexec_fn=_cap_memory,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the apply was still reading after {TIMEOUT_S} s")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "is no longer a regular file (a symlink); nothing written\n"
    assert os.readlink(repo / "a.py") == "/dev/zero"
    after = state(repo)
    del before["files"]["a.py"], after["files"]["a.py"]  # type: ignore[attr-defined]
    assert after == before and list_applies(repo) == []


# 2. Journal files that are not what they claim.


def _plant(kind: str, path: Path) -> None:
    """Put at ``path`` what a journal reader must never wait on or read to the end."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "link-to-dev-zero":
        path.symlink_to("/dev/zero")
    else:
        with open(path, "wb") as handle:
            handle.truncate(HUGE)


@pytest.mark.parametrize("kind", ["fifo", "link-to-dev-zero", "huge"])
def test_a_record_that_is_no_record_is_skipped_named_and_never_waited_on(repo: Path, kind: str) -> None:
    record = apply_results([edit_one(repo / "a.py")])
    bad = _record_file(repo, "99999999999999999999-abcdef")
    _plant(kind, bad)
    listed = fastapply(repo, "undo", "--list")
    assert listed.returncode == 0, listed.stderr
    assert "skipped a damaged journal record: 99999999999999999999-abcdef.json" in listed.stderr
    assert record.id in listed.stdout
    done = fastapply(repo, "undo")
    assert done.returncode == 0, done.stderr
    assert "skipped a damaged journal record: 99999999999999999999-abcdef.json" in done.stderr
    assert "restored a.py" in done.stdout and (repo / "a.py").read_text() == CODE


@pytest.mark.parametrize("kind", ["fifo", "link-to-dev-zero", "huge"])
def test_a_saved_copy_that_is_no_copy_refuses_the_undo_without_reading_it(repo: Path, kind: str) -> None:
    record = apply_results([edit_one(repo / "a.py")])
    blob = find_repo(repo).git_dir / "fastapply" / "blobs" / record.files[0].before_sha256
    blob.unlink()
    _plant(kind, blob)
    before = state(repo)
    done = fastapply(repo, "undo")
    assert done.returncode == 3, done.stderr
    assert "a.py: the saved copy is missing or damaged" in done.stderr and "Traceback" not in done.stderr
    assert state(repo) == before and (repo / "a.py").read_bytes() == RENAMED


def test_a_copy_from_a_record_without_sizes_is_read_up_to_the_cap_only(repo: Path) -> None:
    record = apply_results([edit_one(repo / "a.py")])
    path = _record_file(repo, record.id)
    saved = json.loads(path.read_text())
    for entry in saved["files"]:
        del entry["before_size"], entry["after_size"]  # as written before sizes were kept
    path.write_text(json.dumps(saved))
    blob = find_repo(repo).git_dir / "fastapply" / "blobs" / record.files[0].before_sha256
    with open(blob, "ab") as handle:
        handle.truncate(HUGE)
    assert HUGE > MAX_UNSIZED_BLOB_BYTES
    refused = fastapply(repo, "undo")
    assert refused.returncode == 3 and "the saved copy is missing or damaged" in refused.stderr, refused.stderr
    blob.write_bytes(CODE.encode())
    done = fastapply(repo, "undo")
    assert done.returncode == 0 and (repo / "a.py").read_text() == CODE, done.stderr


def test_a_fifo_swapped_in_after_the_path_was_resolved_is_refused_without_waiting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapply import files

    fifo = tmp_path / "a.py"
    os.mkfifo(fifo)
    monkeypatch.setattr(files, "resolve_in_repo", lambda path, root, git_dir=None: ("a.py", fifo))
    monkeypatch.setattr(files.os, "access", lambda path, mode: True)
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            files.read_source("a.py", tmp_path)
            outcome.append(None)
        except BaseException as exc:  # the test's verdict, below
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # the old read blocked: open the FIFO's other end to let it go
        with open(fifo, "wb"):
            pass
        reader.join(timeout=10)
        pytest.fail("reading the file waited on a FIFO")
    assert isinstance(outcome[0], files.FileRefused) and "a FIFO" in str(outcome[0])
