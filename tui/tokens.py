"""Token counts for files before they are sent, and whether a file fits the model's context.

Before the model is loaded a count is an estimate from the size (``CHARS_PER_TOKEN``); once it is
loaded, ``backend.count_tokens`` gives the exact number. A whole-file rewrite holds the file twice
(in the prompt, and again as the output), so a file fits when twice its tokens fit the context.
This module knows the backend's ``count_tokens`` and ``max_context`` and the core's result type,
nothing about widgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHARS_PER_TOKEN = 4  # rough size of a code token when no tokenizer is at hand


@dataclass(frozen=True)
class TokenCount:
    tokens: int
    exact: bool  # counted by the model's tokenizer, not estimated from the size


def estimate_tokens(chars: int) -> int:
    return max(1, chars // CHARS_PER_TOKEN)


def count_tokens(backend: Any, text: str) -> TokenCount:
    """The tokenizer's count when a backend is loaded and can count, else the estimate."""
    if backend is not None:
        try:
            return TokenCount(int(backend.count_tokens(text)), True)
        except (AttributeError, ValueError, TypeError):
            pass  # a backend that cannot count falls back to the estimate
    return TokenCount(estimate_tokens(len(text)), False)


def context_of(backend: Any) -> int | None:
    """The model's context in tokens, or None before it is known."""
    value = getattr(backend, "max_context", None) if backend is not None else None
    return int(value) if isinstance(value, int) and value > 0 else None


def needed_tokens(tokens: int) -> int:
    return 2 * tokens  # the file in the prompt, and the rewrite of it


def over_context(count: TokenCount, max_context: int | None) -> str | None:
    """Why a file of ``count`` tokens cannot be sent, with the numbers; None when it fits."""
    if max_context is None or needed_tokens(count.tokens) <= max_context:
        return None
    approx = "" if count.exact else "~"
    return (
        f"over the context: {approx}{count.tokens:,} tokens in and as many out "
        f"need {approx}{needed_tokens(count.tokens):,}; the model holds {max_context:,}"
    )


def refuse_over_context(backend: Any, root: Path, paths: list[str], instruction: str) -> tuple[list[Any], list[str]]:
    """(refused results, paths to send): a file whose rewrite cannot fit is never sent."""
    from fastapply.edit import EditResult

    limit = context_of(backend)
    refused: list[Any] = []
    send: list[str] = []
    for path in paths:
        try:
            text = (root / path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            send.append(path)  # the core reads it again and says why it cannot
            continue
        why = over_context(count_tokens(backend, text), limit)
        if why is None:
            send.append(path)
        else:
            refused.append(EditResult(path=path, status="refused", reason=why, instruction=instruction))
    return refused, send
