"""The pre-commit hook: configured instructions on staged files, and installing a plain git hook.

Each ``[[tool.fastapply.hook]]`` entry runs on the given files (all staged files when none are
given) that match its ``files`` glob (``fastapply.globs``), through the same edit loop, checks and
retries as ``run``. A symlink is skipped: its commit is the link text, and its target may not be
staged. A file whose work-tree copy differs from the index is refused rather than rewritten, so
staged and unstaged work are never mixed. The index is never touched: under ``git commit -a``
git holds ``index.lock`` and points ``GIT_INDEX_FILE`` at a temporary index, which the git calls
here inherit. A second run after staging the rewritten files changes nothing, because the
instructions are already satisfied.

This module knows git and the config, not how progress is shown.
"""

from __future__ import annotations

import os
import shlex
import stat
from dataclasses import dataclass, field
from pathlib import Path

from fastapply.batch import Events, LazyBackend, run_edits
from fastapply.config import Config
from fastapply.edit import EditOptions, EditResult
from fastapply.errors import RefusedError
from fastapply.repo import RepoInfo, has_unstaged_changes, staged_files

HOOK_MARKER = "# fastapply pre-commit hook"


@dataclass(slots=True)
class HookOutcome:
    results: list[EditResult] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)  # files at least one entry applies to


def _rel(repo: RepoInfo, path: str) -> str:
    full = Path(path) if os.path.isabs(path) else Path.cwd() / path
    try:
        return Path(os.path.normpath(full)).relative_to(repo.root).as_posix()
    except ValueError:
        return path  # outside the tree: read_for_edit refuses it with the reason


def run_hook(
    backend: LazyBackend,
    repo: RepoInfo,
    config: Config,
    files: list[str] | None = None,
    *,
    check: bool = False,
    options: EditOptions | None = None,
    events: Events | None = None,
) -> HookOutcome:
    """Run every configured entry on its files; write unless ``check``. Loads no model if no file matches."""
    outcome = HookOutcome()
    candidates = [_rel(repo, f) for f in files] if files else staged_files(repo)
    # a staged symlink commits its link text; rewriting through it would edit a file nobody staged
    candidates = [p for p in candidates if not os.path.islink(repo.root / p)]
    per_entry = [(entry, [p for p in candidates if entry.matches(p)]) for entry in config.hooks]
    targets = sorted({p for _, paths in per_entry for p in paths})
    outcome.targets = targets
    blocked: dict[str, EditResult] = {}
    for path in targets:
        if (repo.root / path).is_file() and has_unstaged_changes(repo, path):
            blocked[path] = EditResult(
                path=path,
                status="refused",
                reason="has unstaged changes; stage or stash them first so they are not mixed in",
            )
    events = events or Events()
    for result in blocked.values():
        events.file_completed(result, written=False)
    outcome.results.extend(blocked.values())
    for entry, paths in per_entry:
        todo = [str(repo.root / p) for p in paths if p not in blocked]
        if not todo:
            continue
        run = run_edits(backend, repo, todo, entry.instruction, options=options, write=not check, events=events)
        outcome.results.extend(run.results)
        outcome.written.extend(p for p in run.written if p not in outcome.written)
    return outcome


def hook_script(python: str) -> str:
    # -P: git runs the hook in the work tree's root, which `python -m` would put first on the
    # import path, so a file there named like a module (secrets.py, fastapply.py) would be run
    return (
        "#!/bin/sh\n"
        f"{HOOK_MARKER} (written by `fastapply install-hook`; delete this file to remove it)\n"
        f"exec {shlex.quote(python)} -P -m fastapply.cli hook\n"
    )


def hooks_dir(repo: RepoInfo) -> Path:
    """The hooks folder git uses here (``core.hooksPath`` and linked worktrees honoured)."""
    from fastapply.repo import git_module

    found = git_module().Repo(repo.root).git.rev_parse("--git-path", "hooks")
    path = Path(found)
    return path if path.is_absolute() else repo.root / path


def install_hook(repo: RepoInfo, python: str) -> Path:
    """Write the pre-commit hook; replace an earlier fastapply hook, never a foreign one.

    Raises:
        RefusedError: a pre-commit hook that fastapply did not write is already there.
    """
    target = hooks_dir(repo) / "pre-commit"
    if target.exists() or target.is_symlink():
        try:
            existing = target.read_text(encoding="utf-8", errors="replace")
        except OSError:
            existing = ""
        if HOOK_MARKER not in existing:
            raise RefusedError(f"{target} exists and was not written by fastapply; not overwriting it")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(hook_script(python), encoding="utf-8")
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return target
