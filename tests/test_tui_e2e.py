"""End to end through the TUI with the real engine: select, instruct, review, apply.

The model is a one-layer GPT-2 whose weights are set by hand so that its greedy output is known:
the attention and MLP write nothing, so each position's logits come from its position embedding
alone, and the output head maps the positions after the prompt to the tokens of the expected
rewrite. Everything else is real: ``load_backend`` loads it from a folder of safetensors with the
project tokenizer, the engine builds the prompt, drafts from the original, verifies and streams.
The properties checked are the ones a user relies on: what streamed is the whole rewrite, and
the file on disk is what was reviewed. (The streamed-tail check caught a stop-token bug in
``engine/stream.py``: a verified batch holding tokens after the stop token lost its last text.)
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapply.engine.api")

from tui_fakes import generate, git, make_demo_repo, review, wait_for  # noqa: E402

from fastapply.diff import merge_hunks  # noqa: E402
from fastapply.tui.app import create_app  # noqa: E402
from fastapply.tui.screens.apply import ApplyScreen  # noqa: E402

INSTRUCTION = "rename x to y"
BEFORE = "x = 1\na = 2\nb = 3\nc = 4\nd = 5\ne = 6\nf = 7\ng = 8\nz = x + 1\n"
AFTER = BEFORE.replace("x", "y")


def position_model(folder: Path, prompt_ids: list[int], target: list[int]) -> Path:
    """Save a GPT-2 whose greedy continuation of ``prompt_ids`` is ``target``."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from fastapply.engine.load import TOKENIZER_DIR, load_tokenizer

    tokenizer = load_tokenizer()
    width = 128
    config = GPT2Config(
        vocab_size=len(tokenizer), n_positions=1024, n_embd=width, n_layer=1, n_head=2,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config).eval()
    directions = torch.randn(1024, width, generator=torch.Generator().manual_seed(1))
    directions = torch.nn.functional.normalize(directions, dim=1)
    directions -= directions.mean(dim=1, keepdim=True)  # survives the final LayerNorm's centring
    with torch.no_grad():
        for block in model.transformer.h:
            for layer in (block.attn.c_proj, block.mlp.c_proj):
                layer.weight.zero_()
                layer.bias.zero_()
        model.transformer.wte.weight.zero_()
        model.transformer.wpe.weight.copy_(directions * 10)
        model.lm_head.weight.zero_()
        first = len(prompt_ids) - 1  # the last prompt position predicts the first output token
        for offset, token in enumerate(target):
            model.lm_head.weight[token] += directions[first + offset] * 10
    model.save_pretrained(folder, safe_serialization=True)
    for item in Path(TOKENIZER_DIR).iterdir():
        shutil.copy(item, folder / item.name)
    return folder


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    from fastapply.engine.load import load_tokenizer
    from fastapply.engine.prompt import build_prompt, target_ids

    tokenizer = load_tokenizer()
    prompt = build_prompt(tokenizer, INSTRUCTION, BEFORE, "src/m.py")
    return position_model(tmp_path / "model", prompt.ids, target_ids(tokenizer, AFTER))


@pytest.mark.slow
async def test_reviewed_result_is_what_lands_on_disk(tmp_path: Path, model_dir: Path) -> None:
    repo = make_demo_repo(tmp_path / "demo")
    (repo / "src/m.py").write_text(BEFORE)
    git(repo, "add", "src/m.py")
    # no substitute: the app loads through fastapply.backend.load_model, as the CLI does
    app = create_app(path=repo, model=str(model_dir), device="cpu", dtype="float32", review_grace=0.0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await generate(pilot, "src/m.py", text=INSTRUCTION)
        assert app.model_name == str(model_dir) and app.model_device == "cpu"
        result: Any = app.session.results["src/m.py"]
        assert (result.status, result.finish_reason) == ("changed", "stop"), result.reason
        assert result.after == AFTER
        assert "".join(screen.texts["src/m.py"]) == AFTER  # what streamed is the whole rewrite
        assert len(result.hunks) == 2
        await review(pilot)
        await pilot.press("space", "x")  # first hunk in, second out
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ApplyScreen))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen.record is not None, timeout=20)
    assert (repo / "src/m.py").read_text() == merge_hunks(BEFORE, AFTER, {0})
    assert (repo / "src/m.py").read_text().startswith("y = 1\n")
    assert (repo / "src/m.py").read_text().endswith("z = x + 1\n")

