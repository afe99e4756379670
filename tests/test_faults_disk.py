"""Faults from the disk and the tree: full, read-only, immutable, swapped for a link, another owner.

Each write is refused with the file byte-identical, or, for ownership, kept (defects 6, 7, 8).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from conftest import FakeBackend, make_repo, rename_rewrite
from fault_support import (
    CODE,
    RENAME,
    RENAMED,
    edit_one,
    repo,  # noqa: F401  (the repository fixture)
    snapshot,
)

from fastapply.apply import ApplySession, apply_results
from fastapply.cli import main as cli_main
from fastapply.errors import RefusedError
from fastapply.repo import find_repo
from fastapply.undo import undo_last

# A full disk and an immutable target: refused, byte-identical, nothing left behind.


@pytest.mark.parametrize(
    ("where", "code", "message"),
    [("write", errno.ENOSPC, "No space left"), ("replace", errno.EPERM, "not permitted"), ("replace", errno.EROFS, "Read-only")],
    ids=["full-disk", "immutable", "read-only"],
)
def test_a_failed_write_is_refused_and_the_file_is_byte_identical(
    repo: Path, monkeypatch: pytest.MonkeyPatch, where: str, code: int, message: str
) -> None:
    result = edit_one(repo / "a.py")
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
    apply_results([edit_one(target)])
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

    result = edit_one(repo / "sub" / "c.py", backend=FakeBackend(rewrite=rename_rewrite, during=swap))
    watched = (decoy / "c.py", tmp_path / "moved-sub" / "c.py", tmp_path / "moved-c.py")
    before = snapshot(repo, *watched)
    if swapped == "file":
        # the file's own name is looked at without following a link, so the swap is seen as soon as
        # generation ends; the write under the lock refuses it too (ApplySession.write, below)
        assert (result.status, result.reason) == ("refused", "changed on disk since it was read")
        assert apply_results([result]).files == []
    else:
        with pytest.raises(RefusedError) as caught:
            apply_results([result])
        assert caught.value.path == "sub/c.py"
    assert snapshot(repo, *watched) == before
    assert (decoy / "c.py").read_text() == CODE
    assert undo_last(repo).status == "nothing"


def test_a_file_swapped_for_a_symlink_before_the_write_is_refused_under_the_lock(repo: Path, tmp_path: Path) -> None:
    decoy = tmp_path / "decoy.py"
    decoy.write_text(CODE)
    result = edit_one(repo / "sub" / "c.py")
    (repo / "sub" / "c.py").unlink()
    (repo / "sub" / "c.py").symlink_to(decoy)
    before = snapshot(repo, decoy)
    with pytest.raises(RefusedError) as caught:
        ApplySession(find_repo(repo)).write(result)
    assert (caught.value.path, caught.value.reason) == ("sub/c.py", "is no longer a regular file (a symlink)")
    assert snapshot(repo, decoy) == before and undo_last(repo).status == "nothing"


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
    result = edit_one(repo / "a.py")
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


# A file with no write bit: the owner asked that it not change. Refused before the model runs, and
# at the write when it was made read-only meanwhile; bytes and mode as they were.


def test_a_read_only_file_is_refused_before_the_model_runs(
    repo: Path, use_backend, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    backend = FakeBackend(rewrite=rename_rewrite)
    use_backend(backend)
    (repo / "a.py").chmod(0o444)
    before = snapshot(repo)
    assert cli_main(["run", "a.py", "-m", RENAME]) == 3
    assert "a.py: refused: read-only" in capsys.readouterr().out
    assert snapshot(repo) == before and (repo / "a.py").stat().st_mode & 0o777 == 0o444
    assert backend.requests == []


def test_a_file_made_read_only_during_generation_is_not_written(repo: Path) -> None:
    result = edit_one(repo / "a.py")
    (repo / "a.py").chmod(0o444)
    before = snapshot(repo)
    with pytest.raises(RefusedError, match="made read-only since it was read"):
        apply_results([result])
    assert snapshot(repo) == before and (repo / "a.py").stat().st_mode & 0o777 == 0o444
    assert undo_last(repo).status == "nothing"


def test_undo_leaves_a_file_made_read_only_after_the_apply(repo: Path) -> None:
    apply_results([edit_one(repo / "a.py")])
    (repo / "a.py").chmod(0o444)
    before = snapshot(repo)
    report = undo_last(repo)
    assert report.status == "refused" and "made read-only" in " ".join(why for _, why in report.refused)
    assert snapshot(repo) == before and (repo / "a.py").stat().st_mode & 0o777 == 0o444
