"""Real Python source to edit: find files on this machine, split them by file, cut them into chunks.

Files are read at training time and never copied into the repository. The train / held-out split
is by file path (a stable hash), so no held-out file is ever cut into training chunks. Knows
nothing about edits or tokens.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapply.train.edit_common import parse_or_none, parses
from fastapply.train.tokenizer import python_files, python_source_roots


@dataclass(slots=True)
class Source:
    """A piece of real code: a whole file or a chunk of top-level definitions from one file."""

    path: str  # where it came from, relative to its source root
    text: str


def is_held_out(path: str, held_out_percent: int = 5) -> bool:
    """Stable split by file: the same path always lands on the same side."""
    digest = hashlib.sha256(path.encode("utf-8")).digest()
    return digest[0] * 100 // 256 < held_out_percent


def _relative(path: Path, roots: list[Path]) -> str:
    for root in roots:
        try:
            return str(path.relative_to(root))
        except ValueError:
            continue
    return path.name


def iter_files(max_files: int = 20000, max_file_bytes: int = 60_000) -> Iterator[Source]:
    """Parseable, ASCII-clean Python files from the standard library and site-packages."""
    roots = python_source_roots()
    for path in python_files(roots, max_files, max_file_bytes):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if "\t" in text or "\r" in text or not text.isascii():
            continue
        if not parses(text):
            continue
        yield Source(path=_relative(path, roots), text=text)


def chunks(source: Source, min_lines: int = 10, max_lines: int = 80) -> list[Source]:
    """Cut a file into runs of consecutive top-level statements of ``min_lines``..``max_lines``.

    A top-level statement is a complete unit, so each chunk parses on its own (unless it uses
    names from elsewhere, which does not matter for editing). Statements longer than
    ``max_lines`` are dropped rather than split.
    """
    tree = parse_or_none(source.text)
    if tree is None:
        return []
    lines = source.text.splitlines(keepends=True)
    spans: list[tuple[int, int]] = []
    for node in tree.body:
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) - 1
        spans.append((start, node.end_lineno or node.lineno))
    out: list[Source] = []
    group: list[tuple[int, int]] = []

    def flush() -> None:
        if group:
            start, end = group[0][0], group[-1][1]
            if end - start >= min_lines:
                text = "".join(lines[start:end])
                out.append(Source(path=f"{source.path}:{start + 1}", text=text))
            group.clear()

    for start, end in spans:
        if end - start > max_lines:
            flush()
            continue
        if group and end - group[0][0] > max_lines:
            flush()
        group.append((start, end))
        if end - group[0][0] >= min_lines and len(group) > 1 and end - group[0][0] > max_lines // 2:
            flush()
    flush()
    return out
