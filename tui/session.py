"""The state of one pass through the app: what was picked, asked, generated and decided.

A plain object the screens share through the app. It holds results from ``fastapply.edit`` and
the user's per-hunk decisions; it does not know about widgets, threads or the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


def is_reviewable(result: Any) -> bool:
    """A complete rewrite that changed something, or one whose checks failed, may be reviewed."""
    status = getattr(result, "status", "")
    return status in ("changed", "check-failed") and getattr(result, "finish_reason", "") == "stop"


def is_check_failed(result: Any) -> bool:
    """Reviewable but blocked: applied only after the person asks for it (``Session.force``)."""
    return getattr(result, "status", "") == "check-failed"


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
    # check-failed files the person chose to apply anyway; any other check-failed file is not written
    forced: set[str] = field(default_factory=set)
    # the commit of the last undone apply: undo leaves it in history, and a later commit of the
    # same files is refused because of the files the undo restored (kept across passes)
    undone_commit: str | None = None

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
        self.drop_results()

    def drop_results(self) -> None:
        """Forget this pass's rewrites and decisions (the person chose to drop them)."""
        self.results.clear()
        self.decisions.clear()
        self.forced.clear()
        self.applied = False

    def reviewable(self) -> list[Any]:
        return [r for r in self.results.values() if is_reviewable(r)]

    def decide(self, path: str, index: int, accepted: bool) -> None:
        self.decisions.setdefault(path, {})[index] = accepted

    def decision(self, path: str, index: int) -> bool | None:
        return self.decisions.get(path, {}).get(index)

    def blocked(self, path: str) -> bool:
        """Whether ``path``'s checks failed and the person has not chosen to apply it anyway."""
        return is_check_failed(self.results.get(path)) and path not in self.forced

    def force(self, path: str) -> bool:
        """Allow or disallow applying ``path`` despite failing checks; returns whether it is allowed now."""
        if path in self.forced:
            self.forced.discard(path)
            return False
        self.forced.add(path)
        return True

    def accepted(self) -> dict[str, set[int]]:
        """Accepted hunk indices of each reviewable file; a blocked file has none, whatever was decided."""
        out: dict[str, set[int]] = {}
        for result in self.reviewable():
            chosen = self.decisions.get(result.path, {})
            out[result.path] = set() if self.blocked(result.path) else {i for i, ok in chosen.items() if ok}
        return out

    def to_apply(self) -> list[Any]:
        """The reviewable results as ``apply_results`` takes them: a forced check-failed one as changed."""
        out = []
        for result in self.reviewable():
            if is_check_failed(result) and result.path in self.forced:
                result = replace(result, status="changed")  # the core writes only "changed"
            out.append(result)
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
        self.forced.clear()
        self.applied = False
