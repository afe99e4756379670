"""The wired rename path: on a toy file that uses ``add`` three times, the untrained rename prior
renames every use when asked ("add to sum", "add -> sum"), changes nothing else, and still copies a
file it is asked to leave alone; a method called as ``self.add`` (another token than " add") is
renamed too."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from fastapply.engine.load import TOKENIZER_DIR, load_tokenizer  # noqa: E402
from fastapply.train.copy_prior import PriorLayout, build_copy_prior  # noqa: E402
from fastapply.train.edit_rename import rename_tokens  # noqa: E402
from fastapply.train.rename_prior import build_rename_prior, rename_layout  # noqa: E402

CODE = (
    "import os\n\n\n"
    "def add(a, b):\n"
    "    return a + b\n\n\n"
    "def largest(paths):\n"
    "    sizes = [os.path.getsize(p) for p in paths]\n"
    "    return add(max(sizes, default=0), 1)\n\n\n"
    "class Report:\n"
    "    def __init__(self, title):\n"
    "        self.title = title.strip()\n"
    "        self.count = add(len(self.title), 2)\n"
)


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(TOKENIZER_DIR)


@pytest.fixture(scope="module")
def engine(tokenizer, tmp_path_factory):
    from fastapply.engine.api import Engine
    from fastapply.train.loop import save_model

    folder = tmp_path_factory.mktemp("rename_prior")
    save_model(build_rename_prior(tokenizer).eval(), tokenizer, folder)
    return Engine.load(str(folder), device="cpu", dtype="float32")


def _rewrite(engine, instruction: str, method: str = "greedy") -> tuple[str, str]:
    from fastapply.engine.types import GenerationRequest

    result = engine.generate(GenerationRequest(code=CODE, instruction=instruction, path="report.py",
                                               method=method, max_new_tokens=400))
    return result.text, result.finish_reason


@pytest.mark.parametrize("instruction", ["Rename the function add to sum.", "rename add -> sum"])
def test_every_use_is_renamed_and_nothing_else_changes(engine, instruction) -> None:
    expected = rename_tokens(CODE, "add", "sum")
    assert expected.count("sum(") == 3 and "add" not in expected
    for method in ("greedy", "speculative"):
        assert _rewrite(engine, instruction, method) == (expected, "stop"), method


METHOD = (
    "import os\n\n\n"
    "class Report:\n"
    "    def __init__(self, title):\n"
    "        self.title = title.strip()\n"
    "        self.count = 0\n\n"
    "    def add(self, n):\n"
    "        self.count = self.count + n\n"
    "        return self.count\n\n"
    "    def largest(self, paths):\n"
    "        sizes = [os.path.getsize(p) for p in paths]\n"
    "        return self.add(max(sizes, default=0))\n"
)


def test_a_method_called_through_self_is_renamed_at_both_spellings(engine, tokenizer) -> None:
    from fastapply.engine.types import GenerationRequest

    assert tokenizer.encode("self.add(", add_special_tokens=False)[2] != tokenizer.encode(" add", add_special_tokens=False)[0]
    result = engine.generate(GenerationRequest(code=METHOD, instruction="Rename the method add to push.",
                                               path="report.py", method="greedy", max_new_tokens=400))
    assert (result.text, result.finish_reason) == (rename_tokens(METHOD, "add", "push"), "stop")


def test_no_op_rewrites_stay_exact(engine) -> None:
    for instruction in ("Make no change.", "Leave this file as it is."):
        assert _rewrite(engine, instruction) == (CODE, "stop")


def test_the_plain_copy_prior_does_not_rename(tokenizer) -> None:
    """The property above comes from the rename layer: without it the old name stays."""
    from fastapply.engine.prompt import build_prompt, target_ids

    model = build_copy_prior(tokenizer, rename_layout(4)).eval()
    prompt = build_prompt(tokenizer, "Rename the function add to sum.", CODE, "report.py")
    target = target_ids(tokenizer, rename_tokens(CODE, "add", "sum"))
    with torch.no_grad():
        logits = model(torch.tensor([prompt.ids + target])).logits[0]
    predicted = logits.argmax(-1)[len(prompt.ids) - 1 : -1].tolist()
    assert predicted != target


def test_a_rename_layout_needs_its_dims_and_layers(tokenizer) -> None:
    with pytest.raises(ValueError, match="rename=True"):
        build_rename_prior(tokenizer, PriorLayout(layers=4))
    with pytest.raises(ValueError, match="cannot hold"):
        PriorLayout(hidden=417, rename=True)
