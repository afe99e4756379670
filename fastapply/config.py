"""Project configuration: ``.fastapply.toml`` or ``[tool.fastapply]`` in ``pyproject.toml``.

The file is looked for from a start directory upwards, stopping at the repository root (the first
directory holding ``.git``). ``.fastapply.toml`` wins over ``pyproject.toml`` in the same directory;
in ``.fastapply.toml`` the keys may sit at the top level or under ``[tool.fastapply]``. Every key is
checked; an unknown key or a wrong type is a ``ConfigError`` naming the file and the key.
Command-line options override what the file says; this module only reports the file.

Example::

    [tool.fastapply]
    model = "default"
    max_bytes = 500000
    [[tool.fastapply.hook]]
    instruction = "Rename the function add to plus."
    files = "*.py"
"""

from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass, field
from pathlib import Path

from fastapply.errors import UsageError
from fastapply.files import DEFAULT_MAX_BYTES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 needs the tomli backport
    import tomli as tomllib

CONFIG_NAME = ".fastapply.toml"


class ConfigError(UsageError):
    """The configuration file is unreadable or invalid."""


@dataclass(slots=True)
class HookEntry:
    instruction: str
    files: str = "*"  # glob on the repo-relative path; without "/" also on the file name
    exclude: str | None = None

    def matches(self, path: str) -> bool:
        def hit(pattern: str) -> bool:
            name = path.rsplit("/", 1)[-1]
            return fnmatch.fnmatchcase(path, pattern) or ("/" not in pattern and fnmatch.fnmatchcase(name, pattern))

        return hit(self.files) and not (self.exclude and hit(self.exclude))


@dataclass(slots=True)
class Config:
    model: str | None = None
    device: str | None = None
    dtype: str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    max_new_tokens: int | None = None
    allow_deletion: bool = False
    hooks: list[HookEntry] = field(default_factory=list)
    path: Path | None = None  # the file it came from; None for built-in defaults


_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "a table"}
_STRINGS = ("model", "device", "dtype")
_KEYS = {*_STRINGS, "max_bytes", "max_new_tokens", "allow_deletion", "hook"}
_HOOK_KEYS = {"instruction", "files", "exclude"}


def find_config_file(start: Path) -> tuple[Path, bool] | None:
    """The config file governing ``start`` and whether it is a pyproject.toml, or None."""
    here = start.resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        own = folder / CONFIG_NAME
        if own.is_file():
            return own, False
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and b"[tool.fastapply" in pyproject.read_bytes():
            return pyproject, True
        if (folder / ".git").exists():
            return None
    return None


def _table(path: Path, is_pyproject: bool) -> dict[str, object]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    tool = data.get("tool", {})
    nested = tool.get("fastapply") if isinstance(tool, dict) else None
    if is_pyproject:
        return nested if isinstance(nested, dict) else {}
    if nested is not None:
        if not isinstance(nested, dict) or set(data) != {"tool"}:
            raise ConfigError(f"{path}: use either top-level keys or [tool.fastapply], not both")
        return nested
    return data


def _check(path: Path, key: str, value: object, kind: type | tuple[type, ...]) -> None:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        kinds = (kind,) if isinstance(kind, type) else kind
        names = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
        raise ConfigError(f"{path}: '{key}' must be {names}, not {value!r}")


def parse_config(table: dict[str, object], path: Path) -> Config:
    """Validate one ``[tool.fastapply]`` table."""
    unknown = set(table) - _KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(_KEYS))})")
    config = Config(path=path)
    for key in _STRINGS:
        if key in table:
            _check(path, key, table[key], str)
            setattr(config, key, table[key])
    for key in ("max_bytes", "max_new_tokens"):
        if key in table:
            _check(path, key, table[key], int)
            if int(table[key]) <= 0:  # type: ignore[call-overload]
                raise ConfigError(f"{path}: '{key}' must be positive, not {table[key]!r}")
            setattr(config, key, table[key])
    if "allow_deletion" in table:
        _check(path, "allow_deletion", table["allow_deletion"], bool)
        config.allow_deletion = bool(table["allow_deletion"])
    hooks = table.get("hook", [])
    _check(path, "hook", hooks, list)
    for n, entry in enumerate(hooks):  # type: ignore[arg-type]
        where = f"hook[{n}]"
        _check(path, where, entry, dict)
        extra = set(entry) - _HOOK_KEYS
        if extra:
            raise ConfigError(f"{path}: unknown key(s) in {where}: {', '.join(sorted(extra))}")
        if "instruction" not in entry:
            raise ConfigError(f"{path}: {where} needs an 'instruction'")
        for key in _HOOK_KEYS & set(entry):
            _check(path, f"{where}.{key}", entry[key], str)
        if not entry["instruction"].strip():
            raise ConfigError(f"{path}: {where}.instruction is empty")
        config.hooks.append(HookEntry(entry["instruction"], entry.get("files", "*"), entry.get("exclude")))
    return config


def load_config(start: str | Path = ".") -> Config:
    """The configuration governing ``start`` (built-in defaults when there is no file).

    Raises:
        ConfigError: the file is not valid TOML or has unknown keys or wrong types.
    """
    found = find_config_file(Path(start))
    if found is None:
        return Config()
    path, is_pyproject = found
    return parse_config(_table(path, is_pyproject), path)


def load_project_config(start: str | Path = ".") -> Config:
    """The configuration of the repository holding ``start``, read from its root.

    Every way in (CLI, TUI, hook) reads it so, wherever in the tree it was started; outside a
    repository it is read from ``start`` itself.

    Raises:
        ConfigError: the file is not valid TOML or has unknown keys or wrong types.
    """
    from fastapply.repo import find_repo

    try:
        root: str | Path = find_repo(start).root
    except UsageError:
        root = start
    return load_config(root)
