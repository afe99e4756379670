"""The layout's rules (ARCHITECTURE.md): a light core import, imports only downward, small modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "textual", "fastapi", "uvicorn", "starlette", "openai", "httpx")
# package folder -> the fastapply.* packages its modules may not import
FORBIDDEN = {
    "kernels": ("fastapply.engine", "fastapply.tui", "fastapply.cli"),
    "engine": ("fastapply.tui", "fastapply.cli", "fastapply.train", "fastapply.serve"),
    "fastapply": ("fastapply.tui",),
}


def _light(modules: str) -> list[str]:
    code = f"import sys, {modules}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


@pytest.mark.parametrize(
    "modules",
    [
        "fastapply",
        "fastapply.backend, fastapply.engine.types, fastapply.edit, fastapply.batch",
        "fastapply.cli, fastapply.cli.tui, fastapply.cli.run, fastapply.cli.batch, fastapply.cli.hook, fastapply.cli.undo",
    ],
)
def test_core_imports_load_no_heavy_library(modules: str) -> None:
    assert _light(modules) == []


def test_building_the_whole_parser_loads_no_heavy_library() -> None:
    assert _light("fastapply.cli.dispatch; fastapply.cli.dispatch.build_parser()") == []


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_packages_import_only_downward(folder: str) -> None:
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for name in _imports(path):
            if path.relative_to(ROOT).as_posix() == "fastapply/cli/tui.py":
                continue  # the shell that opens the app: the one place the core names the TUI
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[folder]):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    if folder == "engine":  # the engine may use only itself and the kernels from fastapply.*
        for path in sorted((ROOT / folder).rglob("*.py")):
            for name in _imports(path):
                if name.startswith("fastapply.") and not name.startswith(("fastapply.engine", "fastapply.kernels")):
                    bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert bad == []


def test_the_tui_reaches_the_engine_only_through_the_core() -> None:
    bad = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / "tui").rglob("*.py"))
        for name in _imports(path)
        if name.startswith("fastapply.engine") and name != "fastapply.engine.types"
    ]
    assert bad == []


def test_no_module_is_over_400_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)}: {n}"
        for folder in ("fastapply", "engine", "kernels", "tui")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400
    ]
    assert long == []


def test_every_design_document_a_docstring_cites_is_in_the_repository() -> None:
    cited = {
        word.strip("`.,;:()\"'")
        for folder in ("fastapply", "engine", "kernels", "tui")
        for path in (ROOT / folder).rglob("*.py")
        for word in path.read_text(encoding="utf-8").split()
        if word.strip("`.,;:()\"'").endswith(".md") and word.strip("`.,;:()\"'").isupper() is False
        and word.strip("`.,;:()\"'")[:1].isupper()
    }
    missing = sorted(name for name in cited if not (ROOT / name).is_file() and not list(ROOT.rglob(name)))
    assert missing == []
