"""The state of one pass through the app: what was picked, asked, generated and decided.

A plain object the screens share through the app. It holds results from ``fastapply.edit`` and
the user's per-hunk decisions; it does not know about widgets, threads or the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def is_reviewable(result: Any) -> bool:
    """Only a complete rewrite that changed something may be reviewed and applied."""
    return getattr(result, "status", "") == "changed" and getattr(result, "finish_reason", "") == "stop"


@dataclass
class Session:
    """Selected paths (repository-relative, in pick order), the instruction, results, decisions."""

    repo_root: Path
    selected: list[str] = field(default_factory=list)
    instruction: str = ""
    results: dict[str, Any] = field(default_factory=dict)
    # path -> hunk index -> True (accepted) / False (rejected); absent means undecided
    decisions: dict[str, dict[int, bool]] = field(default_factory=dict)
    applied: bool = False  # the results of this pass were written (nothing is lost by leaving)

    def toggle(self, path: str) -> bool:
        """Select or unselect ``path``; returns whether it is selected now."""
        if path in self.selected:
            self.selected.remove(path)
            return False
        self.selected.append(path)
        return True

    def add(self, paths: list[str]) -> int:
        """Select each of ``paths`` not selected yet; returns how many were added."""
        added = [p for p in paths if p not in self.selected]
        self.selected.extend(added)
        return len(added)

    def start_generation(self, instruction: str) -> None:
        self.instruction = instruction
        self.results.clear()
        self.decisions.clear()
        self.applied = False

    def reviewable(self) -> list[Any]:
        return [r for r in self.results.values() if is_reviewable(r)]

    def decide(self, path: str, index: int, accepted: bool) -> None:
        self.decisions.setdefault(path, {})[index] = accepted

    def decision(self, path: str, index: int) -> bool | None:
        return self.decisions.get(path, {}).get(index)

    def accepted(self) -> dict[str, set[int]]:
        """Accepted hunk indices of each reviewable file (files with none accepted included)."""
        out: dict[str, set[int]] = {}
        for result in self.reviewable():
            chosen = self.decisions.get(result.path, {})
            out[result.path] = {i for i, ok in chosen.items() if ok}
        return out

    def counts(self, path: str | None = None) -> tuple[int, int]:
        """(accepted, total) hunks of one file, or of every reviewable file when ``path`` is None."""
        accepted = total = 0
        for result in self.reviewable():
            if path is not None and result.path != path:
                continue
            chosen = self.decisions.get(result.path, {})
            total += len(result.hunks)
            accepted += sum(1 for h in result.hunks if chosen.get(h.index))
        return accepted, total

    def reset(self) -> None:
        """Forget everything after an apply, so the next pass starts clean."""
        self.selected.clear()
        self.instruction = ""
        self.results.clear()
        self.decisions.clear()
        self.applied = False
