"""Small random-weight models of two real architectures, built from configs, for engine tests."""

from __future__ import annotations

import functools
from typing import Any

import torch
from fastapply.engine.load import LoadedModel, load_tokenizer

ARCHS = ("llama", "qwen2")


@functools.lru_cache(maxsize=None)
def tiny_model(arch: str, seed: int = 0) -> LoadedModel:
    """A 2-layer fp32 model with the project tokenizer; the same weights for the same seed."""
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    common = dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=8192,
        max_position_embeddings=4096,
    )
    config = LlamaConfig(**common) if arch == "llama" else Qwen2Config(**common)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval()
    return LoadedModel(model=model, tokenizer=load_tokenizer(), name=f"tiny-{arch}",
                       device=torch.device("cpu"), dtype=torch.float32)


SAMPLE = '''import os


def add(a, b):
    return a + b


def total(values):
    result = 0
    for value in values:
        result = add(result, value)
    return result


def main():
    print(total([1, 2, 3]))
    return 0
'''


def simulate_drafter(drafter: Any, target: list[int]) -> list[tuple[int, list[int]]]:
    """Drive the drafter with a model whose greedy output is ``target``: (output length, draft)."""
    out = [target[0]]
    drafter.start(target[0])
    steps = []
    while len(out) < len(target):
        draft = drafter.draft(out)
        steps.append((len(out), draft))
        n = 0
        while n < len(draft) and len(out) + n < len(target) and draft[n] == target[len(out) + n]:
            n += 1
        if len(out) + n == len(target):
            break
        bonus = target[len(out) + n]
        drafter.update(draft, n, bonus)
        out += draft[:n] + [bonus]
    return steps
