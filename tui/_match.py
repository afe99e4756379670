"""Pure matching helpers for the picker: glob patterns with ``**`` and fuzzy scores.

Paths are repository-relative POSIX strings. Nothing here touches the file system or Textual.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=64)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")  # zero or more whole directories
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif ch == "*":
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
                i += 1
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end + 1
        else:
            out.append(re.escape(ch))
            i += 1
    return re.compile("".join(out) + r"\Z")


def glob_match(pattern: str, path: str) -> bool:
    """True when ``path`` matches ``pattern``; ``*`` stays inside one directory, ``**`` spans many.

    A pattern without a slash matches the file name anywhere (as ``.gitignore`` does).
    """
    pattern = pattern.strip().lstrip("/")
    if not pattern:
        return False
    if "/" not in pattern:
        pattern = "**/" + pattern
    return _glob_regex(pattern).match(path) is not None


def glob_filter(pattern: str, paths: Iterable[str]) -> list[str]:
    return [path for path in paths if glob_match(pattern, path)]


def fuzzy_score(query: str, candidate: str) -> float:
    """Score how well ``query``'s characters appear in order in ``candidate``; 0 means no match.

    Consecutive characters and characters at the start of a path part or of the file name count
    more, so ``apy`` prefers ``app.py`` over ``a/long/path.py``.
    """
    query = query.lower().replace(" ", "")
    if not query:
        return 1.0
    text = candidate.lower()
    name_start = text.rfind("/") + 1
    score = 0.0
    pos = -1
    run = 0
    for ch in query:
        found = text.find(ch, pos + 1)
        if found == -1:
            return 0.0
        run = run + 1 if found == pos + 1 else 0
        bonus = 1.0 + run
        if found == 0 or text[found - 1] in "/_-. ":
            bonus += 2.0
        if found >= name_start:
            bonus += 1.0
        score += bonus
        pos = found
    return score / (1 + 0.01 * len(text))


def fuzzy_rank(query: str, candidates: Iterable[str], *, limit: int = 50) -> list[str]:
    """The best ``limit`` matches, best first; ties keep the input order."""
    scored = [(fuzzy_score(query, c), i, c) for i, c in enumerate(candidates)]
    scored = [item for item in scored if item[0] > 0]
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [c for _, _, c in scored[:limit]]
