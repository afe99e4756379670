"""Edits from a repository's history: commits that modify exactly one text file.

Added or removed files disqualify a commit; the commit subject is the instruction and the file
before and after is the edit. The bench (``fastapply bench --from-git``) and training both mine
through here. It reads the repository through the ``git`` command and writes nothing.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(slots=True)
class HistoryEdit:
    path: str
    instruction: str
    before: str
    after: str


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ValueError(f"git {' '.join(args[:2])} failed in {str(repo)!r}: {result.stderr.strip()}")
    return result.stdout


def _show(repo: Path, rev: str, path: str) -> str | None:
    """A file's text at ``rev``; None when it is absent there, binary or not UTF-8."""
    result = subprocess.run(["git", "-C", str(repo), "show", f"{rev}:{path}"], capture_output=True, check=False)
    if result.returncode != 0 or b"\0" in result.stdout:
        return None
    try:
        return result.stdout.decode("utf-8")
    except UnicodeDecodeError:
        return None


def mine_git(
    repo: str | Path,
    rev_range: str = "HEAD",
    *,
    min_lines: int = 100,
    max_lines: int | None = 400,
    max_changed: float | None = 0.15,
    suffixes: tuple[str, ...] = (".py",),
    max_commits: int | None = None,
) -> list[HistoryEdit]:
    """Edits from a repository's history: one modified text file per commit, sizes filtered.

    ``max_changed`` bounds the share of the file's lines that the commit added or removed;
    ``None`` for ``max_lines`` or ``max_changed`` turns that filter off.

    Raises:
        ValueError: ``repo`` is not a git repository or ``rev_range`` is not a valid range.
    """
    repo = Path(repo)
    limit = [f"-n{max_commits}"] if max_commits else []
    log = _git(repo, "log", "--no-merges", *limit, "--numstat", "--format=%x00%H%x01%s",
               "--end-of-options", rev_range)  # a range such as --output=FILE is not an option
    edits: list[HistoryEdit] = []
    for record in log.split("\0")[1:]:
        head, _, stat = record.partition("\n")
        sha, _, subject = head.partition("\x01")
        rows = [row.split("\t") for row in stat.splitlines() if row.strip()]
        if len(rows) != 1 or rows[0][0] == "-" or not rows[0][2].endswith(suffixes):
            continue  # several files, a binary file, or another language
        added, removed, path = int(rows[0][0]), int(rows[0][1]), rows[0][2]
        # An added file (or a root commit) has no "before": _show returns None.
        before, after = _show(repo, f"{sha}^", path), _show(repo, sha, path)
        if before is None or after is None or before == after or not subject.strip():
            continue
        lines = before.count("\n")
        if lines < min_lines or (max_lines is not None and lines > max_lines):
            continue
        if max_changed is not None and added + removed > max_changed * lines:
            continue
        edits.append(HistoryEdit(path=path, instruction=subject.strip(), before=before, after=after))
    return edits
