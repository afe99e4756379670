"""argparse ``type`` callables for numeric options with a range: a value out of range is refused
while the arguments are parsed (exit 2, naming the rule), before any data or model is loaded.

Knows numbers and argparse; nothing about what the options mean.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def integer(minimum: int) -> Callable[[str], int]:
    """An integer of at least ``minimum`` (0: a count that may be zero, 1: a positive count)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            rule = "positive" if minimum == 1 else f"at least {minimum}"
            raise argparse.ArgumentTypeError(f"must be {rule}, not {value}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its message
    return parse


def real(*, above: float | None = None, at_least: float | None = None,
         at_most: float | None = None) -> Callable[[str], float]:
    """A finite number in a range: ``above`` (exclusive) or ``at_least``, and ``at_most`` (inclusive)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, not {text}")
        if above is not None and value <= above:
            raise argparse.ArgumentTypeError(f"must be above {above:g}, not {value:g}")
        if at_least is not None and value < at_least:
            raise argparse.ArgumentTypeError(f"must be at least {at_least:g}, not {value:g}")
        if at_most is not None and value > at_most:
            raise argparse.ArgumentTypeError(f"must be at most {at_most:g}, not {value:g}")
        return value

    parse.__name__ = "number"
    return parse
