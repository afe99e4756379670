"""The range-checked argparse types: a value out of range is a usage error at parse time."""

from __future__ import annotations

import argparse

import pytest

from fastapply.cli.numbers import integer, real


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="t", exit_on_error=False)
    parser.add_argument("--count", type=integer(0))
    parser.add_argument("--size", type=integer(1))
    parser.add_argument("--rate", type=real(above=0))
    parser.add_argument("--decay", type=real(above=0, at_most=1))
    return parser


@pytest.mark.parametrize("argv", [
    ["--count", "-1"], ["--size", "0"], ["--size", "x"], ["--rate", "0"], ["--rate", "nan"],
    ["--rate", "inf"], ["--rate", "-1e-3"], ["--decay", "1.5"], ["--decay", "0"],
])
def test_out_of_range_is_refused_at_parse_time(argv: list[str]) -> None:
    with pytest.raises(argparse.ArgumentError):
        _parser().parse_args(argv)


def test_values_in_range_pass_through() -> None:
    args = _parser().parse_args(["--count", "0", "--size", "3", "--rate", "2e-3", "--decay", "1"])
    assert (args.count, args.size, args.rate, args.decay) == (0, 3, 2e-3, 1.0)
