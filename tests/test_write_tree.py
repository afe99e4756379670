"""The writer walks a path again from the work tree's root and replaces the file through its folder."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from fastapply.errors import RefusedError
from fastapply.writer import TreeFile


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "m.py").write_bytes(b"old\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_bytes(b"[core]\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "m.py").write_bytes(b"old\n")
    (root / "link").symlink_to(tmp_path / "outside")
    (root / "inlink").symlink_to(root / "pkg")
    (root / "pkg" / "alias.py").symlink_to(tmp_path / "outside" / "m.py")
    return root


@pytest.mark.parametrize(
    ("rel", "reason"),
    [
        ("../outside/m.py", "not a path inside the work tree"),
        ("/etc/passwd", "not a path inside the work tree"),
        ("pkg/./m.py", "not a path inside the work tree"),
        ("pkg//m.py", "not a path inside the work tree"),
        (".git/config", "inside .git/"),
        ("link/m.py", "the folder link is no longer a folder inside the work tree"),
        ("inlink/m.py", "the folder inlink is no longer a folder inside the work tree"),
        ("pkg/m.py/x", "the folder pkg/m.py is no longer a folder"),
    ],
)
def test_paths_that_leave_the_tree_or_pass_a_link_are_refused(tree: Path, rel: str, reason: str) -> None:
    with pytest.raises(RefusedError, match=reason) as caught:
        with TreeFile(tree, rel) as target:
            target.replace(b"new\n", 0o644)
    assert caught.value.path == rel
    assert (tree.parent / "outside" / "m.py").read_bytes() == b"old\n"
    assert (tree / "pkg" / "m.py").read_bytes() == b"old\n"


def test_a_file_that_became_a_link_is_not_read_through(tree: Path) -> None:
    with TreeFile(tree, "pkg/alias.py") as target, pytest.raises(RefusedError, match="regular file"):
        target.read()


def test_replace_keeps_mode_and_leaves_only_the_file(tree: Path) -> None:
    path = tree / "pkg" / "m.py"
    path.chmod(0o750)
    with TreeFile(tree, "pkg/m.py") as target:
        held = target.read()
        assert held is not None and (held.data, held.mode) == (b"old\n", 0o750)
        target.replace(b"new\n", held.mode, held.uid, held.gid)
    assert path.read_bytes() == b"new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o750
    assert sorted(os.listdir(tree / "pkg")) == ["alias.py", "m.py"]


def test_a_missing_file_reads_as_none(tree: Path) -> None:
    with TreeFile(tree, "pkg/gone.py") as target:
        assert target.read() is None
