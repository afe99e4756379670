"""Properties of the TUI's pure parts: coalescing, glob and fuzzy matching, history, the session,
diff rows, the help table, and the ``fastapply tui`` command's start-up."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from tui_fakes import make_demo_repo

from fastapply.diff import split_hunks
from fastapply.tui import history
from fastapply.tui._coalesce import Coalescer
from fastapply.tui._match import fuzzy_rank, fuzzy_score, glob_filter, glob_match
from fastapply.tui.session import Session
from fastapply.tui.widgets.diff_render import highlight_lines, lexer_name, rows, side_by_side, unified


class StepClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_coalescer_emits_at_most_once_per_interval_and_loses_nothing() -> None:
    clock = StepClock()
    out: list[str] = []
    coalescer = Coalescer(out.append, interval=0.1, clock=clock)
    for i in range(100):
        clock.now = i * 0.01  # 100 pieces over one second
        coalescer.push(str(i % 10))
    coalescer.flush()
    assert "".join(out) == "".join(str(i % 10) for i in range(100))
    assert len(out) <= 12
    assert coalescer.chars == 100


def test_coalescer_flush_with_nothing_buffered_emits_nothing() -> None:
    out: list[str] = []
    coalescer = Coalescer(out.append, interval=0.0)
    coalescer.push("")
    coalescer.flush()
    assert out == []
    with pytest.raises(ValueError):
        Coalescer(out.append, interval=-1)


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("src/**/*.py", "src/a.py", True),
        ("src/**/*.py", "src/x/y/a.py", True),
        ("src/*.py", "src/x/a.py", False),
        ("*.py", "deep/dir/a.py", True),
        ("*.py", "a.pyc", False),
        ("docs/?.md", "docs/a.md", True),
        ("docs/?.md", "docs/ab.md", False),
        ("src/[ab].py", "src/b.py", True),
        ("src/[!ab].py", "src/b.py", False),
        ("", "a.py", False),
    ],
)
def test_glob_match(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected


def test_glob_filter_keeps_order() -> None:
    assert glob_filter("**/*.py", ["b.py", "a.txt", "x/a.py"]) == ["b.py", "x/a.py"]


def test_fuzzy_requires_every_character_in_order() -> None:
    assert fuzzy_score("tua", "tui/app.py") > 0
    assert fuzzy_score("aut", "tui/app.py") == 0
    assert fuzzy_rank("", ["b", "a"]) == ["b", "a"]


def test_fuzzy_prefers_file_name_matches() -> None:
    ranked = fuzzy_rank("app", ["docs/a/p/p.txt", "tui/app.py", "zzz"])
    assert ranked == ["tui/app.py", "docs/a/p/p.txt"]


def test_history_round_trip_multiline_and_dedupe(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "h.jsonl"
    entries: list[str] = []
    history.remember(entries, "one", path)
    history.remember(entries, "two\nlines", path)
    history.remember(entries, "one", path)
    history.remember(entries, "   ", path)
    assert entries == ["two\nlines", "one"]
    assert history.load(path) == ["two\nlines", "one"]
    path.write_text('"ok"\nnot json\n42\n')
    assert history.load(path) == ["ok"]
    assert history.load(tmp_path / "missing") == []
    assert history.load(None) == []


class _Result:
    def __init__(self, path: str, before: str, after: str, status: str = "changed", finish: str = "stop") -> None:
        self.path, self.before, self.after = path, before, after
        self.status, self.finish_reason = status, finish
        self.hunks = split_hunks(before, after)


def test_session_counts_and_accepted_only_cover_complete_changed_results(tmp_path: Path) -> None:
    before = "".join(f"{i}\n" for i in range(30))
    after = before.replace("2\n", "two\n", 1).replace("25\n", "x\n")
    session = Session(repo_root=tmp_path)
    session.results = {
        "a": _Result("a", before, after),
        "b": _Result("b", before, after, finish="cancelled", status="failed"),
        "c": _Result("c", before, after, finish="length", status="failed"),
    }
    assert [r.path for r in session.reviewable()] == ["a"]
    session.decide("a", 0, True)
    session.decide("a", 1, False)
    session.decide("b", 0, True)
    assert session.accepted() == {"a": {0}}
    assert session.counts() == (1, 2)
    session.start_generation("again")
    assert session.results == {} and session.decisions == {}


def test_session_toggle_and_add() -> None:
    session = Session(repo_root=Path("."))
    assert session.toggle("a") is True
    assert session.add(["a", "b", "c"]) == 2
    assert session.toggle("a") is False
    assert session.selected == ["b", "c"]


def test_diff_rows_number_lines_like_the_hunk_header() -> None:
    before = "a\nb\nc\nd\ne\nf\ng\nh\n"
    after = "a\nb\nc\nD\ne\nf\ng\nh\nadded\n"
    for hunk in split_hunks(before, after):
        old = [r.old for r in rows(hunk) if r.old is not None]
        new = [r.new for r in rows(hunk) if r.new is not None]
        assert old == list(range(hunk.old_start, hunk.old_start + hunk.old_len))
        assert new == list(range(hunk.new_start, hunk.new_start + hunk.new_len))


def _plain(renderable: Any, width: int = 100) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_unified_and_side_by_side_show_both_versions() -> None:
    before = "def f():\n    return 'foo'\n"
    after = "def f():\n    return 'bar'\n"
    (hunk,) = split_hunks(before, after)
    old, new = highlight_lines(before, "x.py", True), highlight_lines(after, "x.py", True)
    text = _plain(unified(hunk, old, new, dark=True))
    assert "-     return 'foo'" in text and "+     return 'bar'" in text
    line = next(line for line in _plain(side_by_side(hunk, old, new, dark=False)).splitlines() if "foo" in line)
    assert "bar" in line  # the removed and the added line sit on one row


def test_highlighting_keeps_text_and_drops_theme_background() -> None:
    code = "x = 'a'\n# note\n"
    lines = highlight_lines(code, "m.py", True)
    assert [t.plain for t in lines[:2]] == ["x = 'a'", "# note"]
    assert lines[0].spans and all(span.style.bgcolor is None for span in lines[0].spans)  # type: ignore[union-attr]
    assert lexer_name("a/b/c.py") == "python" and lexer_name("x.unknownext") == "text"


def test_help_lists_every_binding_with_a_description() -> None:
    from fastapply.tui.app import FastApplyApp
    from fastapply.tui.screens.help import key_sections
    from fastapply.tui.screens.review import ReviewScreen

    listed = {does for _, rows_ in key_sections() for _, does in rows_}
    for cls in (FastApplyApp, ReviewScreen):
        for binding in cls.BINDINGS:
            assert (binding.tooltip or binding.description) in listed  # type: ignore[union-attr]


def test_cli_tui_builds_the_app_without_loading_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapply.cli import tui as cli_tui
    from fastapply.tui.app import FastApplyApp

    repo = make_demo_repo(tmp_path / "demo")
    seen: dict[str, Any] = {}

    def fake_run(self: FastApplyApp, *args: Any, **kwargs: Any) -> None:
        seen["config"] = self.config
        seen["backend"] = self.backend

    monkeypatch.setattr(FastApplyApp, "run", fake_run)
    args = argparse.Namespace(path=str(repo / "src"), model=None, device="cpu", dtype=None,
                              max_new_tokens=None, no_history=False)
    assert cli_tui.main(args) == 0
    config = seen["config"]
    assert config.path == repo.resolve() and config.model == "default" and config.device == "cpu"
    assert config.history_path is not None and ".git" in config.history_path.parts
    assert seen["backend"] is None


def test_cli_tui_outside_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    from fastapply.cli import main

    assert main(["tui", str(tmp_path)]) == 2


def test_bare_fastapply_with_a_model_opens_the_tui_with_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapply.cli import main
    from fastapply.tui.app import FastApplyApp

    repo = make_demo_repo(tmp_path / "demo")
    (repo / ".fastapply.toml").write_text("max_bytes = 1234\nallow_deletion = true\nmax_new_tokens = 77\n")
    seen: dict[str, Any] = {}

    def fake_run(self: FastApplyApp, *args: Any, **kwargs: Any) -> None:
        seen["config"] = self.config

    monkeypatch.setattr(FastApplyApp, "run", fake_run)
    assert main(["--model", str(tmp_path / "my-model"), str(repo)]) == 0  # as the README writes it
    config = seen["config"]
    assert config.model == str(tmp_path / "my-model") and config.path == repo.resolve()
    assert (config.max_bytes, config.allow_deletion, config.max_new_tokens) == (1234, True, 77)


def test_decode_rate_leaves_out_the_time_to_first_token() -> None:
    from fastapply.engine.types import GenerationStats
    from fastapply.tui.screens._progress import FileProgress

    entry = FileProgress("a.py", 100)
    result = argparse.Namespace(
        status="changed", finish_reason="stop", reason="", hunks=[1],
        stats=GenerationStats(tokens=100, seconds=12.0, time_to_first_token=10.0, draft_proposed=10, draft_accepted=5),
    )
    entry.finished(result)
    assert entry.tokens_per_second == pytest.approx(50.0)  # 100 tokens in the 2 s after the first
    assert entry.first_text == pytest.approx(10.0)
    entry.streamed(40, 3.0)  # live: the same rule from the streamed text
    live = FileProgress("b.py", 100)
    live.streamed(4, 2.0)
    live.streamed(40, 3.0)
    assert live.first_text == 2.0 and live.tokens_per_second == pytest.approx(10.0)


def test_an_uncached_hub_id_gets_a_hint_and_local_models_do_not(tmp_path: Path) -> None:
    from fastapply.tui.model_hint import uncached_hub_id

    hint = uncached_hub_id("nobody/not-cached-here", cache_dir=tmp_path)
    assert hint is not None and "HF_HUB_OFFLINE=1" in hint and "nobody/not-cached-here" in hint
    assert uncached_hub_id("default", cache_dir=tmp_path) is None
    (tmp_path / "local").mkdir()
    assert uncached_hub_id(str(tmp_path / "local"), cache_dir=tmp_path) is None


def test_over_context_counts_the_file_twice_and_says_the_numbers() -> None:
    from fastapply.tui.tokens import TokenCount, over_context

    assert over_context(TokenCount(50, True), 100) is None
    assert over_context(TokenCount(51, True), 100) == (
        "over the context: 51 tokens in and as many out need 102; the model holds 100"
    )
    assert "~51" in (over_context(TokenCount(51, False), 100) or "")
    assert over_context(TokenCount(10**6, False), None) is None  # no model yet: nothing to judge
