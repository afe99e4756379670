"""The engine's KV cache (``decode.new_cache``): in place, yet what transformers' own cache holds.

The growing layer replaces a copy of the whole cache per forward with a write of the new
positions; these tests hold it to transformers' ``DynamicCache`` fed the same forwards and
rollbacks, bit for bit, across the buffer's growth and at every crop form of 5.x.
"""

from __future__ import annotations

import random

import pytest
import torch
from engine_support import ARCHS, tiny_model

from fastapply.engine.decode import ModelSession, new_cache


def _script(seed: int) -> list[tuple[str, int]]:
    """Forwards of mixed widths and rollbacks that cross the first capacities (256, 512)."""
    rng = random.Random(seed)
    steps: list[tuple[str, int]] = [("forward", 200)]
    for _ in range(30):
        steps.append(("forward", rng.choice([1, 1, 5, 17, 40])))
        steps.append(("rollback", rng.randrange(0, 12)))
    steps.append(("forward", 300))
    return steps


@pytest.mark.parametrize(("arch", "reserve"), [(a, r) for a in ARCHS for r in (0, 300)])
def test_logits_equal_transformers_cache_through_growth_and_rollbacks(arch: str, reserve: int) -> None:
    from transformers import DynamicCache

    lm = tiny_model(arch)
    ours = ModelSession(lm.model, lm.device, reserve=reserve)
    theirs = ModelSession(lm.model, lm.device)
    theirs.cache = DynamicCache(config=lm.model.config)
    rng = random.Random(1)
    for kind, n in _script(0):
        if kind == "forward":
            ids = [rng.randrange(8192) for _ in range(n)]
            assert torch.equal(ours.forward(ids), theirs.forward(ids))
        else:
            ours.rollback(max(0, ours.length - n))
            theirs.rollback(max(0, theirs.length - n))
        assert ours.length == theirs.length
    for mine, ref in zip(ours.cache.layers, theirs.cache.layers):
        assert torch.equal(mine.keys, ref.keys) and torch.equal(mine.values, ref.values)
    assert ours.length > 512  # the buffer grew at least twice


def test_a_reserved_cache_is_written_in_place_until_it_is_full() -> None:
    lm = tiny_model("llama")
    session = ModelSession(lm.model, lm.device, reserve=600)
    session.forward(list(range(512)))
    layer = session.cache.layers[0]
    storage = layer.keys.untyped_storage().data_ptr()
    assert layer._keys.shape[-2] == 600  # allocated once, at the first write
    for _ in range(3):
        session.forward(list(range(20)))
        session.rollback(session.length - 5)
    session.forward(list(range(600 - session.length)))
    assert layer.keys.untyped_storage().data_ptr() == storage and session.length == 600  # no copy
    session.forward([1])
    assert layer._keys.shape[-2] == 1200  # past the reserve it doubles


def test_crop_forms_of_every_5x_release() -> None:
    lm = tiny_model("llama")
    session = ModelSession(lm.model, lm.device)
    session.forward(list(range(10)))
    cache = session.cache
    cache.crop(-3)  # the form 5.24 requires: drop 3
    assert cache.get_seq_length() == 7
    cache.crop(0)  # 5.24: a no-op
    assert cache.get_seq_length() == 7
    cache.crop(5)  # 5.0's form: keep 5
    assert cache.get_seq_length() == 5
    cache.crop(-50)  # more than there is
    assert cache.get_seq_length() == 0
    assert all(layer.keys.shape[-2] == 0 for layer in cache.layers)


def test_sliding_window_layers_keep_transformers_class() -> None:
    from transformers import Qwen2Config
    from transformers.cache_utils import DynamicLayer

    config = Qwen2Config(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, vocab_size=256, use_sliding_window=True, sliding_window=16,
        max_window_layers=1,
    )
    model = type("M", (), {"config": config})()
    kinds = [type(layer) for layer in new_cache(model).layers]
    full = [t for t in kinds if issubclass(t, DynamicLayer) and t.__name__ == "GrowingLayer"]
    assert 0 < len(full) < len(kinds)  # full-attention layers grow in place, the sliding one does not
