"""The git side of fastapply, through GitPython: find the repository, list its files, commit.

Works from any subdirectory and in linked worktrees (whose git dir is ``.git/worktrees/<name>``).
Committing is opt-in, commits only the paths given (``git commit --only``), runs the repository's
hooks, adds a trailer naming fastapply, and leaves the index exactly as it was when git refuses.
Nothing here resets, stashes, checks out or passes ``--no-verify``. Paths are handed to git as
literal pathspecs, so a file named ``a[1].py`` is that file and no glob.

This module does not read or write file contents; ``fastapply.files`` does.
"""

from __future__ import annotations

import os
import subprocess
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


class GitUnavailable(UsageError):
    """GitPython cannot be imported here, or cannot run the git executable."""


def git_module():  # -> the git package; GitPython imported lazily to keep start-up light
    """GitPython, or ``GitUnavailable`` with what it said (it refuses to import without git)."""
    try:
        import git
    except ImportError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GitUnavailable(f"git is not available ({first}); fastapply edits files through git: "
                             "install git, or point GIT_PYTHON_GIT_EXECUTABLE at it") from None
    return git


def work_tree_root(path: Path) -> Path | None:
    """The nearest folder at or above ``path`` (a file or a folder) holding a ``.git`` entry (what
    git would find, ignoring its environment overrides): for reading configuration where git cannot run."""
    start = path.resolve()
    if not start.is_dir():
        start = start.parent
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _git(path: Path):  # -> git.Repo
    git = git_module()
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
    return bool(g.git.diff("--name-only", "--", *_literal([path])).strip())


def index_locked(repo: RepoInfo) -> bool:
    return (repo.git_dir / "index.lock").exists()


_OPERATIONS = (
    ("MERGE_HEAD", "merge"),
    ("CHERRY_PICK_HEAD", "cherry-pick"),
    ("REVERT_HEAD", "revert"),
    ("rebase-merge", "rebase"),
    ("rebase-apply", "rebase"),
)


def operation_in_progress(repo: RepoInfo) -> str | None:
    """The merge, rebase, cherry-pick or revert git is in the middle of, or None."""
    for name, what in _OPERATIONS:
        if (repo.git_dir / name).exists():
            return what
    return None


def _literal(paths: list[str]) -> list[str]:
    return [f":(literal){p}" for p in paths]


def _plain_git(repo: RepoInfo, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=repo.root, input=stdin, capture_output=True)


def uncommitted_changes(
    repo: RepoInfo, paths: list[str], *, before: dict[str, bytes | None] | None = None
) -> list[tuple[str, str]]:
    """``(path, why)`` for each path a commit would carry changes of the user's in.

    Without ``before`` the work tree is judged as it is now (staged changes, unstaged changes, not
    in HEAD). With ``before`` (the bytes each file held before fastapply wrote it) the index is
    judged against HEAD and those bytes against HEAD's blob, so the check holds after the write.
    """
    if repo.head is None:
        return [(p, "is not committed yet") for p in paths]
    if before is None:
        return _status_problems(repo, paths)
    staged = set(_plain_git(repo, "diff", "--cached", "--name-only", "-z", "--", *_literal(paths)).stdout.decode().split("\0"))
    problems = []
    for path in paths:
        head_blob = _plain_git(repo, "rev-parse", "-q", "--verify", f"HEAD:{path}").stdout.decode().strip()
        data = before.get(path)
        if not head_blob:
            problems.append((path, "is not committed yet"))
        elif path in staged:
            problems.append((path, "has staged changes"))
        elif data is None:
            problems.append((path, "has no saved copy of its bytes before the apply"))
        elif _plain_git(repo, "hash-object", "--stdin", f"--path={path}", stdin=data).stdout.decode().strip() != head_blob:
            problems.append((path, "held changes of yours before fastapply wrote it"))
    return problems


def _status_problems(repo: RepoInfo, paths: list[str]) -> list[tuple[str, str]]:
    raw = _plain_git(
        repo, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=matching", "--no-renames",
        "--", *_literal(paths),
    ).stdout.decode("utf-8", "surrogateescape")
    found: dict[str, str] = {}
    for entry in raw.split("\0"):
        if len(entry) < 4:
            continue
        xy, name = entry[:2], entry[3:]
        if xy == "??" or xy[0] == "A":
            found[name] = "is not committed yet"
        elif xy == "!!":
            found[name] = "is ignored by git"
        elif "U" in xy or xy in ("DD", "AA"):
            found[name] = "has unresolved conflicts"
        elif xy[0] != " " and xy[1] != " ":
            found[name] = "has staged and unstaged changes"
        elif xy[0] != " ":
            found[name] = "has staged changes"
        else:
            found[name] = "has unstaged changes"
    return [(p, found[p]) for p in paths if p in found]


def _index_entries(repo: RepoInfo, paths: list[str]) -> dict[str, list[str]]:
    raw = _plain_git(repo, "ls-files", "-s", "-z", "--", *_literal(paths)).stdout.decode("utf-8", "surrogateescape")
    entries: dict[str, list[str]] = {}
    for line in raw.split("\0"):
        if "\t" in line:
            entries.setdefault(line.split("\t", 1)[1], []).append(line)
    return entries


def _restore_index(repo: RepoInfo, paths: list[str], saved: dict[str, list[str]]) -> None:
    """Put the index entries of ``paths`` back as ``saved`` (entries absent there are removed)."""
    if _index_entries(repo, paths) == saved:
        return
    width = max((len(line.split()[1]) for lines in saved.values() for line in lines), default=40)
    lines = []
    for path in paths:
        lines.extend(saved.get(path) or [f"0 {'0' * width}\t{path}"])
    stdin = "".join(f"{line}\0" for line in lines).encode("utf-8", "surrogateescape")
    _plain_git(repo, "update-index", "-z", "--index-info", stdin=stdin)


def commit(repo: RepoInfo, paths: list[str], message: str) -> str:
    """Commit exactly ``paths`` as the work tree holds them, running hooks; the new commit's sha.

    Only paths git does not track yet are staged first; tracked ones go through ``git commit
    --only``, which leaves other staged work alone. When git refuses, every index entry of
    ``paths`` is put back as it was.

    Raises:
        RefusedError: the index is locked by another git process, or git refused the commit (a hook
            failed, a merge in progress...), with its message.
    """
    git = git_module()

    if index_locked(repo):
        raise RefusedError(f"{repo.git_dir / 'index.lock'} exists: another git process is running")
    g = _git(repo.root)
    body = message.rstrip() + "\n\n" + TRAILER + "\n"
    saved = _index_entries(repo, paths)
    untracked = [p for p in paths if p not in saved]
    try:
        if untracked:
            g.git.add("--", *_literal(untracked))
        g.git.commit("-m", body, "--only", "--", *_literal(paths))
    except git.GitCommandError as exc:
        _restore_index(repo, paths, saved)
        detail = (exc.stderr or exc.stdout or "").strip().removeprefix("stderr:").strip(" '\n")
        raise RefusedError(f"git commit failed: {detail}") from None
    return g.head.commit.hexsha
