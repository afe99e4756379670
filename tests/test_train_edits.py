"""Properties of the synthetic edit generators: correct, parseable, reversible ground truth."""

from __future__ import annotations

import ast
import random

import pytest

from fastapply.train.dataset import GENERATORS
from fastapply.train.edit_rename import make_rename, rename_tokens
from fastapply.train.edit_simple import make_add_import, make_noop, make_remove_prints
from fastapply.train.sources import Source, chunks, is_held_out

SAMPLE = '''"""A small module."""

import os
import sys


def load_items(path, limit=10):
    items = []
    with open(path) as fh:
        for line in fh:
            print("line", line)
            items.append(line.strip())
    return items[:limit]


class ItemStore:
    def __init__(self, root):
        self.root = root

    def count_items(self):
        """How many items there are."""
        total = len(load_items(os.path.join(self.root, "items.txt")))
        print(total)
        return total

    def describe(self):
        return f"{self.root}: {self.count_items()} items; load_items in a string"


def main():
    store = ItemStore(sys.argv[1])
    return store.count_items()
'''


@pytest.mark.parametrize("seed", range(40))
def test_every_generator_output_parses_and_differs_only_when_it_should(seed: int) -> None:
    rng = random.Random(seed)
    for name, gen in GENERATORS.items():
        edit = gen(rng, SAMPLE, "pkg/items.py")
        if edit is None:
            continue
        ast.parse(edit.after)
        assert edit.before == SAMPLE
        assert edit.instruction.strip()
        if name == "noop":
            assert edit.after == edit.before
        else:
            assert edit.after != edit.before, (name, edit.instruction)


def _names(text: str) -> list[str]:
    import io
    import tokenize

    return [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.NAME]


@pytest.mark.parametrize("seed", range(60))
def test_reversing_a_rename_restores_the_original_byte_for_byte(seed: int) -> None:
    edit = make_rename(random.Random(seed), SAMPLE)
    assert edit is not None
    before, after = _names(SAMPLE), _names(edit.after)
    assert len(before) == len(after)
    pairs = {(a, b) for a, b in zip(before, after) if a != b}
    assert len(pairs) == 1, pairs  # one name changed, consistently
    old, new = pairs.pop()
    assert new not in before
    assert new in edit.instruction
    assert rename_tokens(edit.after, new, old) == SAMPLE


def test_rename_touches_code_but_not_strings() -> None:
    after = rename_tokens(SAMPLE, "load_items", "read_entries")
    assert "def read_entries(path" in after
    assert "len(read_entries(os.path.join" in after
    assert "load_items in a string" in after  # inside an f-string literal part: not code
    assert "load_items(" not in after


def test_noop_leaves_the_file_unchanged() -> None:
    for seed in range(10):
        edit = make_noop(random.Random(seed), SAMPLE)
        assert edit.after == SAMPLE


def test_remove_prints_removes_exactly_the_print_lines() -> None:
    edit = make_remove_prints(random.Random(0), SAMPLE)
    assert edit is not None
    assert "print(" not in edit.after
    kept = [line for line in SAMPLE.splitlines(keepends=True) if "print(" not in line]
    assert edit.after == "".join(kept)


def test_add_import_goes_after_the_last_import() -> None:
    for seed in range(20):
        edit = make_add_import(random.Random(seed), SAMPLE)
        if edit is None:
            continue
        lines = edit.after.splitlines()
        assert lines[:4] == SAMPLE.splitlines()[:4]
        assert lines[4].startswith(("import ", "from "))
        assert lines[5:] == SAMPLE.splitlines()[4:]


def test_chunks_parse_and_stay_within_line_bounds() -> None:
    source = Source(path="pkg/items.py", text=SAMPLE * 3)
    pieces = chunks(source, min_lines=10, max_lines=40)
    assert pieces
    for piece in pieces:
        ast.parse(piece.text)
        assert 10 <= piece.text.count("\n") <= 40


def test_held_out_split_is_stable_and_by_path() -> None:
    paths = [f"pkg/mod_{i}.py" for i in range(400)]
    first = [is_held_out(p) for p in paths]
    assert first == [is_held_out(p) for p in paths]
    assert 0 < sum(first) < 60


def test_remove_prints_on_a_file_without_prints_targets_the_untouched_file() -> None:
    clean = SAMPLE.replace('            print("line", line)\n', "").replace("        print(total)\n", "")
    edit = make_remove_prints(random.Random(1), clean)
    assert edit is not None
    assert edit.after == clean
    assert "print(" in edit.before
    ast.parse(edit.before)


@pytest.mark.parametrize("seed", range(30))
def test_snippet_merge_carries_the_changed_lines_and_the_marker(seed: int) -> None:
    from fastapply.train.edit_snippet import MARKER, make_snippet

    edit = make_snippet(random.Random(seed), SAMPLE)
    if edit is None:
        return
    ast.parse(edit.after)
    shown = [line.strip() for line in edit.instruction.splitlines()[1:] if line.strip() and not line.startswith("```")]
    after_lines = {line.strip() for line in edit.after.splitlines()}
    for line in shown:
        assert line == MARKER or line in after_lines
    new_lines = set(edit.after.splitlines()) - set(edit.before.splitlines())
    assert any(line.strip() in shown for line in new_lines)


@pytest.mark.parametrize("seed", range(10))
def test_scrambled_source_parses_and_renames_names_consistently(seed: int) -> None:
    from fastapply.train.scramble import scramble

    out = scramble(SAMPLE, random.Random(seed))
    assert out is not None and out != SAMPLE
    ast.parse(out)
    before, after = _names(SAMPLE), _names(out)
    assert len(before) == len(after)
    mapping: dict[str, str] = {}
    for a, b in zip(before, after):
        assert mapping.setdefault(a, b) == b  # one old name -> one new name
    assert mapping["def"] == "def" and mapping["self"] == "self" and mapping["print"] == "print"
    assert len(set(mapping.values())) == len(mapping)  # and never two names merged into one
