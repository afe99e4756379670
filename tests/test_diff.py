"""Diffs git accepts, hunks that unidiff agrees with, and merging any subset of hunks."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
import unidiff

from fastapply.diff import NO_NEWLINE, format_hunks, merge_hunks, split_hunks, unified_diff

CASES = {
    "one line": ("a\nb\nc\n", "a\nB\nc\n"),
    "add final newline": ("a\nb", "a\nb\n"),
    "drop final newline": ("a\nb\n", "a\nb"),
    "both without final newline": ("x\ny", "x\nz"),
    "from empty": ("", "new\n"),
    "to empty": ("old\n", ""),
    "append at end": ("a\nb\n", "a\nb\nc\nd\n"),
    "prepend": ("a\nb\n", "z\na\nb\n"),
    "far apart": ("".join(f"l{i}\n" for i in range(30)), "".join(f"l{i}\n" if i not in (2, 25) else f"L{i}\n" for i in range(30))),
    "form feed kept inside a line": ("a\n\x0cb\n", "a\n\x0cB\n"),
    "carriage return inside a line": ("a\rb\nc\n", "a\rB\nc\n"),
}


def _git_apply(tmp_path: Path, before: str, diff: str) -> str:
    target = tmp_path / "f.txt"
    target.write_bytes(before.encode())
    (tmp_path / "p.diff").write_bytes(diff.encode())
    subprocess.run(["git", "apply", "--unidiff-zero", "p.diff"], cwd=tmp_path, check=True, capture_output=True)
    return target.read_bytes().decode()


@pytest.mark.parametrize("name", sorted(CASES))
def test_git_apply_of_the_diff_produces_the_new_text(tmp_path: Path, name: str) -> None:
    before, after = CASES[name]
    diff = unified_diff(before, after, "f.txt")
    if before == "":
        pytest.skip("git apply wants an empty file announced as new; unidiff parsing covers it")
    assert _git_apply(tmp_path, before, diff) == after


@pytest.mark.parametrize("name", sorted(CASES))
def test_unidiff_parses_the_diff_and_agrees_on_hunks(name: str) -> None:
    before, after = CASES[name]
    diff = unified_diff(before, after, "pkg/f.py")
    patch = unidiff.PatchSet(diff)
    assert len(patch) == 1 and patch[0].path == "pkg/f.py"
    hunks = split_hunks(before, after)
    assert [(h.source_start, h.source_length, h.target_start, h.target_length) for h in patch[0]] == [
        (h.old_start, h.old_len, h.new_start, h.new_len) for h in hunks
    ]
    assert sum(h.added for h in hunks) == patch[0].added
    assert sum(h.removed for h in hunks) == patch[0].removed


def test_missing_final_newline_is_marked_on_the_right_side() -> None:
    diff = unified_diff("a\nb", "a\nc\n", "f")
    lines = diff.splitlines()
    assert lines[lines.index("-b") + 1] == NO_NEWLINE
    assert lines[-1] == "+c"
    assert unified_diff("same", "same", "f") == ""


def test_hunks_are_numbered_in_order_and_separated() -> None:
    before, after = CASES["far apart"]
    hunks = split_hunks(before, after)
    assert [h.index for h in hunks] == [0, 1]
    assert hunks[0].header.startswith("@@ -") and hunks[0].header.endswith(" @@")
    assert hunks[0].old_start + hunks[0].old_len < hunks[1].old_start


def _random_edit(rng: random.Random, lines: list[str]) -> list[str]:
    out = list(lines)
    for _ in range(rng.randint(1, 5)):
        at = rng.randrange(len(out) + 1)
        kind = rng.choice(["insert", "delete", "replace"])
        if kind == "insert" or not out or at == len(out):
            out.insert(at, f"new{rng.randrange(1000)}")
        elif kind == "delete":
            del out[at]
        else:
            out[at] = out[at] + "_x"
    return out


@pytest.mark.parametrize("seed", range(40))
def test_merging_any_subset_of_hunks_equals_applying_those_hunks(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    old_lines = [f"line{i}" for i in range(rng.randint(0, 40))]
    new_lines = _random_edit(rng, old_lines)
    before = "\n".join(old_lines) + ("\n" if rng.random() < 0.7 and old_lines else "")
    after = "\n".join(new_lines) + ("\n" if rng.random() < 0.7 and new_lines else "")
    hunks = split_hunks(before, after)
    assert merge_hunks(before, after, set(range(len(hunks)))) == after
    assert merge_hunks(before, after, set()) == before
    for _ in range(2 if len(hunks) > 1 else 0):
        chosen = set(rng.sample(range(len(hunks)), rng.randint(1, len(hunks) - 1)))
        merged = merge_hunks(before, after, chosen)
        # git applies the chosen hunks alone (it tolerates the line offsets of skipped ones).
        patch = format_hunks([h for h in hunks if h.index in chosen], "f.txt")
        assert _git_apply(tmp_path, before, patch) == merged
        assert merged not in (before, after)
