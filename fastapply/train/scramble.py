"""Scramble a source's identifiers: every user-chosen name is replaced, consistently, by a random
one, while keywords, builtins, strings and layout stay. The result still parses.

Why: on real code a small model can lower its loss a long way with n-gram statistics alone and
is slow to learn to copy from the prompt; on scrambled names only copying predicts the target,
so mixing scrambled sources in teaches copying in far fewer steps. Knows nothing about edits.
"""

from __future__ import annotations

import builtins
import io
import keyword
import random
import tokenize

from fastapply.train.edit_common import VERBS, WORDS

_KEEP = set(keyword.kwlist) | set(keyword.softkwlist) | set(dir(builtins)) | {"self", "cls"}
_SYLLABLES = "ka lo mi ru ze ta vo pe ni su ga ho bi".split()


def _random_name(rng: random.Random) -> str:
    how = rng.random()
    if how < 0.5:
        words = rng.sample(WORDS + VERBS, rng.randint(1, 3))
    elif how < 0.8:
        words = ["".join(rng.choices(_SYLLABLES, k=rng.randint(2, 3))) for _ in range(rng.randint(1, 2))]
    else:
        words = [rng.choice(WORDS), str(rng.randint(0, 99))]
    name = "_".join(words)
    if rng.random() < 0.15:
        name = "".join(w.capitalize() for w in words)
    return name


def scramble(text: str, rng: random.Random) -> str | None:
    """``text`` with its identifiers renamed at random, or None when it does not tokenize."""
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    mapping: dict[str, str] = {}
    used: set[str] = set()
    lines = text.splitlines(keepends=True)
    hits: list[tuple[int, int, str]] = []
    for tok in toks:
        if tok.type != tokenize.NAME or tok.string in _KEEP or tok.string.startswith("__"):
            continue
        if tok.string not in mapping:
            for _ in range(10):
                cand = _random_name(rng)
                if cand not in used and cand not in _KEEP and cand.isidentifier():
                    break
            mapping[tok.string] = cand
            used.add(cand)
        hits.append((tok.start[0] - 1, tok.start[1], tok.string))
    for row, col, old in reversed(hits):
        line = lines[row]
        lines[row] = line[:col] + mapping[old] + line[col + len(old) :]
    return "".join(lines)
