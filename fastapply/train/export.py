"""Copy a trained model into a shippable folder (e.g. ``engine/models/default``).

Writes config, safetensors weights (optionally bf16, halving the size), tokenizer files and the
generation config, and checks the result loads. Knows transformers' folder format; nothing else.
"""

from __future__ import annotations

from pathlib import Path


def export_model(src: Path, dst: Path, *, bf16: bool = False, learned_scale: float = 1.0) -> Path:
    """Load ``src`` and save it under ``dst``; returns the weights file written.

    ``learned_scale`` below 1 shrinks the copy prior's trained layers toward their identity start
    (see ``model.scale_learned``); only meaningful for models of the ``copy`` preset.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    model = AutoModelForCausalLM.from_pretrained(str(src), dtype=torch.float32, use_safetensors=True)
    if learned_scale != 1.0:
        from fastapply.train.model import scale_learned

        scale_learned(model, learned_scale)
    if bf16:
        model = model.to(torch.bfloat16)
    dst.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(dst), safe_serialization=True)
    AutoTokenizer.from_pretrained(str(src)).save_pretrained(str(dst))
    GenerationConfig.from_pretrained(str(src)).save_pretrained(str(dst))
    return dst / "model.safetensors"
