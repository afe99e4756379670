"""Real edits from a repository's history for training: commits that change exactly one Python
file, with the commit subject as the instruction.

The mining itself is ``fastapply.history.mine_git`` (the bench's too); this module keeps
the edits that parse before and after and whose prompt + target fits the token cap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapply.history import mine_git
from fastapply.train.dataset import Example, encode, seam_ok
from fastapply.train.edit_common import Edit, parses


def real_edits(repo: Path, max_commits: int = 5000) -> list[Edit]:
    """One ``Edit`` per non-merge commit that modifies exactly one ``.py`` file (and nothing else).

    Raises:
        ValueError: ``repo`` is not a git repository.
    """
    cases = mine_git(repo, "HEAD", min_lines=0, max_lines=None, max_changed=None, max_commits=max_commits)
    return [
        Edit(kind="real", instruction=c.instruction, before=c.before, after=c.after, path=c.path)
        for c in cases
        if parses(c.before) and parses(c.after)
    ]


def real_examples(tokenizer: Any, repo: Path, max_tokens: int = 1536) -> list[Example]:
    """Encoded real edits that fit ``max_tokens``."""
    out = []
    for edit in real_edits(repo):
        ex = encode(tokenizer, edit)
        if len(ex.ids) <= max_tokens and seam_ok(tokenizer, edit):
            out.append(ex)
    return out
