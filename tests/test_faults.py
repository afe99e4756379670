"""Fault injection on the write path: races, full disks, blocked journals, hostile trees and records.

Every test takes a snapshot of the repository (the bytes of every work-tree file, ``.git/index``,
HEAD, and any file outside the tree the test aims at) before the fault and compares it after: what
must not change is byte-identical, and what fastapply wrote is exactly the rewrite.
"""

from __future__ import annotations

import errno
import hashlib
import json
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from conftest import FakeBackend, git, make_repo, rename_rewrite
from fastapply.apply import ApplySession, apply_results
from fastapply.cli import main as cli_main
from fastapply.edit import EditRequest, edit_file
from fastapply.errors import RefusedError, UsageError
from fastapply.repo import find_repo
from fastapply.undo import list_applies, undo_last

RENAME = "Rename the function add to plus."
CODE = "def add(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n"
RENAMED = CODE.replace("add", "plus").encode()
RACE_REPETITIONS = 30
CLI_RACE_REPETITIONS = 20


def _edit(path: Path, instruction: str = RENAME, backend: FakeBackend | None = None):
    backend = backend or FakeBackend(rewrite=rename_rewrite)
    return edit_file(backend, EditRequest(str(path), instruction))


def _head(repo: Path) -> str:
    return git(repo, "rev-parse", "--verify", "-q", "HEAD", check=False).strip()


def snapshot(repo: Path, *outside: Path) -> dict[str, object]:
    """Bytes of every work-tree file, the index bytes, the staged entries, HEAD, and ``outside``."""
    files = {}
    for path in sorted(repo.rglob("*")):
        rel = path.relative_to(repo)
        if rel.parts[0] == ".git" or path.is_dir() and not path.is_symlink():
            continue
        files[rel.as_posix()] = os.readlink(path) if path.is_symlink() else path.read_bytes()
    index = repo / ".git" / "index"
    return {
        "files": files,
        "index": index.read_bytes() if index.exists() else None,
        "staged": git(repo, "ls-files", "-s"),
        "head": _head(repo),
        "outside": {str(p): p.read_bytes() if p.exists() else None for p in outside},
    }


def _written(before: dict[str, object], after: dict[str, object]) -> dict[str, bytes]:
    """The work-tree files whose bytes differ between two snapshots."""
    old, new = before["files"], after["files"]
    assert isinstance(old, dict) and isinstance(new, dict)
    return {k: new.get(k) for k in set(old) | set(new) if old.get(k) != new.get(k)}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"a.py": CODE, "b.py": CODE, "sub/c.py": CODE})


# 1. A write with no undo: the journal cannot be written.


def test_a_blocked_journal_refuses_the_write_and_leaves_everything(repo: Path) -> None:
    (repo / ".git" / "fastapply").write_text("not a folder\n")
    result = _edit(repo / "a.py")
    before = snapshot(repo)
    with pytest.raises(RefusedError, match="fastapply") as caught:
        apply_results([result])
    assert caught.value.path == "a.py" and "undo" in caught.value.reason
    assert snapshot(repo) == before
    assert (repo / ".git" / "fastapply").read_text() == "not a folder\n"


def test_a_blocked_journal_through_the_cli_exits_3_without_a_traceback(
    repo: Path, monkeypatch: pytest.MonkeyPatch, use_backend, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)
    use_backend(FakeBackend(rewrite=rename_rewrite))
    (repo / ".git" / "fastapply").write_text("")
    before = snapshot(repo)
    assert cli_main(["run", "a.py", "-m", RENAME]) == 3
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out and "a.py: refused" in captured.out
    assert snapshot(repo) == before


