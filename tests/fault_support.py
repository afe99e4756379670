"""What the fault-injection tests share: a repository, an edit, and a byte snapshot to compare.

Every fault test takes a snapshot of the repository (the bytes of every work-tree file,
``.git/index``, the staged entries, HEAD, and any file outside the tree the test aims at) before
the fault and compares it after: what must not change is byte-identical, and what fastapply wrote
is exactly the rewrite.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import FakeBackend, git, make_repo, rename_rewrite

from fastapply.edit import EditRequest, EditResult, edit_file

RENAME = "Rename the function add to plus."
CODE = "def add(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n"
RENAMED = CODE.replace("add", "plus").encode()


def edit_one(path: Path, instruction: str = RENAME, backend: FakeBackend | None = None) -> EditResult:
    backend = backend or FakeBackend(rewrite=rename_rewrite)
    return edit_file(backend, EditRequest(str(path), instruction))


def head_of(repo: Path) -> str:
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
        "head": head_of(repo),
        "outside": {str(p): p.read_bytes() if p.exists() else None for p in outside},
    }


def written_files(before: dict[str, object], after: dict[str, object]) -> dict[str, bytes]:
    """The work-tree files whose bytes differ between two snapshots."""
    old, new = before["files"], after["files"]
    assert isinstance(old, dict) and isinstance(new, dict)
    return {k: new.get(k) for k in set(old) | set(new) if old.get(k) != new.get(k)}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"a.py": CODE, "b.py": CODE, "sub/c.py": CODE})
