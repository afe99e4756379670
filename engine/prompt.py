"""The rewrite prompt: what the model reads, where the original file sits in it, and when to stop.

The instruction and the whole file go in the user turn (through the tokenizer's chat template when
it has one); the assistant turn is pre-filled with the output wrapper's opening, so the first token
the model generates is the first token of the file. The original file's token ids are taken from
the tokenized prompt itself, so the draft lines up with how the model saw the file.

This module knows tokenizers and strings, not models or decoding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapply.engine.types import EngineError

OPEN_CODE = "<code>"
CLOSE_CODE = "</code>"
OPEN_OUTPUT = "<updated-code>"
CLOSE_OUTPUT = "</updated-code>"
MARKERS = (OPEN_CODE, CLOSE_CODE, OPEN_OUTPUT, CLOSE_OUTPUT)

SYSTEM = (
    "You rewrite one whole source file as instructed. Reply with the complete updated file "
    f"between {OPEN_OUTPUT} and {CLOSE_OUTPUT} and nothing else: no explanation, no placeholders."
)


@dataclass(slots=True)
class Prompt:
    """A tokenized rewrite prompt.

    ``ids[code_start:code_end]`` are the original file's tokens as the model sees them in context.
    A raw prompt (``raw_prompt``) has no file: ``code_start == code_end == len(ids)``.
    """

    ids: list[int]
    code_start: int
    code_end: int
    stop_ids: frozenset[int]  # a generated token in this set ends the rewrite
    stop_text: str  # ...and so does this text, for tokenizers where the marker is several tokens
    tail_ids: list[int] = field(default_factory=list)  # what should follow the file: the marker
    added_newline: bool = False  # the file had no final newline; one was added for the prompt
    extra_stops: tuple[str, ...] = ()  # more stop texts (a raw prompt's ``stop``)

    @property
    def original_ids(self) -> list[int]:
        return self.ids[self.code_start : self.code_end]

    @property
    def rest(self) -> list[int]:
        """The prompt around the file: instruction, template, path (drafted from for new code)."""
        return self.ids[: self.code_start] + self.ids[self.code_end :]

    @property
    def stop_texts(self) -> tuple[str, ...]:
        return tuple(t for t in (self.stop_text, *self.extra_stops) if t)


def user_message(instruction: str, code: str, path: str = "") -> str:
    """The user turn. ``code`` must end with a newline."""
    where = f"File: {path}\n" if path else ""
    return f"Instruction: {instruction.strip()}\n{where}{OPEN_CODE}\n{code}{CLOSE_CODE}"


def _with_newline(code: str) -> tuple[str, bool]:
    if code == "" or code.endswith(("\n", "\r")):
        return code, False
    return code + "\n", True


def prompt_text(tokenizer: Any, instruction: str, code: str, path: str = "") -> str:
    """The full prompt as text, assistant pre-fill included. ``code`` must end with a newline."""
    user = user_message(instruction, code, path)
    if getattr(tokenizer, "chat_template", None):
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
        head = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    else:
        head = f"{SYSTEM}\n\n{user}\n\n"
    return f"{head}{OPEN_OUTPUT}\n"


def single_token_id(tokenizer: Any, text: str) -> int | None:
    """The id of ``text`` when the tokenizer encodes it as exactly one token."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    return ids[0] if len(ids) == 1 else None


def eos_ids(tokenizer: Any) -> set[int]:
    value = tokenizer.eos_token_id
    if isinstance(value, int):
        return {value}
    if isinstance(value, (list, tuple)):
        return {int(v) for v in value}
    return set()


def raw_prompt(tokenizer: Any, text: str, stop: tuple[str, ...] = ()) -> Prompt:
    """A caller's own prompt text (OpenAI completions, or rendered chat): decode right after it."""
    if any(not s for s in stop):
        raise EngineError("a stop string must not be empty")
    ids = list(tokenizer.encode(text, add_special_tokens=False, verbose=False))
    return Prompt(ids=ids, code_start=len(ids), code_end=len(ids), stop_ids=frozenset(eos_ids(tokenizer)),
                  stop_text="", extra_stops=tuple(stop))


def build_prompt(tokenizer: Any, instruction: str, code: str, path: str = "") -> Prompt:
    """Tokenize the rewrite prompt and locate the original file's tokens inside it.

    Raises:
        EngineError: the tokenizer's chat template does not show the file verbatim.
    """
    code, added = _with_newline(code)
    text = prompt_text(tokenizer, instruction, code, path)
    anchor = f"{OPEN_CODE}\n{code}{CLOSE_CODE}"
    at = text.rfind(anchor)
    if at < 0:
        raise EngineError("the model's chat template altered the user message, so the file cannot be located in the prompt")
    char_start = at + len(OPEN_CODE) + 1
    char_end = char_start + len(code)

    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    ids = list(enc["input_ids"])
    inside = [
        i
        for i, (s, e) in enumerate(enc["offset_mapping"])
        if s >= char_start and e <= char_end and e > s
    ]
    code_start, code_end = (inside[0], inside[-1] + 1) if inside else (len(ids), len(ids))

    close_id = single_token_id(tokenizer, CLOSE_OUTPUT)
    stop_ids = eos_ids(tokenizer)
    if close_id is not None:
        stop_ids.add(close_id)
    return Prompt(
        ids=ids,
        code_start=code_start,
        code_end=code_end,
        stop_ids=frozenset(stop_ids),
        stop_text=CLOSE_OUTPUT,
        tail_ids=tokenizer.encode(CLOSE_OUTPUT, add_special_tokens=False),
        added_newline=added,
    )


def target_ids(tokenizer: Any, new_code: str) -> list[int]:
    """The tokens a model should generate after the prompt: the new file, then the close marker."""
    new_code, _ = _with_newline(new_code)
    return tokenizer.encode(new_code + CLOSE_OUTPUT, add_special_tokens=False, verbose=False)


def first_stop(prompt: Prompt, text: str) -> int:
    """Where the earliest stop text starts in ``text``, or -1."""
    found = [at for at in (text.find(s) for s in prompt.stop_texts) if at >= 0]
    return min(found) if found else -1


def finish_text(prompt: Prompt, generated: str) -> tuple[str, bool]:
    """Cut the generated text at the close marker. Returns the file text and whether it closed."""
    at = first_stop(prompt, generated)
    closed = at >= 0
    text = generated[:at] if closed else generated
    if prompt.added_newline and text.endswith("\n"):
        text = text[:-1]
    return text, closed
