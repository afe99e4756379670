"""Snippet merges: the instruction carries an updated function with unchanged runs elided as
"# ... existing code ...", the form chat models write; the target is the whole merged file.

The inner change comes from another generator (a literal, an inserted statement, a docstring);
the snippet is cut from the edited function around the changed lines. Knows nothing about tokens.
"""

from __future__ import annotations

import difflib
import random

from fastapply.train.edit_common import Edit, functions, node_start_line, parse_or_none
from fastapply.train.edit_simple import make_literal
from fastapply.train.edit_struct import make_docstring, make_insert

MARKER = "# ... existing code ..."
_INNER = (make_literal, make_insert, make_docstring)


def _changed_rows(before: str, after: str) -> list[int]:
    """0-based rows of ``after`` that are new or changed."""
    sm = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    rows: list[int] = []
    for op, _, _, j1, j2 in sm.get_opcodes():
        if op in ("replace", "insert"):
            rows.extend(range(j1, j2))
    return rows


def _snippet(lines: list[str], start: int, end: int, keep: set[int]) -> str:
    """Lines ``start..end`` of the function, runs outside ``keep`` replaced by one marker line."""
    out: list[str] = []
    elided = False
    for row in range(start, end):
        if row in keep:
            out.append(lines[row])
            elided = False
        elif not elided:
            text = lines[row]
            indent = text[: len(text) - len(text.lstrip())] if text.strip() else ""
            out.append(f"{indent}{MARKER}\n")
            elided = True
    return "".join(out)


def make_snippet(rng: random.Random, text: str, path: str = "") -> Edit | None:
    inner = rng.choice(_INNER)(rng, text, path)
    if inner is None:
        return None
    rows = _changed_rows(text, inner.after)
    if not rows:
        return None
    tree = parse_or_none(inner.after)
    if tree is None:
        return None
    holders = [fn for fn, _ in functions(tree)
               if node_start_line(fn) <= rows[0] and rows[-1] < (fn.end_lineno or fn.lineno)]
    if not holders:
        return None
    fn = min(holders, key=lambda f: (f.end_lineno or 0) - f.lineno)
    start, end = node_start_line(fn), fn.end_lineno or fn.lineno
    lines = inner.after.splitlines(keepends=True)
    context = rng.choice([1, 2, 3])
    keep = set(range(start, fn.body[0].lineno - 1))  # the signature, however many lines
    for r in rows:
        keep.update(range(r - context, r + context + 1))
    if end - start <= 8:
        keep = set(range(start, end))
    body = _snippet(lines, start, end, keep)
    lead = rng.choice(["Apply this edit:", "Merge this change into the file:", "Update the code like this:",
                       "Here is the updated function; apply it and keep everything else:"])
    fence = rng.random() < 0.5
    shown = f"```python\n{body}```" if fence else body.rstrip("\n")
    return Edit(kind="snippet-merge", instruction=f"{lead}\n{shown}", before=text, after=inner.after, path=path)
