"""Read back what the training steps wrote (``train.pt``, ``heldout.jsonl``, ``ckpt.pt``), refusing a
file that is truncated, malformed or of another kind with a ``UsageError`` that names it.

Knows the layouts those files have on disk; nothing about how they were made or what is done
with them.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from fastapply.errors import UsageError
from fastapply.train.dataset import Example
from fastapply.train.edit_common import Edit

_EDIT_TEXT = ("kind", "instruction", "before", "after")


def _unpickle(path: Path, what: str, *, weights_only: bool) -> Any:
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except Exception as exc:  # unpickling arbitrary bytes can raise any exception at all
        raise UsageError(f"{path} is not {what} (it does not load: {type(exc).__name__})") from exc


def load_examples(path: Path) -> list[Example]:
    """The encoded examples of a ``train.pt`` (or ``heldout_windows.pt``)."""
    data = _unpickle(path, "a file of encoded examples", weights_only=True)
    columns = [data.get(key) for key in ("ids", "prompt_len", "kind")] if isinstance(data, dict) else [None]
    if not all(isinstance(c, list) for c in columns) or len({len(c) for c in columns}) != 1:
        raise UsageError(f"{path} is not a file of encoded examples (want lists ids, prompt_len and kind)")
    examples = []
    for n, (ids, prompt_len, kind) in enumerate(zip(*columns)):
        if (not isinstance(ids, list) or not isinstance(prompt_len, int) or not isinstance(kind, str)
                or not 0 < prompt_len < len(ids)):
            raise UsageError(f"{path}: example {n + 1} is malformed "
                             "(want token ids, a prompt length inside them, a kind)")
        examples.append(Example(ids=ids, prompt_len=prompt_len, kind=kind))
    return examples


def _edit(row: Any, where: str) -> Edit:
    if not isinstance(row, dict):
        raise UsageError(f"{where}: not an edit (want a JSON object)")
    unknown = sorted(set(row) - {f.name for f in dataclasses.fields(Edit)})
    missing = [key for key in _EDIT_TEXT if not isinstance(row.get(key), str)]
    if unknown or missing:
        problem = f"unknown field {', '.join(unknown)}" if unknown else f"no text field {', '.join(missing)}"
        raise UsageError(f"{where}: not an edit ({problem})")
    meta = row.get("meta", {})
    if not isinstance(row.get("path", ""), str) or not isinstance(meta, dict) or not all(
            isinstance(v, str) for v in meta.values()):
        raise UsageError(f"{where}: not an edit (path must be text, meta an object of texts)")
    return Edit(**row)


def load_heldout(path: Path) -> list[Edit]:
    """The held-out edits of a ``heldout.jsonl``, one JSON object a line (blank lines skipped)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text: {exc.reason}") from exc
    edits = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}:{n}: not JSON ({exc.msg}; a truncated file?)") from exc
        edits.append(_edit(row, f"{path}:{n}"))
    return edits


def _fields_fit(record: Any, cls: type) -> bool:
    return isinstance(record, dict) and set(record) <= {f.name for f in dataclasses.fields(cls)}


def load_checkpoint(path: Path, *, whole: bool) -> dict[str, Any]:
    """A ``ckpt.pt`` of ``fastapply train model``: its weights, and with ``whole`` also the optimizer,
    the training state and the config a resume or an export reads."""
    from fastapply.train.loop import TrainConfig, TrainState

    ckpt = _unpickle(path, "a checkpoint of 'fastapply train model'", weights_only=False)
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("model"), dict):
        raise UsageError(f"{path} is not a checkpoint of 'fastapply train model' (no model weights)")
    if whole and not (isinstance(ckpt.get("optimizer"), dict) and _fields_fit(ckpt.get("state"), TrainState)
                      and _fields_fit(ckpt.get("config"), TrainConfig)):
        raise UsageError(f"{path} is not a whole checkpoint of 'fastapply train model' (want optimizer, state, config)")
    return ckpt