def test_a_record_that_cannot_be_saved_means_no_write(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _edit(repo / "a.py")
    before = snapshot(repo)
    real_open = os.open

    def full_journal(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if "applies" in str(path) and flags & os.O_CREAT:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", full_journal)
    with pytest.raises(RefusedError, match="No space left"):
        apply_results([result])
    monkeypatch.undo()
    assert snapshot(repo) == before
    assert undo_last(repo).status == "nothing"


def test_the_record_and_both_blobs_are_saved_before_the_replace(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _edit(repo / "a.py")
    git_dir = find_repo(repo).git_dir
    seen: list[list[str]] = []
    real_replace = os.replace

    def observing(src: object, dst: object, *args: object, **kwargs: object) -> None:
        if str(dst).endswith("a.py"):
            records = list_applies(repo)
            seen.append([f.path for r in records for f in r.files])
            for digest in (hashlib.sha256(CODE.encode()).hexdigest(), hashlib.sha256(RENAMED).hexdigest()):
                assert (git_dir / "fastapply" / "blobs" / digest).is_file()
        real_replace(src, dst, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", observing)
    apply_results([result])
    assert seen == [["a.py"]]
    assert (repo / "a.py").read_bytes() == RENAMED


# 2. Lost update between two runs: two processes, a barrier, many repetitions.


def _racer(root: str, instruction: str, barrier: object, queue: object) -> None:
    os.chdir(root)
    result = _edit(Path(root) / "a.py", instruction)
    barrier.wait()  # type: ignore[attr-defined]
    try:
        written = ApplySession(find_repo(root), instruction).write(result)
        queue.put((instruction, "written" if written else "nothing"))  # type: ignore[attr-defined]
    except RefusedError as exc:
        queue.put((instruction, f"refused: {exc.reason}"))  # type: ignore[attr-defined]


def test_two_processes_writing_one_file_never_both_succeed(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    outputs = {
        "Rename add to plus": RENAMED,
        "Rename add to sum": CODE.replace("add", "sum").encode(),
    }
    started = time.perf_counter()
    for rep in range(RACE_REPETITIONS):
        root = make_repo(tmp_path / f"race{rep}", {"a.py": CODE})
        before = snapshot(root)
        barrier, queue = context.Barrier(2), context.Queue()
        procs = [context.Process(target=_racer, args=(str(root), i, barrier, queue)) for i in outputs]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(30)
        outcomes = dict(queue.get(timeout=5) for _ in procs)
        winners = [i for i, what in outcomes.items() if what == "written"]
        assert len(winners) == 1, f"repetition {rep}: {outcomes}"
        loser = next(i for i in outputs if i not in winners)
        assert "changed on disk since it was read" in outcomes[loser]
        after = snapshot(root)
        assert _written(before, after) == {"a.py": outputs[winners[0]]}
        assert (after["index"], after["head"]) == (before["index"], before["head"])
        assert [r.instruction for r in list_applies(root)] == winners
    assert time.perf_counter() - started < 60


def _cli_racer(root: str, instruction: str, barrier: object, queue: object) -> None:
    import contextlib
    import io

    import fastapply.backend

    # Both runs have read the file once both are generating; the barrier makes them write together.
    backend = FakeBackend(rewrite=rename_rewrite, during=lambda request: barrier.wait())  # type: ignore[attr-defined]
    fastapply.backend.load_model = lambda *args, **kwargs: backend  # this forked child's own module
    os.chdir(root)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = cli_main(["run", "a.py", "-m", instruction])
    queue.put((instruction, code, out.getvalue()))  # type: ignore[attr-defined]


def test_two_fastapply_runs_at_the_same_moment_one_writes_and_the_other_exits_3(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    outputs = {"Rename add to plus": RENAMED, "Rename add to sum": CODE.replace("add", "sum").encode()}
    for rep in range(CLI_RACE_REPETITIONS):
        root = make_repo(tmp_path / f"cli-race{rep}", {"a.py": CODE})
        before = snapshot(root)
        barrier, queue = context.Barrier(2), context.Queue()
        procs = [context.Process(target=_cli_racer, args=(str(root), i, barrier, queue)) for i in outputs]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(60)
        runs = {i: (code, out) for i, code, out in (queue.get(timeout=5) for _ in procs)}
        codes = sorted(code for code, _ in runs.values())
        assert codes == [0, 3], f"repetition {rep}: {runs}"
        winner = next(i for i, (code, _) in runs.items() if code == 0)
        loser = next(i for i in outputs if i != winner)
        assert "a.py: changed (written)" in runs[winner][1]
        assert "changed on disk since it was read" in runs[loser][1]
        after = snapshot(root)
        assert _written(before, after) == {"a.py": outputs[winner]}
        assert (after["index"], after["head"]) == (before["index"], before["head"])


# A full disk and an immutable target: refused, byte-identical, nothing left behind.


@pytest.mark.parametrize(
    ("where", "code", "message"),
    [("write", errno.ENOSPC, "No space left"), ("replace", errno.EPERM, "not permitted"), ("replace", errno.EROFS, "Read-only")],
    ids=["full-disk", "immutable", "read-only"],
)
def test_a_failed_write_is_refused_and_the_file_is_byte_identical(
    repo: Path, monkeypatch: pytest.MonkeyPatch, where: str, code: int, message: str
) -> None:
    result = _edit(repo / "a.py")
    before = snapshot(repo)
    real_write, real_replace = os.write, os.replace

    def failing_write(fd: int, data: bytes) -> int:
        if data == RENAMED:
            raise OSError(code, os.strerror(code))
        return real_write(fd, data)

    def failing_replace(src: object, dst: object, *args: object, **kwargs: object) -> None:
        if str(dst).endswith("a.py"):
            raise OSError(code, os.strerror(code))
        real_replace(src, dst, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "write", failing_write)
    monkeypatch.setattr(os, "replace", failing_replace)
    if where == "write":
        monkeypatch.setattr(os, "replace", real_replace)
    else:
        monkeypatch.setattr(os, "write", real_write)
    with pytest.raises(RefusedError, match=message) as caught:
        apply_results([result])
    monkeypatch.undo()
    assert caught.value.path == "a.py"
    assert snapshot(repo) == before
    assert sorted(p.name for p in repo.iterdir()) == [".git", "a.py", "b.py", "sub"]
    assert undo_last(repo).status == "nothing"  # no record claims a write that did not happen


def test_a_failed_write_through_the_cli_exits_3_not_1(
    repo: Path, monkeypatch: pytest.MonkeyPatch, use_backend, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)
    use_backend(FakeBackend(rewrite=rename_rewrite))
    before = snapshot(repo)
    real_replace = os.replace

    def immutable(src: object, dst: object, *args: object, **kwargs: object) -> None:
        if str(dst).endswith("a.py"):
            raise PermissionError(errno.EPERM, "Operation not permitted")
        real_replace(src, dst, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", immutable)
    assert cli_main(["run", "a.py", "-m", RENAME]) == 3
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "not permitted" in captured.out
    assert snapshot(repo) == before


# 7. Ownership is kept, by the write and by undo.


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_owner_and_group_survive_the_write_and_the_undo(repo: Path) -> None:
    target = repo / "sub" / "c.py"
    os.chown(target, 12345, 23456)
    apply_results([_edit(target)])
    written = target.stat()
    assert (written.st_uid, written.st_gid, target.read_bytes()) == (12345, 23456, RENAMED)
    assert undo_last(repo).status == "undone"
    restored = target.stat()
    assert (restored.st_uid, restored.st_gid, target.read_bytes()) == (12345, 23456, CODE.encode())


# 8. A parent folder swapped for a symlink while the model generates.


@pytest.mark.parametrize("swapped", ["parent", "file"])
def test_a_folder_or_file_swapped_for_a_symlink_during_generation_is_refused(
    repo: Path, tmp_path: Path, swapped: str
) -> None:
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    (decoy / "c.py").write_text(CODE)  # same bytes, so a fingerprint read through the link matches

    def swap(request: object) -> None:
        if swapped == "parent":
            (repo / "sub").rename(tmp_path / "moved-sub")
            (repo / "sub").symlink_to(decoy)
        else:
            (repo / "sub" / "c.py").rename(tmp_path / "moved-c.py")
            (repo / "sub" / "c.py").symlink_to(decoy / "c.py")

    result = _edit(repo / "sub" / "c.py", backend=FakeBackend(rewrite=rename_rewrite, during=swap))
    watched = (decoy / "c.py", tmp_path / "moved-sub" / "c.py", tmp_path / "moved-c.py")
    before = snapshot(repo, *watched)
    with pytest.raises(RefusedError) as caught:
        apply_results([result])
    assert caught.value.path == "sub/c.py"
    assert snapshot(repo, *watched) == before
    assert (decoy / "c.py").read_text() == CODE
    assert undo_last(repo).status == "nothing"


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 256 KiB tmpfs (root only); skipped where the machine does not allow mounting."""
    import subprocess

    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        # lazily: a git helper process of the test may still have the folder open
        subprocess.run(["umount", "--lazy", str(mount)], capture_output=True)


def test_a_really_full_disk_refuses_the_write_and_the_file_is_byte_identical(small_disk: Path) -> None:
    repo = make_repo(small_disk / "repo", {"a.py": CODE * 40})
    result = _edit(repo / "a.py")
    filler = small_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    with pytest.raises(OSError, match="No space left"):
        while True:
            os.write(fd, b"\0" * 4096)
    os.close(fd)
    before = snapshot(repo)
    with pytest.raises(RefusedError, match="No space left") as caught:
        apply_results([result])
    assert caught.value.path == "a.py"
    assert snapshot(repo) == before
    filler.unlink()
    apply_results([result])  # the same result writes once there is room: the disk was the only fault
    assert (repo / "a.py").read_bytes() == (CODE * 40).replace("add", "plus").encode()


# 9. Undo trusts no path of its journal.


@pytest.mark.parametrize("kind", ["parent", "absolute", "through-link", "git-dir"])
def test_a_forged_journal_record_restores_nothing_outside_the_tree(repo: Path, tmp_path: Path, kind: str) -> None:
    victim_dir = tmp_path / "victim"
    victim_dir.mkdir()
    victim = victim_dir / "v.py"
    victim.write_text("precious\n")
    (repo / "out").symlink_to(victim_dir)
    git_dir = find_repo(repo).git_dir
    forged_path = {
        "parent": "../victim/v.py",
        "absolute": str(victim),
        "through-link": "out/v.py",
        "git-dir": ".git/config",
    }[kind]
    aimed = victim if kind != "git-dir" else repo / ".git" / "config"
    payload = b"owned\n"
    blobs = git_dir / "fastapply" / "blobs"
    blobs.mkdir(parents=True)
    digest = hashlib.sha256(payload).hexdigest()
    (blobs / digest).write_bytes(payload)
    record = {
        "id": "00000000000000000001-abcdef",
        "time": 1.0,
        "instruction": "forged",
        "repo_root": str(repo),
        "files": [
            {
                "path": forged_path,
                "before_sha256": digest,
                "after_sha256": hashlib.sha256(aimed.read_bytes()).hexdigest(),
                "mode": 0o644,
            }
        ],
        "commit": None,
        "undone": False,
    }
    (git_dir / "fastapply" / "applies").mkdir()
    (git_dir / "fastapply" / "applies" / f"{record['id']}.json").write_text(json.dumps(record))
    before = snapshot(repo, victim, repo / ".git" / "config")
    report = undo_last(repo)
    assert report.status == "refused" and report.restored == []
    assert "inside the work tree" in report.reason or "outside" in report.reason
    assert snapshot(repo, victim, repo / ".git" / "config") == before


# 10. One blocked apply does not block every older one.


def test_an_older_apply_is_undone_by_id_past_a_newer_one_that_is_blocked(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first = apply_results([_edit(repo / "a.py")], instruction=RENAME)
    apply_results([_edit(repo / "b.py", "Rename add to sum")], instruction="Rename add to sum")
    (repo / "b.py").write_text("edited by hand\n")
    monkeypatch.chdir(repo)
    before = snapshot(repo)
    assert cli_main(["undo"]) == 3
    err = capsys.readouterr().err
    assert "b.py: changed since fastapply wrote it" in err and "undo ID" in err
    assert snapshot(repo) == before
    assert cli_main(["undo", "--list"]) == 0
    listing = capsys.readouterr().out
    assert first.id in listing and "blocked" in listing
    assert cli_main(["undo", first.id]) == 0
    assert "restored a.py" in capsys.readouterr().out
    assert _written(before, snapshot(repo)) == {"a.py": CODE.encode()}
    assert (repo / "b.py").read_text() == "edited by hand\n"


# 4 and 5: committing exactly what fastapply wrote, and a failed commit leaves the index alone.


def test_a_failing_pre_commit_hook_leaves_the_index_and_undo_restores_everything(repo: Path) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'hook says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = snapshot(repo)
    with pytest.raises(UsageError, match="hook says no"):
        apply_results([_edit(repo / "a.py")], commit=True)
    after = snapshot(repo)
    assert _written(before, after) == {"a.py": RENAMED}
    assert (after["index"], after["staged"], after["head"]) == (before["index"], before["staged"], before["head"])
    assert undo_last(repo).status == "undone"
    assert snapshot(repo) == before
    assert git(repo, "status", "--porcelain") == ""


def _start_conflicted_merge(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "side")
    (repo / "b.py").write_text("side\n")
    git(repo, "commit", "-qam", "side")
    git(repo, "checkout", "-q", "main")
    (repo / "b.py").write_text("main\n")
    git(repo, "commit", "-qam", "main")
    git(repo, "merge", "side", check=False)
    assert (repo / ".git" / "MERGE_HEAD").exists()


def test_a_merge_in_progress_refuses_a_commit_before_anything_is_written(repo: Path) -> None:
    _start_conflicted_merge(repo)
    result = _edit(repo / "a.py")
    before = snapshot(repo)
    with pytest.raises(RefusedError, match="merge"):
        apply_results([result], commit=True)
    assert snapshot(repo) == before
    assert (repo / ".git" / "MERGE_HEAD").exists()


def test_a_commit_that_git_refuses_mid_merge_leaves_the_index_as_it_was(repo: Path) -> None:
    _start_conflicted_merge(repo)
    session = ApplySession(find_repo(repo), RENAME)
    before = snapshot(repo)
    assert session.write(_edit(repo / "a.py"))
    with pytest.raises((UsageError, RefusedError)):
        session.finish(commit=True)
    after = snapshot(repo)
    assert _written(before, after) == {"a.py": RENAMED}
    assert (after["index"], after["staged"], after["head"]) == (before["index"], before["staged"], before["head"])
    assert undo_last(repo).status == "undone"
    assert snapshot(repo) == before


@pytest.mark.parametrize("state", ["staged", "unstaged", "staged-and-unstaged", "untracked"])
def test_commit_refuses_files_holding_changes_of_the_user(repo: Path, state: str) -> None:
    target = repo / "a.py"
    if state == "untracked":
        target = repo / "new.py"
        target.write_text(CODE)
    if state.startswith("staged"):
        target.write_text(CODE + "staged = 1\n")
        git(repo, "add", "a.py")
    if state.endswith("unstaged"):
        target.write_text(target.read_text() + "unstaged = 1\n")
    result = _edit(target)
    before = snapshot(repo)
    with pytest.raises(RefusedError, match="would carry your own changes") as caught:
        apply_results([result], commit=True)
    assert caught.value.path == target.name
    assert snapshot(repo) == before


def test_run_commit_never_commits_staged_and_unstaged_edits_of_the_user(
    repo: Path, monkeypatch: pytest.MonkeyPatch, use_backend, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)
    use_backend(FakeBackend(rewrite=rename_rewrite))
    (repo / "a.py").write_text(CODE + "staged = 1\n")
    git(repo, "add", "a.py")
    (repo / "a.py").write_text(CODE + "staged = 1\nunstaged = 1\n")
    before = snapshot(repo)
    assert cli_main(["run", "a.py", "-m", RENAME, "--commit"]) == 3
    assert "a.py" in capsys.readouterr().err
    after = snapshot(repo)
    assert (after["index"], after["staged"], after["head"]) == (before["index"], before["staged"], before["head"])
    assert cli_main(["undo"]) == 0  # whatever was written comes back out
    assert snapshot(repo) == before


# Two undos of one apply at the same moment: one restores, the other finds it done.


def _undoer(root: str, barrier: object, queue: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    report = undo_last(root)
    queue.put((report.status, tuple(report.restored)))  # type: ignore[attr-defined]


def test_two_processes_undoing_one_apply_restore_it_once(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    for rep in range(RACE_REPETITIONS // 2):
        root = make_repo(tmp_path / f"undo{rep}", {"a.py": CODE})
        original = snapshot(root)
        apply_results([_edit(root / "a.py")])
        barrier, queue = context.Barrier(2), context.Queue()
        procs = [context.Process(target=_undoer, args=(str(root), barrier, queue)) for _ in range(2)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(30)
        outcomes = sorted(queue.get(timeout=5) for _ in procs)
        assert outcomes == [("nothing", ()), ("undone", ("a.py",))], f"repetition {rep}: {outcomes}"
        assert snapshot(root)["files"] == original["files"]
        assert [r.undone for r in list_applies(root)] == [True]
