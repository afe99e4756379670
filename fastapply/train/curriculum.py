"""The curriculum of issue 18: phases of edit kinds, easiest first, each with its own windows.

Phase 1 renames names that are one token to names that are one token; phase 2 renames module-level
names of several tokens; phase 3 renames inside one function (parameters, locals); then the other
edit kinds one at a time. A phase draws its edits from real source chunks and keeps them as
edit-dense windows (``windows.py``). Knows edit generators, tokens and the phase table; knows
nothing about models.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapply.train.dataset import GENERATORS
from fastapply.train.edit_common import WORDS, Edit, identifiers
from fastapply.train.edit_rename import make_rename, rename_tokens
from fastapply.train.sources import Source
from fastapply.train.windows import Window, WindowConfig, windows_of

Drawer = Callable[[random.Random, Source, Any], "Edit | None"]

MODULE_RENAMES = ("rename-function", "rename-method", "rename-class")
SCOPED_RENAMES = ("rename-parameter", "rename-variable")


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    kinds: tuple[str, ...]  # Edit.kind values the phase keeps
    single_token: bool = False  # old and new names are one token each


PHASES: tuple[Phase, ...] = (
    Phase("rename-single", (*MODULE_RENAMES, *SCOPED_RENAMES), single_token=True),
    Phase("rename-multi", MODULE_RENAMES),
    Phase("rename-scoped", SCOPED_RENAMES),
    Phase("add-import", ("add-import",)),
    Phase("remove-import", ("remove-import",)),
    Phase("delete-function", ("delete-function",)),
    Phase("docstring", ("add-docstring", "replace-docstring")),
    Phase("literal", ("literal",)),
    Phase("remove-prints", ("remove-prints",)),
    Phase("insert-statement", ("insert-statement",)),
    Phase("snippet-merge", ("snippet-merge",)),
)


def phase(name: str) -> Phase:
    for p in PHASES:
        if p.name == name:
            return p
    raise ValueError(f"unknown phase {name!r}; choose from {[p.name for p in PHASES]}")


def phases_from(name: str) -> tuple[Phase, ...]:
    """``name`` and every later phase, in curriculum order."""
    start = PHASES.index(phase(name))
    return PHASES[start:]


def is_single_token(tokenizer: Any, name: str) -> bool:
    """``name`` is one token both at the start of a line and after a space."""
    return all(len(tokenizer.encode(text, add_special_tokens=False)) == 1 for text in (name, " " + name))


def single_token_rename(rng: random.Random, source: Source, tokenizer: Any) -> Edit | None:
    """A rename whose old name is one token, re-targeted to a new one-token word."""
    for _ in range(8):
        edit = make_rename(rng, source.text, source.path.split(":")[0], accept=lambda n: is_single_token(tokenizer, n))
        if edit is None:
            return None  # the file has no one-token name to rename
        taken = identifiers(source.text)
        fresh = next((w for w in rng.sample(WORDS, len(WORDS)) if w not in taken and is_single_token(tokenizer, w)), None)
        if fresh is None:
            return None
        old, new, target = edit.meta["old"], edit.meta["new"], fresh
        if edit.meta["old"][:1].isupper():
            target = target.capitalize()
            if not is_single_token(tokenizer, target) or target in taken:
                continue
        # ``new`` never occurs in the original, so every one of its tokens in ``after`` is a rename
        after = rename_tokens(edit.after, new, target)
        instruction = edit.instruction.replace(new, target)
        return Edit(kind=edit.kind, instruction=instruction, before=edit.before, after=after, path=edit.path,
                    meta={**edit.meta, "old": old, "new": target, "what": edit.meta["what"]})
    return None


def _generator_for(p: Phase) -> Drawer:
    if p.single_token:
        return single_token_rename
    key = "rename" if p.kinds[0].startswith("rename") else ("docstring" if "docstring" in p.kinds[0] else p.kinds[0])
    make = GENERATORS[key]
    return lambda rng, source, tokenizer: make(rng, source.text, source.path.split(":")[0])


def phase_edits(p: Phase, sources: Iterable[Source], rng: random.Random, tokenizer: Any,
                tries: int = 3) -> Iterator[Edit]:
    """Edits of the phase's kinds over ``sources`` (up to ``tries`` draws per source)."""
    draw = _generator_for(p)
    for source in sources:
        for _ in range(tries):
            edit = draw(rng, source, tokenizer)
            if edit is not None and edit.kind in p.kinds:
                yield edit
                break


def phase_windows(p: Phase, sources: Iterable[Source], rng: random.Random, tokenizer: Any,
                  config: WindowConfig, per_edit: int = 2) -> Iterator[Window]:
    """Edit-dense windows of the phase's edits."""
    for edit in phase_edits(p, sources, rng, tokenizer):
        yield from windows_of(tokenizer, edit, config, rng, limit=per_edit)
