"""Real edits from a repository's history: commits that change exactly one Python file, with the
commit subject as the instruction.

Reads history through the ``git`` command line; knows nothing about models. Commits whose file
does not parse before and after, or whose prompt + target exceeds the token cap, are skipped.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from fastapply.train.dataset import Example, encode, seam_ok
from fastapply.train.edit_common import Edit, parses


class GitHistoryError(ValueError):
    """The path is not a readable git repository."""


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise GitHistoryError(f"git {' '.join(args[:2])} failed in {str(repo)!r}: {proc.stderr.strip()}")
    return proc.stdout


def real_edits(repo: Path, max_commits: int = 5000) -> list[Edit]:
    """One ``Edit`` per non-merge commit that modifies exactly one ``.py`` file (and nothing else)."""
    log = _git(repo, "log", "--no-merges", f"-n{max_commits}", "--format=%x00%H%x01%s", "--name-status")
    edits: list[Edit] = []
    for record in log.split("\x00")[1:]:
        head, _, files = record.partition("\n")
        sha, _, subject = head.partition("\x01")
        changed = [line.split("\t") for line in files.strip().splitlines() if line.strip()]
        if len(changed) != 1 or changed[0][0] != "M" or not changed[0][-1].endswith(".py"):
            continue
        path = changed[0][-1]
        try:
            before = _git(repo, "show", f"{sha}^:{path}")
            after = _git(repo, "show", f"{sha}:{path}")
        except GitHistoryError:
            continue
        if before != after and subject.strip() and parses(before) and parses(after):
            edits.append(Edit(kind="real", instruction=subject.strip(), before=before, after=after, path=path))
    return edits


def real_examples(tokenizer: Any, repo: Path, max_tokens: int = 1536) -> list[Example]:
    """Encoded real edits that fit ``max_tokens``."""
    out = []
    for edit in real_edits(repo):
        ex = encode(tokenizer, edit)
        if len(ex.ids) <= max_tokens and seam_ok(tokenizer, edit):
            out.append(ex)
    return out
