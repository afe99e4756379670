"""Held-out renames sorted by how the names tokenize, for measuring the wired rename path.

``rename_prior`` reads one-token names in the instruction forms "OLD to NEW" and "OLD -> NEW". The
generic held-out renames mostly rename multi-token names in other wordings, so they cannot tell
whether the path works. These edits take whole held-out files, rename a function (or any name used
several times) whose name is one token, to a one-token word the file does not use, and tag the kind
by what the model has to do:

- ``rename-1tok``: every use of the name in the file is spelled with its leading space (``def add``,
  `` add(``), so it is the same token as in the instruction;
- ``rename-1tok-attached``: some uses follow ``.``, ``(`` or indentation and so are another token;
- ``rename-multitok-new``: the old name is one token, the new one two or more.

Ground truth comes from ``edit_rename.rename_tokens``. Knows tokenizers and edits; not models.
"""

from __future__ import annotations

import io
import random
import tokenize
from collections import Counter
from typing import Any

from fastapply.train.edit_common import WORDS, Edit, identifiers, is_plain_name, parses
from fastapply.train.edit_rename import name_tokens, rename_tokens

WORDINGS = (  # the two forms the wired path reads, in phrasings the training data never used
    "Please change {old} to {new} everywhere in this file.",
    "{old} -> {new}",
    "Rename the function {old} to {new}.",
    "rename {old} -> {new} throughout",
)


def _one_token(tokenizer: Any, name: str) -> bool:
    return len(tokenizer.encode(" " + name, add_special_tokens=False)) == 1


def _uses(text: str, name: str) -> list[tuple[int, int]]:
    return [t.start for t in tokenize.generate_tokens(io.StringIO(text).readline)
            if t.type == tokenize.NAME and t.string == name]


def _all_spaced(text: str, name: str) -> bool:
    lines = text.splitlines()
    return all(col > 0 and lines[row - 1][col - 1] == " " and lines[row - 1][:col].strip() != ""
               for row, col in _uses(text, name))


def token_renames(tokenizer: Any, texts: list[tuple[str, str]], per_kind: int, seed: int = 0) -> list[Edit]:
    """Up to ``per_kind`` edits of each kind above, from ``(path, text)`` pairs of held-out files."""
    rng = random.Random(seed)
    one_token_words = [w for w in WORDS if _one_token(tokenizer, w)]
    two_token_words = [w for w in WORDS if not _one_token(tokenizer, w)]
    got: Counter[str] = Counter()
    out: list[Edit] = []
    for path, text in texts:
        try:
            counts = Counter(name_tokens(text))
        except (tokenize.TokenError, IndentationError, SyntaxError):
            continue
        taken = identifiers(text)
        names = sorted(n for n, k in counts.items() if k >= 3 and is_plain_name(n) and len(n) > 2
                       and _one_token(tokenizer, n))
        rng.shuffle(names)
        for old in names:
            multi = got["rename-multitok-new"] < per_kind and rng.random() < 0.3
            kind = "rename-multitok-new" if multi else ("rename-1tok" if _all_spaced(text, old) else "rename-1tok-attached")
            if got[kind] >= per_kind:
                continue
            pool = [w for w in (two_token_words if multi else one_token_words) if w not in taken and w not in text]
            if not pool:
                continue
            new = rng.choice(pool)
            after = rename_tokens(text, old, new)
            if after == text or not parses(after):
                continue
            instruction = rng.choice(WORDINGS).format(old=old, new=new)
            out.append(Edit(kind=kind, instruction=instruction, before=text, after=after, path=path,
                            meta={"old": old, "new": new}))
            got[kind] += 1
            break
        if len(got) == 3 and min(got.values()) >= per_kind:
            break
    return out
