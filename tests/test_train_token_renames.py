"""Held-out renames sorted by how the names tokenize: each kind's names tokenize as its name says,
the ground truth renames every use, and the instruction uses a form the wired rename path reads."""

from __future__ import annotations

import io
import tokenize

import pytest

from fastapply.train.token_renames import token_renames

TEXT = (
    "import os\n\n\n"
    "def total(items):\n"
    "    result = 0\n"
    "    for item in items:\n"
    "        result = result + item\n"
    "    return result\n\n\n"
    "class Store:\n"
    "    def __init__(self, root):\n"
    "        self.root = root\n"
    "        self.items = total([1, 2])\n"
    "        self.size = total([3])\n\n"
    "    def path(self):\n"
    "        return os.path.join(self.root, 'x')\n"
)


@pytest.fixture(scope="module")
def tokenizer():
    from fastapply.engine.load import TOKENIZER_DIR, load_tokenizer

    return load_tokenizer(TOKENIZER_DIR)


def _names(text: str) -> list[str]:
    return [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.NAME]


def test_kinds_match_how_the_names_tokenize(tokenizer) -> None:
    texts = [(f"m{i}.py", TEXT) for i in range(40)]
    edits = token_renames(tokenizer, texts, per_kind=3, seed=1)
    assert {e.kind for e in edits} == {"rename-1tok", "rename-1tok-attached", "rename-multitok-new"}
    for e in edits:
        old, new = e.meta["old"], e.meta["new"]
        assert len(tokenizer.encode(" " + old, add_special_tokens=False)) == 1
        assert (len(tokenizer.encode(" " + new, add_special_tokens=False)) > 1) == (e.kind == "rename-multitok-new")
        assert old not in _names(e.after) and _names(e.after).count(new) == _names(TEXT).count(old)
        assert f"{old} to {new}" in e.instruction or f"{old} -> {new}" in e.instruction
        if e.kind == "rename-1tok":
            assert all(f" {old}" in line for line in TEXT.splitlines() if old in _names(line))
