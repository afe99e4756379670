"""The one glob dialect of fastapply: git's wildmatch rules, as in ``.gitignore`` (via ``pathspec``).

Every way of naming files by pattern uses it: ``run``/``batch`` arguments, the ``files`` and
``exclude`` of hook and check entries, and the TUI's glob picker. The rules, on ``/``-separated
paths relative to a base folder (the repository root, or the current folder on the command line):

- a pattern without a ``/`` (other than a trailing one) matches a name at any depth: ``*.py``
  matches ``a.py`` and ``pkg/deep/a.py``;
- a pattern with a ``/`` is anchored at the base: ``src/*.py`` matches ``src/a.py``, not
  ``x/src/a.py``; ``*`` never crosses a ``/``;
- ``**`` crosses folders, zero or more: ``src/**/*.py`` matches ``src/a.py`` and ``src/b/c.py``;
- a pattern that names a folder matches every file below it (``tests`` or ``tests/``).

An invalid pattern (an unclosed ``[``, an empty one, a comment, a ``!`` negation) is a
``UsageError`` naming it, never a pattern that silently matches nothing.

This module knows patterns and paths, not the file system or git.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import pathspec

from fastapply.errors import UsageError

GLOB_CHARS = frozenset("*?[")


class GlobError(UsageError):
    """A pattern that is not a valid glob."""


def is_glob(text: str) -> bool:
    """Whether ``text`` holds a glob character (``*``, ``?`` or ``[``)."""
    return bool(GLOB_CHARS & set(text))


@dataclass(frozen=True, slots=True)
class Glob:
    """One compiled pattern; ``matches`` takes a ``/``-separated path relative to the base."""

    pattern: str
    _spec: pathspec.PathSpec

    def matches(self, path: str) -> bool:
        return bool(self._spec.match_file(path))

    def select(self, paths: Iterable[str]) -> list[str]:
        """The paths that match, in their given order."""
        return [p for p in paths if self.matches(p)]


@functools.lru_cache(maxsize=512)
def compile_glob(pattern: str, *, what: str = "glob") -> Glob:
    """Compile ``pattern`` with git's wildmatch rules.

    Raises:
        GlobError: the pattern is empty, a comment, a negation, or not a valid glob; the message
        starts with ``what`` (for example ``"hook[0].files"``).
    """
    stripped = pattern.strip()
    if not stripped:
        raise GlobError(f"{what}: empty glob")
    if stripped.startswith("!"):
        raise GlobError(f"{what}: {pattern!r}: negated globs are not supported (use an exclude)")
    if stripped.startswith("#"):
        raise GlobError(f"{what}: {pattern!r} is not a glob ('#' starts a comment in git's rules)")
    if _unclosed_bracket(stripped):
        raise GlobError(f"{what}: {pattern!r} is not a valid glob: '[' without a closing ']'")
    try:
        spec = pathspec.PathSpec.from_lines("gitignore", [stripped])
    except (ValueError, IndexError) as exc:
        raise GlobError(f"{what}: {pattern!r} is not a valid glob: {exc}") from None
    if not spec.patterns or spec.patterns[0].include is None:
        raise GlobError(f"{what}: {pattern!r} is not a valid glob")
    return Glob(stripped, spec)


def _unclosed_bracket(pattern: str) -> bool:
    """A ``[`` that no ``]`` closes (git's wildmatch then matches nothing at all)."""
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            j = i + 1
            if j < len(pattern) and pattern[j] in "!^":
                j += 1
            if j < len(pattern) and pattern[j] == "]":
                j += 1  # a leading ']' is a member of the class
            close = pattern.find("]", j)
            if close < 0:
                return True
            i = close
        i += 1
    return False


def select_paths(pattern: str, paths: Iterable[str]) -> list[str]:
    """The ``paths`` (``/``-separated, relative to one base) that ``pattern`` matches.

    Raises:
        GlobError: ``pattern`` is not a valid glob.
    """
    return compile_glob(pattern).select(paths)
