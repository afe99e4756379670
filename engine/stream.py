"""Where accepted tokens go: incremental detokenization, stop detection, the token budget.

Every decoding method pushes the tokens it accepts into one ``TokenStream``; the stream decides
when the rewrite is over (a stop token, the close marker as text, or the budget) and hands new
text to the caller's callback as it arrives, holding back anything that might be the start of the
close marker. It knows nothing about models.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapply.engine.prompt import Prompt, finish_text, first_stop
from fastapply.engine.types import FinishReason


def _marker_prefix_len(text: str, marker: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``marker``."""
    for n in range(min(len(marker) - 1, len(text)), 0, -1):
        if text.endswith(marker[:n]):
            return n
    return 0


class TokenStream:
    """Accumulates generated tokens and their text; ``finish_reason`` is set once it is over."""

    def __init__(
        self,
        tokenizer: Any,
        prompt: Prompt,
        max_new_tokens: int,
        on_text: Callable[[str], None] | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.prompt = prompt
        self.max_new_tokens = max_new_tokens
        self.on_text = on_text
        self.ids: list[int] = []
        self.text = ""
        self.finish_reason: FinishReason | None = None
        self._prefix_offset = 0
        self._read_offset = 0
        self._emitted = 0  # characters of self.text already handed to on_text
        self._longest_stop = max((len(t) for t in prompt.stop_texts), default=0)

    @property
    def done(self) -> bool:
        return self.finish_reason is not None

    @property
    def room(self) -> int:
        """How many more tokens the budget allows."""
        return self.max_new_tokens - len(self.ids)

    def push(self, tokens: list[int]) -> None:
        """Append accepted tokens in order, stopping at the first stop token or the budget."""
        if self.done:
            return
        for token in tokens:
            if self.done:
                break
            if self.room <= 0:
                self.finish_reason = "length"
                break
            self.ids.append(token)
            if token in self.prompt.stop_ids:
                self.finish_reason = "stop"
        seen = max(0, len(self.text) - self._longest_stop)  # a stop text may straddle the old end
        self._decode()
        if not self.done and self._longest_stop and first_stop(self.prompt, self.text[seen:]) >= 0:
            self.finish_reason = "stop"
        if not self.done and self.room <= 0:
            self.finish_reason = "length"
        self._emit()

    def finish(self, reason: FinishReason) -> None:
        if not self.done:
            self.finish_reason = reason
            self._emit()

    def result_text(self) -> str:
        """The rewritten file: the text before the close marker."""
        return finish_text(self.prompt, self.text)[0]

    def _decode(self) -> None:
        ids = self.ids
        if self.finish_reason == "stop" and ids and ids[-1] in self.prompt.stop_ids:
            ids = ids[:-1]  # the stop token's own text is not part of the file
        prefix = self.tokenizer.decode(ids[self._prefix_offset : self._read_offset])
        full = self.tokenizer.decode(ids[self._prefix_offset :])
        if len(full) > len(prefix) and not full.endswith("\ufffd"):
            self.text += full[len(prefix) :]
            self._prefix_offset = self._read_offset
            self._read_offset = len(ids)

    def _emit(self) -> None:
        if self.on_text is None:
            return
        if self.done:
            end = len(self.result_text())
        else:
            cut = first_stop(self.prompt, self.text)
            held = max((_marker_prefix_len(self.text, t) for t in self.prompt.stop_texts), default=0)
            end = cut if cut >= 0 else len(self.text) - held
        if end > self._emitted:
            piece = self.text[self._emitted : end]
            self._emitted = end
            self.on_text(piece)
