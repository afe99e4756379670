"""The engine's mask-free CPU attention: equal to transformers' masked SDPA, used only where it is right."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from engine_support import tiny_model

from fastapply.engine import attention
from fastapply.engine.decode import ModelSession


def _masked(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """What transformers computes: every key head repeated, a boolean causal mask aligned at the end."""
    groups = query.shape[1] // key.shape[1]
    new, total = query.shape[2], key.shape[2]
    mask = torch.ones(new, total, dtype=torch.bool).tril(total - new)
    return torch.nn.functional.scaled_dot_product_attention(
        query, key.repeat_interleave(groups, 1), value.repeat_interleave(groups, 1), attn_mask=mask)


@pytest.mark.parametrize("heads,kv_heads", [(4, 4), (12, 2), (3, 1)])
@pytest.mark.parametrize("new,past", [(1, 300), (17, 0), (64, 1), (257, 1500)])
def test_the_split_attention_equals_the_masked_one(heads: int, kv_heads: int, new: int, past: int) -> None:
    generator = torch.Generator().manual_seed(new * 31 + past)
    query = torch.randn(1, new, heads, 64, generator=generator).transpose(1, 2)  # strided as a model makes it
    key, value = (torch.randn(1, kv_heads, past + new, 64, generator=generator) for _ in range(2))
    got = attention.split_attention(query, key, value, 64 ** -0.5)
    assert got.shape == (1, heads, new, 64)
    assert torch.allclose(got, _masked(query, key, value), atol=1e-5, rtol=1e-5)


def test_the_split_attention_keeps_a_half_precision_model_in_its_dtype() -> None:
    generator = torch.Generator().manual_seed(5)
    query = torch.randn(1, 4, 17, 64, generator=generator).to(torch.bfloat16)
    key, value = (torch.randn(1, 2, 117, 64, generator=generator).to(torch.bfloat16) for _ in range(2))
    got = attention.split_attention(query, key, value, 64 ** -0.5)
    assert got.dtype == torch.bfloat16
    assert torch.allclose(got.float(), _masked(query, key, value).float(), atol=2e-2)


def test_a_bfloat16_model_on_a_cpu_runs_a_session() -> None:
    lm = tiny_model("llama", seed=7)  # its own copy: converted to bf16 here
    model = lm.model.to(torch.bfloat16)
    session = ModelSession(model, lm.device)
    session.prefill(list(range(10, 300)), chunk=128)
    assert session.forward(list(range(300, 340))).dtype == torch.bfloat16


def test_a_session_on_a_cpu_gives_the_logits_of_one_plain_forward_over_the_whole_sequence() -> None:
    lm = tiny_model("qwen2")
    ids = torch.randint(0, 8192, (700,), generator=torch.Generator().manual_seed(0)).tolist()
    with torch.inference_mode():
        plain = lm.model(input_ids=torch.tensor([ids])).logits[0]
    session = ModelSession(lm.model, lm.device)
    assert lm.model.config._attn_implementation == attention.NAME
    session.prefill(ids[:600], chunk=256)  # chunks after a cache, and the first one without
    wide = session.forward(ids[600:690])
    session.rollback(650)  # a verify's rejected tail dropped, then one position at a time
    narrow = torch.cat([session.forward([token]) for token in ids[650:700]])
    assert torch.allclose(wide, plain[600:690], atol=1e-4)
    assert torch.allclose(narrow, plain[650:700], atol=1e-4)
    assert torch.equal(wide.argmax(-1), plain[600:690].argmax(-1))


def test_other_callers_of_the_model_keep_transformers_masks_padding_included() -> None:
    lm = tiny_model("llama")
    ids = torch.randint(3, 8192, (2, 40), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    mask[1, :15] = 0  # a left-padded row, as a training batch or generate pads it
    with torch.inference_mode():
        before = lm.model(input_ids=ids, attention_mask=mask).logits
        ModelSession(lm.model, lm.device)
        after = lm.model(input_ids=ids, attention_mask=mask).logits
    assert lm.model.config._attn_implementation == attention.NAME
    assert torch.equal(before, after)


def test_it_is_enabled_only_on_a_cpu_for_full_attention_models() -> None:
    lm = tiny_model("qwen2")
    assert not attention.eligible(lm.model, torch.device("cuda"))
    sliding = copy.deepcopy(lm.model.config)
    sliding.layer_types = ["sliding_attention", "full_attention"]
    assert not attention.eligible(SimpleNamespace(config=sliding), lm.device)
    eager = tiny_model("llama", seed=99)  # not the shared one: its attention changes here
    eager.model.set_attn_implementation("eager")  # a user's choice is left alone
    assert attention.enable(eager.model, eager.device) == {}
    assert eager.model.config._attn_implementation == "eager"


def test_a_model_saved_after_a_session_does_not_name_the_engine_s_attention(tmp_path: Path) -> None:
    lm = tiny_model("llama")
    ModelSession(lm.model, lm.device)
    lm.model.save_pretrained(str(tmp_path))  # what training's export does after evaluating with the engine
    assert attention.NAME not in (tmp_path / "config.json").read_text(encoding="utf-8")
