"""Find and read the project's configuration file: ``.fastapply.toml``, or ``[tool.fastapply]`` in
``pyproject.toml``, from a start folder upwards to the repository root.

A config file that is there but cannot be used is a ``ConfigError`` (exit 2), never a silent
default: configured checks that quietly stopped running would let unchecked code be written. So a
name that exists as a folder, a FIFO, a device or a broken link is refused without waiting on it
(``fastapply.regular``), as is a file too large to be a config, text that is not UTF-8, TOML
nested past the parser's limit, or a byte-order mark. Knows files and TOML; what the keys mean is
``fastapply.config``'s.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path
from typing import Any

from fastapply.errors import UsageError
from fastapply.regular import FileTooLarge, NotRegularFile, read_regular

CONFIG_NAME = ".fastapply.toml"
MAX_CONFIG_BYTES = 64 * 1024 * 1024  # far above any real config; a link to a huge file is refused unread
_BOM = b"\xef\xbb\xbf"


class ConfigError(UsageError):
    """The configuration file is unreadable or invalid."""


def _read(path: Path) -> bytes:
    """The bytes of a config file that is a regular file (links followed, as a dotfile may be
    one), refused otherwise; never waited on."""
    try:
        found = read_regular(os.path.realpath(path), max_bytes=MAX_CONFIG_BYTES)
    except NotRegularFile as exc:
        raise ConfigError(f"{path}: is {exc.kind}, so it cannot be read as a config; fix or remove it") from None
    except FileTooLarge as exc:
        raise ConfigError(f"{path}: {exc.size} bytes is too large for a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if found is None:  # a dangling link, or removed since it was found
        raise ConfigError(f"{path}: cannot be read (no such file); fix or remove it")
    return found[0]


def _parse(path: Path, raw: bytes) -> dict[str, Any]:
    """Raises ``tomllib.TOMLDecodeError`` or ``ConfigError``; the caller decides whether the file is ours."""
    if raw.startswith(_BOM):
        raise ConfigError(f"{path}: starts with a UTF-8 byte-order mark, which TOML does not allow; save it without one")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text") from None
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None


def _pyproject_table(path: Path) -> dict[str, Any] | None:
    """The parsed ``tool.fastapply`` table of a pyproject.toml, or None when it has none.

    Raises:
        ConfigError: the file cannot be read, or is invalid TOML and mentions fastapply, or its
        ``tool`` table holds a key that looks like a misspelt ``fastapply``.
    """
    raw = _read(path)
    try:
        data = _parse(path, raw)
    except (tomllib.TOMLDecodeError, ConfigError) as exc:
        if b"fastapply" in raw:
            raise ConfigError(str(exc) if isinstance(exc, ConfigError) else f"{path}: invalid TOML: {exc}") from None
        return None  # someone else's broken file, not ours to judge
    tool = data.get("tool")
    if not isinstance(tool, dict):
        return None
    if "fastapply" not in tool:
        _refuse_misspelt_tool(path, tool)
        return None
    table = tool["fastapply"]
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: 'tool.fastapply' must be a table, not {table!r}")
    return table


def _refuse_misspelt_tool(path: Path, tool: dict[str, Any]) -> None:
    for key in tool:
        squashed = key.lower().replace("-", "").replace("_", "")
        if squashed != "fastapply" and not difflib.get_close_matches(squashed, ["fastapply"], n=1, cutoff=0.8):
            continue
        raise ConfigError(f"{path}: unknown table 'tool.{key}' (did you mean 'tool.fastapply'?)")


def _own_table(path: Path) -> dict[str, Any]:
    try:
        data = _parse(path, _read(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    tool = data.get("tool")
    if tool is None:
        return data
    if isinstance(tool, dict) and "fastapply" not in tool:
        _refuse_misspelt_tool(path, tool)
    nested = tool.get("fastapply") if isinstance(tool, dict) else None
    if not isinstance(nested, dict) or set(data) != {"tool"} or set(tool) != {"fastapply"}:
        raise ConfigError(f"{path}: use either top-level keys or one [tool.fastapply] table, not both")
    return nested


def find_config_file(start: Path) -> tuple[Path, dict[str, Any]] | None:
    """The config file governing ``start`` and its fastapply table, or None.

    Raises:
        ConfigError: the file that governs cannot be read, is not valid TOML, or has a misspelt
        table name.
    """
    here = start.resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        own = folder / CONFIG_NAME
        if os.path.lexists(own):
            return own, _own_table(own)
        pyproject = folder / "pyproject.toml"
        if os.path.lexists(pyproject):
            table = _pyproject_table(pyproject)
            if table is not None:
                return pyproject, table
        if (folder / ".git").exists():
            return None
    return None
