"""Teacher-forced errors of an apply model on held-out edits, sorted by where they fall.

Given the expected rewrite, every position where the model's most likely next token is not the
expected one is an error. Each is put in one place:

- ``edited``: the expected token is new (not in the file at that place);
- ``edit-seam``: the first kept token after text the edit deleted;
- ``after-edit``: within ``context`` tokens after an edited token or a seam, where the copy's
  context still holds the edit;
- ``copy-tie``: in copied text, and the ``context`` tokens before it occur in the file followed by
  different tokens (a copy that matches ``context`` tokens cannot tell the places apart);
- ``copy-unique``: in copied text, with a context that fixes the next token;
- ``copy-absent``: in copied text, with a context the file does not hold (a tokenization seam);
- ``copy-start``: in the first ``context`` tokens of the rewrite.

Teacher forcing makes the count local: a change to a model moves only the positions it changes,
where a free rewrite that leaves its place lands somewhere else and changes every line after it.
Knows the rewrite prompt and transformers' causal LMs; nothing about training.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from fastapply.train.edit_common import Edit

PLACES = ("edited", "edit-seam", "after-edit", "copy-tie", "copy-unique", "copy-absent", "copy-start")


def edit_marks(source: Sequence[int], target: Sequence[int]) -> tuple[list[bool], set[int]]:
    """(whether each target token is new, the target positions right after deleted source text)."""
    edited = [True] * len(target)
    seams: set[int] = set()
    source_at = target_at = 0
    for a, b, n in difflib.SequenceMatcher(a=source, b=target, autojunk=False).get_matching_blocks():
        edited[b : b + n] = [False] * n
        if a != source_at and b == target_at and b < len(target):  # source skipped, target did not: a deletion
            seams.add(b)
        source_at, target_at = a + n, b + n
    return edited, seams


def classify(source: Sequence[int], target: Sequence[int], predicted: Sequence[int], context: int = 8) -> Counter[str]:
    """Count the errors of ``predicted`` (one token per target position) by place."""
    edited, seams = edit_marks(source, target)
    follows: dict[tuple[int, ...], set[int]] = {}
    for j in range(context, len(source)):
        follows.setdefault(tuple(source[j - context : j]), set()).add(source[j])
    places: Counter[str] = Counter()
    for i, (got, want) in enumerate(zip(predicted, target)):
        if got == want:
            continue
        recent = range(max(0, i - context), i)
        if edited[i]:
            place = "edited"
        elif i in seams:
            place = "edit-seam"
        elif any(edited[j] or j in seams for j in recent):
            place = "after-edit"
        elif i < context:
            place = "copy-start"
        else:
            nexts = follows.get(tuple(target[i - context : i]), set())
            place = "copy-tie" if len(nexts) > 1 else "copy-unique" if nexts else "copy-absent"
        places[place] += 1
    return places


def count_errors(
    model: str,
    edits: list[Edit],
    *,
    context: int = 8,
    device: str | None = None,
    dtype: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Teacher-force every edit through ``model``; returns a JSON-ready report (edits too long for
    the model's context are skipped and counted). No edits, or a ``context`` under 1, is a
    ValueError, before any model loads."""
    import torch

    if not edits:
        raise ValueError("no held-out edits to count errors on")
    if context < 1:
        raise ValueError(f"context must be 1 or more, not {context}")
    from fastapply.engine.load import load_model
    from fastapply.engine.prompt import build_prompt, target_ids

    loaded = load_model(model, device=device, dtype=dtype)
    tokenizer, net = loaded.tokenizer, loaded.model
    kinds: dict[str, Counter[str]] = {}
    tokens: Counter[str] = Counter()
    skipped = 0
    for n, edit in enumerate(edits):
        prompt = build_prompt(tokenizer, edit.instruction, edit.before, edit.path)
        target = target_ids(tokenizer, edit.after)
        ids = prompt.ids + target
        if len(ids) > loaded.max_context:
            skipped += 1
            continue
        with torch.no_grad():
            logits = net(torch.tensor([ids], device=loaded.device)).logits[0]
        predicted = logits[len(prompt.ids) - 1 : -1].argmax(-1).tolist()
        # the close marker ends the file as it ends the rewrite, so only a missing or early close is an error of the edit
        source = prompt.ids[prompt.code_start : prompt.code_end] + target[-1:]
        kinds.setdefault(edit.kind, Counter()).update(classify(source, target, predicted, context))
        tokens[edit.kind] += len(target)
        if progress:
            progress(f"[{n + 1}/{len(edits)}] {edit.kind}: {sum(kinds[edit.kind].values())} errors so far")
    total: Counter[str] = Counter()
    for places in kinds.values():
        total.update(places)
    return {"model": model, "context": context, "edits": len(edits) - skipped, "skipped": skipped,
            "tokens": sum(tokens.values()), "errors": {p: total[p] for p in PLACES},
            "kinds": {k: {"tokens": tokens[k], **{p: kinds[k][p] for p in PLACES}} for k in sorted(kinds)}}


def format_errors(report: dict[str, Any]) -> str:
    short = [p.replace("copy-", "c-").replace("edit-", "e-") for p in PLACES]
    lines = [f"model {report['model']}: teacher-forced errors on {report['edits']} held-out edits "
             f"({report['tokens']} target tokens, context {report['context']}"
             + (f", {report['skipped']} too long, skipped)" if report["skipped"] else ")"),
             f"{'kind':<22}{'tokens':>8}" + "".join(f"{s:>12}" for s in short)]
    rows = [*report["kinds"].items(), ("all", {"tokens": report["tokens"], **report["errors"]})]
    for name, row in rows:
        lines.append(f"{name:<22}{row['tokens']:>8}" + "".join(f"{row[p]:>12}" for p in PLACES))
    return "\n".join(lines)
