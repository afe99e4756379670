"""Rebuild the wired part of a trained copy-preset model from the current copy-prior layout.

A model of the ``copy`` preset is its embeddings and layers 0-2 exactly as ``copy_prior`` set
them, then trained layers and the final norm. When the circuit changes, ``rewire`` sets the wired
part again from ``PriorLayout()`` and keeps everything trained as it is, so the change reaches a
model without training it again; whether the trained layers still agree with the new circuit is
measured, not assumed. ``rename_graft`` builds on the same checks and the same folder writer. Knows
transformers' Llama and the copy prior's layout; nothing about data or training.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapply.train.copy_prior import OFFSET_LAYERS, PriorLayout, build_copy_prior, wired_parameter_names

WIRED = len(OFFSET_LAYERS) + 1  # layers 0..2 of a copy-prior model


def check_copy_preset(config: Any, src: Path, why: str = "") -> None:
    """ValueError (ending in ``why``) unless ``config`` is a copy-preset model's: the wired hidden
    size and layers above the wired three."""
    hidden = PriorLayout().hidden
    if config.hidden_size != hidden or config.num_hidden_layers <= WIRED:
        raise ValueError(f"{src} is not a copy-preset model (hidden {hidden}, wired layers "
                         f"0-{WIRED - 1} and trained ones above){why}")


def rewire(trained: Any, tokenizer: Any, layout: PriorLayout | None = None) -> Any:
    """``trained`` with its embeddings and wired layers set from ``layout`` (default: the current one), in place."""
    import torch

    fresh = build_copy_prior(tokenizer, layout or PriorLayout()).state_dict()
    wired = wired_parameter_names()
    with torch.no_grad():
        for name, weight in trained.state_dict().items():
            if name.startswith(wired):
                weight.copy_(fresh[name])
    trained.tie_weights()
    return trained


def write_folder(model: Any, tokenizer: Any, dst: Path, *, bf16: bool) -> Path:
    """Save ``model`` as a loadable folder at ``dst``, which must not exist: it is written beside
    it and renamed into place, so a failure leaves nothing half-written. Returns the weights file."""
    import torch

    from fastapply.engine.load import progress_bars
    from fastapply.train.loop import save_model

    if dst.exists():
        raise ValueError(f"{dst} already exists; name a new folder")
    if bf16:
        model = model.to(torch.bfloat16)
    dst.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=dst.parent, prefix=f".{dst.name}.partial-"))
    try:
        with progress_bars(False):
            save_model(model, tokenizer, partial)
        partial.rename(dst)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return dst / "model.safetensors"


def rewire_folder(src: Path, dst: Path, *, bf16: bool = True, layout: PriorLayout | None = None) -> Path:
    """Load the copy-preset model folder ``src``, rewire it from ``layout``, and write it to the new folder ``dst``."""
    from fastapply.engine.load import load_model

    if dst.exists():
        raise ValueError(f"{dst} already exists; name a new folder")
    loaded = load_model(str(src), device="cpu", dtype="float32")
    check_copy_preset(loaded.model.config, src)
    return write_folder(rewire(loaded.model, loaded.tokenizer, layout), loaded.tokenizer, dst, bf16=bf16)
