"""Rename edits: a function, method, class, variable or parameter, with every use renamed.

Ground truth comes from ``tokenize``: every NAME token equal to the old name inside the scope
(the whole file, or one function for locals and parameters) is replaced, strings and comments
are left alone. The new name never occurs in the original, so renaming back restores it byte for
byte. Knows nothing about tokens of a model.
"""

from __future__ import annotations

import ast
import io
import random
import tokenize
from collections.abc import Callable

from fastapply.train.edit_common import (
    Edit,
    describe_function,
    functions,
    identifiers,
    is_plain_name,
    new_name,
    parses,
)


KIND_WEIGHTS = {"rename-function": 0.3, "rename-method": 0.25, "rename-class": 0.1,
                "rename-variable": 0.15, "rename-parameter": 0.2}


def rename_tokens(text: str, old: str, new: str, first_line: int = 1, last_line: int | None = None) -> str:
    """Replace NAME tokens ``old`` by ``new`` on lines ``first_line..last_line`` (1-based)."""
    lines = text.splitlines(keepends=True)
    hits: list[tuple[int, int]] = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.NAME and tok.string == old:
            row, col = tok.start
            if row >= first_line and (last_line is None or row <= last_line):
                hits.append((row - 1, col))
    for row, col in reversed(hits):
        line = lines[row]
        lines[row] = line[:col] + new + line[col + len(old) :]
    return "".join(lines)


def name_tokens(text: str) -> list[str]:
    """The NAME tokens of ``text``, in order (raises ``tokenize.TokenError`` on broken text)."""
    return [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.NAME]


def _phrase(rng: random.Random, what: str, old: str, new: str) -> str:
    return rng.choice(
        [
            f"Rename {what} to `{new}`.",
            f"Rename {what} to {new} and update all its uses.",
            f"Change the name of {what} to `{new}`",
            f"rename {old} -> {new}",
            f"Please call {what} `{new}` instead of `{old}`.",
            f"{old} should be named {new}; rename it everywhere in this file.",
            f"Use the name `{new}` for {what}.",
        ]
    )


def make_rename(rng: random.Random, text: str, path: str = "",
                accept: Callable[[str], bool] | None = None) -> Edit | None:
    """A rename of a name used in ``text`` (a function, method, class, parameter or variable),
    chosen among the names ``accept`` allows (all by default); None when there is none."""
    try:
        tree = ast.parse(text)
        names = name_tokens(text)
    except (SyntaxError, ValueError, tokenize.TokenError, IndentationError):
        return None
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    taken = identifiers(text)
    candidates: list[tuple[str, str, int, int | None, str]] = []  # kind, old, first, last, what

    for fn, owner in functions(tree):
        if is_plain_name(fn.name) and len(fn.name) > 2:
            kind = "rename-method" if owner else "rename-function"
            candidates.append((kind, fn.name, 1, None, describe_function(fn, owner, rng)))
        params = [a.arg for a in fn.args.args + fn.args.kwonlyargs if is_plain_name(a.arg)]
        local_names = {
            t.id for t in ast.walk(fn) if isinstance(t, ast.Name) and isinstance(t.ctx, ast.Store)
        }
        where = f"in `{fn.name}`"
        first, last = fn.lineno, fn.end_lineno
        for p in params:
            candidates.append(("rename-parameter", p, first, last, f"the parameter `{p}` {where}"))
        for v in sorted(local_names - set(params)):
            if is_plain_name(v) and len(v) > 1:
                candidates.append(("rename-variable", v, first, last, f"the variable `{v}` {where}"))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and is_plain_name(node.name):
            candidates.append(("rename-class", node.name, 1, None, f"the class `{node.name}`"))
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name) and is_plain_name(t.id) and counts.get(t.id, 0) > 1:
                    candidates.append(("rename-variable", t.id, 1, None, f"the module variable `{t.id}`"))
    # names used several times teach more than one-off names
    candidates = [c for c in candidates if counts.get(c[1], 0) >= 2 or rng.random() < 0.3]
    if accept is not None:
        candidates = [c for c in candidates if accept(c[1])]
    if not candidates:
        return None
    by_kind: dict[str, list[tuple[str, str, int, int | None, str]]] = {}
    for c in candidates:
        by_kind.setdefault(c[0], []).append(c)
    kinds = sorted(by_kind)  # draw the kind first, so rarer kinds are not drowned by locals
    chosen = rng.choices(kinds, weights=[KIND_WEIGHTS[k] for k in kinds])[0]
    kind, old, first, last, what = rng.choice(by_kind[chosen])
    new = new_name(rng, old, taken)
    if new is None:
        return None
    after = rename_tokens(text, old, new, first, last)
    if after == text or not parses(after):
        return None
    return Edit(kind=kind, instruction=_phrase(rng, what, old, new), before=text, after=after, path=path,
                meta={"old": old, "new": new, "what": what})


def unseen_wording(rng: random.Random, edit: Edit) -> str:
    """A rename instruction in phrasings the training data never uses (for held-out evaluation)."""
    old, new, what = edit.meta["old"], edit.meta["new"], edit.meta["what"]
    return rng.choice(
        [
            f"I'd like {what} to be called {new} from now on.",
            f"Could you change the identifier {old} into {new} throughout?",
            f"{old} is a poor name. Switch it to {new}.",
            f"Refactor: {old} becomes {new}.",
            f"Replace the name {old} by {new} wherever the code refers to it.",
        ]
    )
