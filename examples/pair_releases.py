"""Write bench cases from two releases of a package: the same file in both, paired by path.

Each source archive (a ``.tar.gz`` sdist or a folder) is read in memory; files whose path below
the top folder is the same in both become one case (old text before, new text after) when both
have 60-600 lines and at most 30% of their lines were added or removed. Nothing is written but
the output file (not committed). Usage:
    python examples/pair_releases.py OLD.tar.gz NEW.tar.gz OUT.jsonl [--suffix .py]
"""

from __future__ import annotations

import argparse
import difflib
import tarfile
from pathlib import Path

from fastapply.engine.bench.cases import BenchCase

MIN_LINES, MAX_LINES, MAX_CHANGED = 60, 600, 0.30


def read_release(source: str, suffix: str) -> dict[str, str]:
    """Text of every file ending in ``suffix``, keyed by its path below the top folder."""
    files: dict[str, str] = {}
    if Path(source).is_dir():
        root = Path(source)
        for path in sorted(root.rglob(f"*{suffix}")):
            files[path.relative_to(root).as_posix()] = path.read_text(encoding="utf-8", errors="replace")
        return files
    with tarfile.open(source) as archive:
        for member in archive.getmembers():
            if not member.isfile() or not member.name.endswith(suffix):
                continue
            handle = archive.extractfile(member)
            if handle is None:
                continue
            inner = member.name.split("/", 1)[1] if "/" in member.name else member.name
            files[inner] = handle.read().decode("utf-8", errors="replace")
    return files


def changed_share(before: str, after: str) -> float:
    """Lines added plus lines removed, over the old file's lines."""
    old, new = before.splitlines(), after.splitlines()
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    same = sum(block.size for block in matcher.get_matching_blocks())
    return (len(old) - same + len(new) - same) / max(1, len(old))


def pair(old: dict[str, str], new: dict[str, str], label: str) -> list[BenchCase]:
    cases = []
    for path in sorted(old.keys() & new.keys()):
        before, after = old[path], new[path]
        lines = (before.count("\n"), after.count("\n"))
        if before == after or not all(MIN_LINES <= n <= MAX_LINES for n in lines):
            continue
        if changed_share(before, after) > MAX_CHANGED:
            continue
        cases.append(BenchCase(path, f"Update {path} to {label}.", before, after))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("out")
    parser.add_argument("--suffix", default=".py")
    args = parser.parse_args()
    label = Path(args.new).name.removesuffix(".tar.gz")
    cases = pair(read_release(args.old, args.suffix), read_release(args.new, args.suffix), label)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.writelines(case.to_json() + "\n" for case in cases)
    print(f"{len(cases)} case(s) written to {args.out}")


if __name__ == "__main__":
    main()
