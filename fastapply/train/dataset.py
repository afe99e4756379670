"""Training and held-out examples: synthetic edits drawn over real source, tokenized with the
fixed rewrite prompt, and batched by length.

An example's input is ``build_prompt(...).ids + target_ids(after)``; the loss covers only the
target. Knows the edit generators, the prompt format and tensors; knows nothing about the model.
"""

from __future__ import annotations

import difflib
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapply.engine.prompt import CLOSE_CODE, OPEN_CODE, build_prompt, single_token_id, target_ids
from fastapply.train.edit_common import Edit
from fastapply.train.edit_rename import make_rename
from fastapply.train.edit_simple import (
    make_add_import, make_literal, make_noop, make_remove_import, make_remove_prints,
)
from fastapply.train.edit_snippet import make_snippet
from fastapply.train.edit_struct import make_delete_function, make_docstring, make_insert
from fastapply.train.sources import Source

Generator = Callable[[random.Random, str, str], "Edit | None"]

GENERATORS: dict[str, Generator] = {
    "noop": make_noop,
    "rename": make_rename,
    "literal": make_literal,
    "add-import": make_add_import,
    "remove-import": make_remove_import,
    "remove-prints": make_remove_prints,
    "delete-function": make_delete_function,
    "docstring": make_docstring,
    "insert-statement": make_insert,
    "snippet-merge": make_snippet,
}

# renames matter most (the README's main job) and are hardest; no-ops are cheap to learn
DEFAULT_MIX: dict[str, float] = {
    "noop": 0.06, "rename": 0.3, "literal": 0.09, "add-import": 0.07, "remove-import": 0.06,
    "remove-prints": 0.06, "delete-function": 0.09, "docstring": 0.09, "insert-statement": 0.09,
    "snippet-merge": 0.09,
}
IGNORE = -100


@dataclass(slots=True)
class Example:
    """Token ids of one prompt + target; ``prompt_len`` tokens get no loss."""

    ids: list[int]
    prompt_len: int
    kind: str


def draw_edit(rng: random.Random, source: Source, mix: dict[str, float]) -> Edit | None:
    """An edit of a kind drawn from ``mix``, falling back to other kinds the source allows."""
    kinds = list(mix)
    first = rng.choices(kinds, weights=[mix[k] for k in kinds])[0]
    order = [first] + rng.sample(kinds, len(kinds))
    path = source.path.split(":")[0]
    for kind in order[:4]:
        edit = GENERATORS[kind](rng, source.text, path)
        if edit is not None:
            return edit
    return None


def encode(tokenizer: Any, edit: Edit) -> Example:
    prompt = build_prompt(tokenizer, edit.instruction, edit.before, edit.path)
    target = target_ids(tokenizer, edit.after)
    return Example(ids=prompt.ids + target, prompt_len=len(prompt.ids), kind=edit.kind)


def seam_ok(tokenizer: Any, edit: Edit) -> bool:
    """The file's tokens in the prompt equal a no-op target (minus the close marker)."""
    prompt = build_prompt(tokenizer, edit.instruction, edit.before, edit.path)
    return prompt.original_ids == target_ids(tokenizer, edit.before)[:-1]


def make_examples(
    tokenizer: Any,
    sources: Iterable[Source],
    rng: random.Random,
    mix: dict[str, float] | None = None,
    max_tokens: int = 1536,
    per_source: int = 1,
) -> Iterator[Example]:
    """Encoded edits over ``sources``; ones longer than ``max_tokens`` or with a bad seam dropped."""
    mix = mix or DEFAULT_MIX
    for source in sources:
        for _ in range(per_source):
            edit = draw_edit(rng, source, mix)
            if edit is None:
                continue
            ex = encode(tokenizer, edit)
            if len(ex.ids) > max_tokens or not seam_ok(tokenizer, edit):
                continue
            yield ex


@dataclass(frozen=True, slots=True)
class Seam:
    """Token ids that delimit the original file in a prompt: ``<code>``, the newline after it, ``</code>``."""

    open_code: int
    newline: int
    close_code: int

    @classmethod
    def of(cls, tokenizer: Any) -> Seam:
        newline = single_token_id(tokenizer, "\n")
        if newline is None:
            raise ValueError("the tokenizer does not encode a newline as one token")
        return cls(open_code=tokenizer.convert_tokens_to_ids(OPEN_CODE), newline=newline,
                   close_code=tokenizer.convert_tokens_to_ids(CLOSE_CODE))


def edited_targets(example: Example, seam: Seam) -> list[int]:
    """Indices into the target (``ids[prompt_len:]``) where a verbatim copy of the original file
    would be wrong: tokens inserted or replaced, and the token right after each deleted span. The
    close marker is left out: it ends every copy as well."""
    prompt = example.ids[: example.prompt_len]
    if seam.open_code not in prompt:
        return []
    start = len(prompt) - prompt[::-1].index(seam.open_code)
    end = prompt.index(seam.close_code, start) if seam.close_code in prompt[start:] else start
    original = prompt[start:end]
    if original[:1] == [seam.newline]:
        original = original[1:]
    target = example.ids[example.prompt_len : -1]
    marked: list[int] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=original, b=target, autojunk=False).get_opcodes():
        # an inserted or deleted span may be aligned early by whole tokens that it repeats; shift it
        # to where a copy really goes wrong
        while op == "insert" and j2 < len(target) and target[j1] == target[j2]:
            j1, j2 = j1 + 1, j2 + 1
        while op == "delete" and i2 < len(original) and original[i1] == original[i2]:
            i1, i2, j1 = i1 + 1, i2 + 1, j1 + 1
        if op in ("replace", "insert"):
            marked.extend(range(j1, j2))
        elif op == "delete" and j1 < len(target):
            marked.append(j1)
    return sorted(set(marked))


def length_batches(examples: list[Example], tokens_per_batch: int, rng: random.Random) -> list[list[int]]:
    """Indices grouped by similar length so padding stays small; batch order shuffled."""
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].ids))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = len(examples[i].ids)  # sorted ascending: the newest is the longest
        if current and longest * (len(current) + 1) > tokens_per_batch:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    rng.shuffle(batches)
    return batches


def collate(examples: list[Example], pad_id: int, edit_weight: float = 1.0,
            seam: Seam | None = None) -> dict[str, Any]:
    """Right-padded input ids, attention mask and labels (prompt and padding masked); with an
    ``edit_weight`` other than 1 (and the ``seam`` to find the file), also per-token loss weights
    that count the edited tokens that many times."""
    import torch

    width = max(len(e.ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e.ids)
        ids[row, :n] = torch.tensor(e.ids)
        labels[row, e.prompt_len : n] = torch.tensor(e.ids[e.prompt_len :])
        mask[row, :n] = 1
    batch = {"input_ids": ids, "attention_mask": mask, "labels": labels}
    if edit_weight != 1.0:
        if seam is None:
            raise ValueError("edit weighting needs the seam token ids")
        weights = (labels != IGNORE).float()
        for row, e in enumerate(examples):
            for j in edited_targets(e, seam):
                weights[row, e.prompt_len + j] = edit_weight
        batch["weights"] = weights
    return batch
