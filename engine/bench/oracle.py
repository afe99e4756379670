"""The lookup bound: the fewest forwards any lookup drafter could need to write a known output.

At every step the oracle knows the answer and picks, among every earlier occurrence of the last
token in the prompt plus the output so far, the one whose continuation matches the answer the
longest; one forward then verifies that draft and adds the model's own token. No drafter that
copies from the prompt or the output can do better, so a method's forwards over this bound say how
close to the limit it is. This module knows token lists only.
"""

from __future__ import annotations

from collections import defaultdict


def lookup_bound(prompt: list[int], target: list[int], cap: int | None = None) -> int:
    """Forwards after the prefill to write ``target`` (the prefill writes its first token)."""
    sequence = list(prompt)
    where: dict[int, list[int]] = defaultdict(list)  # token -> positions in ``sequence``
    for at, token in enumerate(sequence):
        where[token].append(at)

    def append(token: int) -> None:
        where[token].append(len(sequence))
        sequence.append(token)

    if not target:
        return 0
    append(target[0])
    done, forwards = 1, 0
    while done < len(target):
        last = sequence[-1]
        best = 0
        limit = len(target) - done if cap is None else min(cap, len(target) - done)
        for at in where[last][:-1]:  # earlier occurrences, not the last token itself
            length = 0
            while (length < limit and at + 1 + length < len(sequence)
                   and sequence[at + 1 + length] == target[done + length]):
                length += 1
            best = max(best, length)
            if best == limit:
                break
        forwards += 1
        # The accepted draft plus the model's own token (none past the end).
        for token in target[done : min(len(target), done + best + 1)]:
            append(token)
        done = min(len(target), done + best + 1)
    return forwards
