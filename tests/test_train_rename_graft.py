"""Grafting trained copy-preset layers above the rename layer: a widened layer computes on the old
dims exactly what it computed before, the grafted model has the rename layer where asked, and
`fastapply train graft-rename` turns the default model into one that renames a one-token name."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from engine_support import SAMPLE  # noqa: E402

from fastapply.train.copy_prior import PriorLayout, build_copy_prior  # noqa: E402
from fastapply.train.rename_graft import WIRED, _widen, graft  # noqa: E402


@pytest.fixture(scope="module")
def tokenizer():
    from fastapply.engine.load import TOKENIZER_DIR, load_tokenizer

    return load_tokenizer(TOKENIZER_DIR)


@pytest.fixture(scope="module")
def trained(tokenizer):
    model = build_copy_prior(tokenizer, PriorLayout(layers=5)).eval()
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for layer in model.model.layers[WIRED:]:
            for p in layer.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05 + (1.0 if p.ndim == 1 else 0.0))
    return model


def test_a_widened_layer_computes_the_same_on_the_old_dims(trained) -> None:
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaDecoderLayer, LlamaRotaryEmbedding

    old = trained.model.layers[3]
    cfg = LlamaConfig(**{**trained.config.to_dict(), "hidden_size": 420})
    cfg._attn_implementation = old.self_attn.config._attn_implementation  # the same masking as the original
    wide = LlamaDecoderLayer(cfg, 3).eval()
    wide.load_state_dict(_widen(old.state_dict(), 420))
    x = torch.randn(1, 12, 417)
    x_wide = torch.cat([x, torch.zeros(1, 12, 3)], dim=-1)
    pos = torch.arange(12)[None]
    with torch.no_grad():
        rope = LlamaRotaryEmbedding(trained.config)(x, pos)
        a = old(x, position_embeddings=rope, position_ids=pos)
        b = wide(x_wide, position_embeddings=rope, position_ids=pos)
    a, b = (t[0] if isinstance(t, tuple) else t for t in (a, b))
    assert torch.allclose(b[..., :417], a, atol=1e-5) and not b[..., 417:].any()


@pytest.mark.parametrize("rename_last", [False, True])
def test_the_rename_layer_sits_where_asked(tokenizer, trained, rename_last) -> None:
    model = graft(trained, tokenizer, (4, 3), rename_last=rename_last)
    layers = model.model.layers
    assert len(layers) == WIRED + 3 and model.config.hidden_size == 420
    rename_at = WIRED + 2 if rename_last else WIRED
    slots = [i for i in range(WIRED, WIRED + 3) if i != rename_at]
    for slot, src in zip(slots, (4, 3)):
        assert torch.equal(layers[slot].mlp.up_proj.weight[:, :417], trained.model.layers[src].mlp.up_proj.weight)
    with pytest.raises(ValueError, match="must lie in"):
        graft(trained, tokenizer, (2,))


def _rewrite(folder, instruction: str) -> str:
    from fastapply.engine.api import Engine
    from fastapply.engine.load import load_model
    from fastapply.engine.types import GenerationRequest

    engine = Engine(load_model(str(folder), device="cpu"))
    return engine.generate(GenerationRequest(code=SAMPLE, instruction=instruction, path="calc.py")).text


def test_the_cli_grafts_the_default_model_into_one_that_renames_a_one_token_name(tmp_path, capsys) -> None:
    from fastapply.cli import main
    from fastapply.engine.assets import DEFAULT_MODEL_DIR

    grafted = tmp_path / "renaming"
    assert main(["train", "graft-rename", "--to", str(grafted)]) == 0
    assert capsys.readouterr().out.strip() == str(grafted / "model.safetensors")
    assert [p.name for p in tmp_path.iterdir()] == ["renaming"]  # no partial folder left beside it
    instruction = "rename add -> sum"
    assert _rewrite(grafted, instruction) == SAMPLE.replace("add(", "sum(")
    assert _rewrite(DEFAULT_MODEL_DIR, instruction) == SAMPLE  # the shipped model copies


def test_the_cli_refuses_a_bad_graft_and_writes_nothing(tmp_path, capsys) -> None:
    from fastapply.cli import main

    assert main(["train", "graft-rename", "--to", str(tmp_path / "g"), "--keep", "1,4"]) == 2
    assert "trained layers to keep" in capsys.readouterr().err
    assert main(["train", "graft-rename", "--to", str(tmp_path / "g"), "--keep", "x"]) == 2
    assert "--keep" in capsys.readouterr().err
    (tmp_path / "taken").mkdir()
    assert main(["train", "graft-rename", "--to", str(tmp_path / "taken")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"] and not any((tmp_path / "taken").iterdir())
