"""The one test of "is this valid Unicode" every layer uses, and the escape a terminal can show."""

from __future__ import annotations

import os

from fastapply.unicode import lone_surrogate, shown


def test_a_lone_surrogate_is_found_at_its_index() -> None:
    assert lone_surrogate("ok \ud800 x") == 3
    assert lone_surrogate("caf\u00e9 \U0001f600") is None


def test_a_name_that_is_not_utf8_is_shown_with_byte_escapes_and_valid_text_unchanged() -> None:
    name = os.fsdecode(b"bad\xff.py")
    assert lone_surrogate(name) == 3
    assert shown(name) == "bad\\xff.py"
    assert shown("caf\u00e9.py") == "caf\u00e9.py"


def test_control_characters_in_a_name_are_escaped_so_a_report_line_stays_one_line() -> None:
    name = "new\nline\x1b[2J.py"
    assert shown(name) == "new\\x0aline\\x1b[2J.py"
    assert "\n" not in shown(name) and "\x1b" not in shown(name)
