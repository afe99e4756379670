"""Graft the wired rename path onto a trained copy-prior model.

A model of the ``copy`` preset keeps its first three layers and its embeddings exactly as
``copy_prior`` set them, so they can be rebuilt with the rename layout (four more flag dims) and
the trained layers above put back on top, in the order asked, with the rename layer where asked.
The residual is wider (``RENAME_HIDDEN``): the trained layers read the new dims with zero weights,
write nothing there, and their norms are rescaled so the old dims are normalised as before; what
they make of the rename layer's output is measured, not assumed. Knows transformers' Llama and the
two priors' layouts; nothing about data or training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapply.train.copy_prior import PriorLayout
from fastapply.train.rename_prior import RenameLayout, build_rename_prior, rename_layout
from fastapply.train.rewire import WIRED, check_copy_preset, write_folder


def grafted_layout(trained_layers: int) -> PriorLayout:
    return rename_layout(WIRED + 1 + trained_layers)


def _widen(state: dict[str, Any], hidden: int) -> dict[str, Any]:
    """A trained layer's weights for a wider residual: the new dims are read with zero weights
    and never written; its norms scaled so they normalise the old dims exactly as before."""
    import torch

    out = {}
    for name, w in state.items():
        old = w.shape[-1] if name.endswith(("q_proj.weight", "k_proj.weight", "v_proj.weight",
                                            "gate_proj.weight", "up_proj.weight")) else w.shape[0]
        if name.endswith("layernorm.weight"):
            wide = torch.ones(hidden, dtype=w.dtype)
            wide[:old] = w * (old / hidden) ** 0.5
        elif name.endswith(("o_proj.weight", "down_proj.weight")):
            wide = torch.zeros(hidden, w.shape[1], dtype=w.dtype)
            wide[:old] = w
        else:
            wide = torch.zeros(w.shape[0], hidden, dtype=w.dtype)
            wide[:, :old] = w
        out[name] = wide
    return out


def graft(trained: Any, tokenizer: Any, keep: tuple[int, ...], rename: RenameLayout | None = None,
          rename_last: bool = False) -> Any:
    """A model whose layers are the wired three, then the rename layer and ``trained``'s layers
    ``keep`` (indices into its layers, each >= 3), or those layers and then the rename layer."""
    import torch

    if any(i < WIRED or i >= len(trained.model.layers) for i in keep):
        raise ValueError(f"trained layers to keep must lie in {WIRED}..{len(trained.model.layers) - 1}, got {keep}")
    layout = grafted_layout(len(keep))
    model = build_rename_prior(tokenizer, layout, rename)
    rename_at = WIRED + len(keep) if rename_last else WIRED
    slots = [i for i in range(WIRED, layout.layers) if i != rename_at]
    with torch.no_grad():
        if rename_last:
            model.model.layers[rename_at].load_state_dict(model.model.layers[WIRED].state_dict())
        for slot, src in zip(slots, keep):
            model.model.layers[slot].load_state_dict(_widen(trained.model.layers[src].state_dict(), layout.hidden))
        old = trained.model.norm.weight.shape[0]
        model.model.norm.weight[:old] = trained.model.norm.weight * (old / layout.hidden) ** 0.5
    return model


def graft_folder(src: Path, dst: Path, keep: tuple[int, ...] | None = None, *, rename_last: bool = False,
                 bf16: bool = True) -> Path:
    """Load a trained copy-preset model folder, graft, and save it as a new loadable folder.

    ``keep`` defaults to every trained layer, in order. ``dst`` must not exist (``rewire.write_folder``
    writes it whole or not at all). Returns the weights file. ValueError for a model that is not of
    the copy preset or a bad ``keep``.
    """
    from fastapply.engine.load import load_model

    if dst.exists():
        raise ValueError(f"{dst} already exists; name a new folder")
    loaded = load_model(str(src), device="cpu", dtype="float32")
    config = loaded.model.config
    check_copy_preset(config, src, ": there is nothing to graft the rename path onto")
    keep = tuple(range(WIRED, config.num_hidden_layers)) if keep is None else keep
    model = graft(loaded.model, loaded.tokenizer, keep, rename_last=rename_last)
    return write_folder(model, loaded.tokenizer, dst, bf16=bf16)
