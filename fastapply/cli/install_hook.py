"""`fastapply install-hook`: write ``.git/hooks/pre-commit`` calling this Python's fastapply.

Refuses (exit 3) to replace a hook that fastapply did not write.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fastapply.errors import EXIT_OK
from fastapply.hook import install_hook
from fastapply.repo import find_repo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def main(args: argparse.Namespace) -> int:
    target = install_hook(find_repo(Path.cwd()), sys.executable)
    print(f"installed {target}")
    return EXIT_OK
