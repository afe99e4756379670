"""Edit-dense windows: the instruction, a slice of the file around some edit sites, and that slice's
rewrite, sized so the edited tokens are a real share of the targets (issue 18).

A whole-file example of a rename is mostly copying: edited tokens are about 0.5% of the targets.
A window keeps a run of consecutive changed hunks with a few lines of context on each side, so the
same edit is 5-20% of what the model is asked to write. Inside one window the ground truth is still
exact: every changed line of the slice comes from the full edit, lines outside it are not shown.
Knows edits, the prompt contract and token counts; knows nothing about models or training.
"""

from __future__ import annotations

import difflib
import random
from dataclasses import dataclass, replace
from typing import Any

from fastapply.train.dataset import Example, Seam, edited_targets, encode, seam_ok
from fastapply.train.edit_common import Edit

Hunk = tuple[int, int, int, int]  # before lines [i1, i2) became after lines [j1, j2)


@dataclass(frozen=True, slots=True)
class WindowConfig:
    min_tokens: int = 128  # prompt + target, the whole example
    max_tokens: int = 512
    min_edited_share: float = 0.05  # edited target tokens / target tokens
    max_edited_share: float = 0.20
    context_lines: int = 1  # at most this many unchanged lines on each side of the hunks (drawn 0..n)
    max_hunks: int = 6  # consecutive changed hunks one window may hold


@dataclass(slots=True)
class Window:
    """One encoded window and how edit-dense it is."""

    example: Example
    edit: Edit  # the slice as an edit of its own (before and after are the slice's lines)
    edited: int  # target tokens a verbatim copy of the slice would get wrong
    targets: int

    @property
    def edited_share(self) -> float:
        return self.edited / self.targets if self.targets else 0.0


def changed_hunks(before: str, after: str) -> list[Hunk]:
    """Line ranges that differ between ``before`` and ``after``, in file order."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    ops = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
    return [(i1, i2, j1, j2) for op, i1, i2, j1, j2 in ops if op != "equal"]


def slice_edit(edit: Edit, hunks: list[Hunk], context_lines: int) -> Edit:
    """The edit restricted to ``hunks`` (consecutive, from ``changed_hunks``) plus context lines.

    Lines between and around the chosen hunks are unchanged, so the before and after slices line
    up: the same number of context lines precede the first hunk on both sides.
    """
    a, b = edit.before.splitlines(keepends=True), edit.after.splitlines(keepends=True)
    first, last = hunks[0], hunks[-1]
    lead = min(context_lines, first[0], first[2])
    trail = min(context_lines, len(a) - last[1], len(b) - last[3])
    before = "".join(a[first[0] - lead : last[1] + trail])
    after = "".join(b[first[2] - lead : last[3] + trail])
    return replace(edit, before=before, after=after, meta={**edit.meta, "window": f"{first[0] - lead}"})


def measure(tokenizer: Any, seam: Seam, edit: Edit) -> Window:
    ex = encode(tokenizer, edit)
    edited = len(edited_targets(ex, seam))
    return Window(example=ex, edit=edit, edited=edited, targets=len(ex.ids) - ex.prompt_len)


def fits(window: Window, config: WindowConfig) -> bool:
    n = len(window.example.ids)
    share = window.edited_share
    return (config.min_tokens <= n <= config.max_tokens
            and config.min_edited_share <= share <= config.max_edited_share)


def windows_of(tokenizer: Any, edit: Edit, config: WindowConfig, rng: random.Random,
               seam: Seam | None = None, limit: int = 2) -> list[Window]:
    """Up to ``limit`` windows of ``edit`` that satisfy ``config``; no hunk is used twice.

    Each window starts at a random unused hunk and takes up to ``max_hunks`` consecutive hunks,
    dropping hunks from its end while the window is over ``max_tokens``.
    """
    seam = seam or Seam.of(tokenizer)
    hunks = changed_hunks(edit.before, edit.after)
    starts = list(range(len(hunks)))
    rng.shuffle(starts)
    used: set[int] = set()
    out: list[Window] = []
    for start in starts:
        if len(out) >= limit:
            break
        if start in used:
            continue
        count = min(config.max_hunks, len(hunks) - start, 1 + rng.randrange(config.max_hunks))
        while count > 0 and any(k in used for k in range(start, start + count)):
            count -= 1
        while count > 0:
            piece = slice_edit(edit, hunks[start : start + count], rng.randint(0, config.context_lines))
            if not piece.before.strip() or not seam_ok(tokenizer, piece):
                break
            window = measure(tokenizer, seam, piece)
            if len(window.example.ids) > config.max_tokens:
                count -= 1
                continue
            if fits(window, config):
                out.append(window)
                used.update(range(start, start + count))
            break
    return out
