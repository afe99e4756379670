"""The git side of fastapply, through GitPython: find the repository, list its files, commit.

Works from any subdirectory and in linked worktrees (whose git dir is ``.git/worktrees/<name>``).
Committing is opt-in, stages only the paths given, runs the repository's hooks and adds a trailer
naming fastapply. Nothing here resets, stashes, checks out or passes ``--no-verify``.

This module does not read or write file contents; ``fastapply.files`` does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fastapply.errors import RefusedError, UsageError
from fastapply.files import DEFAULT_MAX_BYTES, SNIFF_BYTES, looks_binary

TRAILER = "Co-authored-by: fastapply <fastapply@users.noreply.invalid>"


@dataclass(slots=True)
class RepoInfo:
    root: Path  # the work tree, real path
    git_dir: Path  # this work tree's git dir (per worktree)
    head: str | None  # commit sha, or None in a repository without commits
    common_dir: Path | None = None  # shared git dir of all worktrees
    branch: str | None = None  # None when HEAD is detached

    @property
    def detached(self) -> bool:
        return self.head is not None and self.branch is None


@dataclass(slots=True)
class RepoFile:
    path: str  # repo-relative, "/" separated
    status: str  # "modified", "staged", "new" or "clean"
    size: int
    binary: bool
    too_large: bool


def _git(path: Path):  # -> git.Repo; GitPython imported lazily to keep start-up light
    import git

    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(f"not inside a git repository: {path}") from None


def find_repo(path: str | os.PathLike[str] = ".") -> RepoInfo:
    """The repository holding ``path`` (a file or directory, at any depth).

    Raises:
        UsageError: ``path`` is not inside a git work tree.
    """
    start = Path(path).resolve()
    if not start.is_dir():
        start = start.parent
    repo = _git(start)
    if repo.bare or repo.working_tree_dir is None:
        raise UsageError(f"bare repository has no work tree: {repo.git_dir}")
    try:
        head: str | None = repo.head.commit.hexsha
    except ValueError:
        head = None
    branch = None if repo.head.is_detached else repo.head.ref.name
    return RepoInfo(
        root=Path(os.path.realpath(repo.working_tree_dir)),
        git_dir=Path(os.path.realpath(repo.git_dir)),
        head=head,
        common_dir=Path(os.path.realpath(repo.common_dir)),
        branch=branch,
    )


def _status_map(repo: RepoInfo) -> dict[str, str]:
    raw = _git(repo.root).git.status("--porcelain=v1", "-z", "--untracked-files=all", "--no-renames")
    out: dict[str, str] = {}
    for entry in raw.split("\0"):
        if len(entry) < 4:
            continue
        xy, name = entry[:2], entry[3:]
        if xy == "??" or "A" in xy:
            out[name] = "new"
        elif "D" in xy:
            out[name] = "deleted"
        elif xy[1] != " ":
            out[name] = "modified"
        else:
            out[name] = "staged"
    return out


def list_files(repo: RepoInfo, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[RepoFile]:
    """Tracked files plus untracked files git does not ignore, sorted by path."""
    g = _git(repo.root)
    tracked = [p for p in g.git.ls_files("-z").split("\0") if p]
    status = _status_map(repo)
    names = sorted(set(tracked) | {p for p, s in status.items() if s == "new"})
    files: list[RepoFile] = []
    for name in names:
        kind = status.get(name, "clean")
        full = repo.root / name
        if kind == "deleted" or not full.is_file():
            continue  # deleted in the work tree, a submodule, or a dangling link
        size = full.stat().st_size
        with full.open("rb") as handle:
            binary = looks_binary(handle.read(SNIFF_BYTES))
        files.append(RepoFile(name, kind, size, binary, size > max_bytes))
    return files


def staged_files(repo: RepoInfo) -> list[str]:
    """Paths added, copied, modified or renamed in the index (honours ``GIT_INDEX_FILE``)."""
    g = _git(repo.root)
    args = ["--cached", "--name-only", "-z", "--diff-filter=ACMR"]
    if repo.head is None:
        args.append("4b825dc642cb6eb9a060e54bf8d69288fbee4904")  # the empty tree
    return [p for p in g.git.diff(*args).split("\0") if p]


def has_unstaged_changes(repo: RepoInfo, path: str) -> bool:
    """Whether the work tree copy of ``path`` differs from the index."""
    g = _git(repo.root)
    return bool(g.git.diff("--name-only", "--", path).strip())


def index_locked(repo: RepoInfo) -> bool:
    return (repo.git_dir / "index.lock").exists()


def commit(repo: RepoInfo, paths: list[str], message: str) -> str:
    """Stage ``paths`` and commit only them, running hooks; return the new commit's sha.

    Raises:
        RefusedError: the index is locked by another git process.
        UsageError: git refused the commit (a hook failed, nothing to commit...), with its message.
    """
    import git

    if index_locked(repo):
        raise RefusedError(f"{repo.git_dir / 'index.lock'} exists: another git process is running")
    g = _git(repo.root)
    body = message.rstrip() + "\n\n" + TRAILER + "\n"
    try:
        g.git.add("--", *paths)
        g.git.commit("-m", body, "--", *paths)
    except git.GitCommandError as exc:
        detail = (exc.stderr or exc.stdout or "").strip().removeprefix("stderr:").strip(" '\n")
        raise UsageError(f"git commit failed: {detail}") from None
    return g.head.commit.hexsha
