"""Project configuration: ``.fastapply.toml`` or ``[tool.fastapply]`` in ``pyproject.toml``.

The file is looked for from a start directory upwards, stopping at the repository root (the first
directory holding ``.git``). ``.fastapply.toml`` wins over ``pyproject.toml`` in the same directory;
in ``.fastapply.toml`` the keys may sit at the top level or under ``[tool.fastapply]``. A
``pyproject.toml`` counts when its parsed ``tool.fastapply`` table exists (however TOML spells it:
``[ tool.fastapply ]``, dotted keys under ``[tool]``). Every key is checked; an unknown key (with
the nearest known one suggested), a wrong type, an invalid glob, a device or dtype the engine does
not know (``device_problem``, ``dtype_problem``: names only, no torch), or a ``tool`` table that
looks like a misspelt ``fastapply`` is a ``ConfigError`` naming the file and the key. Command-line
options override what the file says; this module only reports the file.

Example::

    [tool.fastapply]
    model = "default"
    max_bytes = 500000
    [[tool.fastapply.hook]]
    instruction = "Rename the function add to plus."
    files = "*.py"
    [[tool.fastapply.check]]
    run = "ruff check {file}"
    files = "*.py"
    timeout = 30
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapply.config_file import CONFIG_NAME, ConfigError, find_config_file
from fastapply.errors import UsageError
from fastapply.files import DEFAULT_MAX_BYTES
from fastapply.globs import GlobError, compile_glob

API_MODES = ("chat", "completions")
# What ``fastapply.engine.load`` resolves (``pick_device``, ``pick_dtype``), spelt out here so that
# checking a name loads no torch; tests/test_bad_model_options.py holds the two lists together.
DEVICE_TYPES = ("cpu", "cuda", "mps")  # each optionally with an index, as torch writes it: cuda:1
DTYPE_NAMES = ("float32", "fp32", "bfloat16", "bf16", "float16", "fp16")
_DEVICE = re.compile(rf"(?:{'|'.join(DEVICE_TYPES)})(?::(?:0|[1-9][0-9]*))?", re.ASCII)  # torch refuses "cuda:01"
DEFAULT_CHECK_TIMEOUT = 60.0
DEFAULT_MAX_ATTEMPTS = 3
MAX_ATTEMPTS = 100  # each attempt is a whole generation; more is a typo, not a plan
MAX_CHECK_TIMEOUT = 24 * 3600.0


def device_problem(name: str) -> str | None:
    """Why ``name`` is not a device the engine can be asked for, or None when it is one.

    Only the spelling is judged; whether the machine has that device is the engine's to say.
    """
    if _DEVICE.fullmatch(name):
        return None
    return f"must be cpu, cuda, cuda:N or mps, not {name!r}"


def dtype_problem(name: str) -> str | None:
    """Why ``name`` is not a dtype the engine accepts, or None when it is one."""
    if name in DTYPE_NAMES:
        return None
    return f"must be one of {', '.join(DTYPE_NAMES)}, not {name!r}"


@dataclass(slots=True)
class HookEntry:
    instruction: str
    files: str = "*"  # a glob (fastapply.globs) on the repo-relative path
    exclude: str | None = None

    def matches(self, path: str) -> bool:
        """Whether the repo-relative ``path`` is in ``files`` and not in ``exclude``.

        Raises:
            fastapply.globs.GlobError: a glob is invalid (a loaded config has checked them).
        """
        return _in_files(path, self.files, self.exclude)


@dataclass(slots=True)
class CheckEntry:
    """A configured check: a command run on each changed candidate its ``files`` glob matches.

    With ``{file}`` in ``run`` it is given the candidate's path; without, it is a project-level
    command (a test run). Either way it runs in a scratch copy of the work tree holding the
    candidate, never in the user's tree (``fastapply.checks``).
    """

    run: str
    files: str = "*"
    exclude: str | None = None
    timeout: float = DEFAULT_CHECK_TIMEOUT
    name: str = ""  # shown in reports; defaults to the command

    def matches(self, path: str) -> bool:
        return _in_files(path, self.files, self.exclude)

    @property
    def label(self) -> str:
        return self.name or self.run


def _in_files(path: str, files: str, exclude: str | None) -> bool:
    return compile_glob(files).matches(path) and not (exclude and compile_glob(exclude).matches(path))


@dataclass(slots=True)
class Config:
    model: str | None = None
    device: str | None = None
    dtype: str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    max_new_tokens: int | None = None
    allow_deletion: bool = False
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    api_base: str | None = None  # an OpenAI-compatible server's base URL (remote backends)
    api_mode: str | None = None  # "chat" or "completions"
    api_key_env: str | None = None  # the environment variable holding the API key
    tokenizer: str | None = None  # a tokenizer for counting tokens of a remote model
    hooks: list[HookEntry] = field(default_factory=list)
    checks: list[CheckEntry] = field(default_factory=list)
    path: Path | None = None  # the file it came from; None for built-in defaults


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list", dict: "a table"}
_STRINGS = ("model", "device", "dtype", "api_base", "api_mode", "api_key_env", "tokenizer")
_POSITIVE_INTS = ("max_bytes", "max_new_tokens", "max_attempts")
_KEYS = {*_STRINGS, *_POSITIVE_INTS, "allow_deletion", "hook", "check"}
_HOOK_KEYS = {"instruction", "files", "exclude"}
_CHECK_KEYS = {"run", "files", "exclude", "timeout", "name"}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _check(path: Path, key: str, value: object, kind: type | tuple[type, ...]) -> None:
    kinds = (kind,) if isinstance(kind, type) else kind
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
        raise ConfigError(f"{path}: '{key}' must be {names}, not {value!r}")


def _refuse_unknown(path: Path, where: str, keys: set[str], known: set[str]) -> None:
    unknown = sorted(keys - known)
    if not unknown:
        return
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, sorted(known), n=1)
        hints.append(f"{key} (did you mean {close[0]}?)" if close else key)
    place = f" in {where}" if where else ""
    raise ConfigError(f"{path}: unknown key(s){place}: {', '.join(hints)} (known: {', '.join(sorted(known))})")


def _glob(path: Path, where: str, pattern: str) -> str:
    try:
        compile_glob(pattern, what=f"{path}: {where}")
    except GlobError as exc:
        raise ConfigError(str(exc)) from None
    return pattern


def parse_config(table: dict[str, Any], path: Path) -> Config:
    """Validate one ``[tool.fastapply]`` table."""
    _refuse_unknown(path, "", set(table), _KEYS)
    config = Config(path=path)
    for key in _STRINGS:
        if key in table:
            _check(path, key, table[key], str)
            setattr(config, key, table[key])
    for key in _POSITIVE_INTS:
        if key in table:
            _check(path, key, table[key], int)
            if table[key] <= 0:
                raise ConfigError(f"{path}: '{key}' must be positive, not {table[key]!r}")
            if key == "max_attempts" and table[key] > MAX_ATTEMPTS:
                raise ConfigError(f"{path}: 'max_attempts' must be at most {MAX_ATTEMPTS}, not {table[key]!r}")
            setattr(config, key, table[key])
    if "allow_deletion" in table:
        _check(path, "allow_deletion", table["allow_deletion"], bool)
        config.allow_deletion = table["allow_deletion"]
    _check_model(config, path)
    _check_api(config, path)
    config.hooks = [_hook(path, n, entry) for n, entry in enumerate(_entries(path, table, "hook"))]
    config.checks = [_check_entry(path, n, entry) for n, entry in enumerate(_entries(path, table, "check"))]
    return config


def _check_model(config: Config, path: Path) -> None:
    for key, problem in (("device", device_problem), ("dtype", dtype_problem)):
        value = getattr(config, key)
        why = None if value is None else problem(value)
        if why is not None:
            raise ConfigError(f"{path}: '{key}' {why}")


def _check_api(config: Config, path: Path) -> None:
    if config.api_mode is not None and config.api_mode not in API_MODES:
        raise ConfigError(f"{path}: 'api_mode' must be one of {', '.join(API_MODES)}, not {config.api_mode!r}")
    if config.api_base is not None and not re.match(r"https?://[^\s/]", config.api_base):
        raise ConfigError(f"{path}: 'api_base' must be an http:// or https:// URL, not {config.api_base!r}")
    if config.api_key_env is not None and not _ENV_NAME.fullmatch(config.api_key_env):
        raise ConfigError(f"{path}: 'api_key_env' must name an environment variable, not {config.api_key_env!r}")
    if config.tokenizer is not None and not config.tokenizer.strip():
        raise ConfigError(f"{path}: 'tokenizer' is empty")


def _entries(path: Path, table: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = table.get(key, [])
    _check(path, key, entries, list)
    for n, entry in enumerate(entries):
        _check(path, f"{key}[{n}]", entry, dict)
    return entries  # type: ignore[no-any-return]


def _hook(path: Path, n: int, entry: dict[str, Any]) -> HookEntry:
    where = f"hook[{n}]"
    _refuse_unknown(path, where, set(entry), _HOOK_KEYS)
    if "instruction" not in entry:
        raise ConfigError(f"{path}: {where} needs an 'instruction'")
    for key in _HOOK_KEYS & set(entry):
        _check(path, f"{where}.{key}", entry[key], str)
    if not entry["instruction"].strip():
        raise ConfigError(f"{path}: {where}.instruction is empty")
    files = _glob(path, f"{where}.files", entry.get("files", "*"))
    exclude = entry.get("exclude")
    if exclude is not None:
        _glob(path, f"{where}.exclude", exclude)
    return HookEntry(entry["instruction"], files, exclude)


def _check_entry(path: Path, n: int, entry: dict[str, Any]) -> CheckEntry:
    where = f"check[{n}]"
    _refuse_unknown(path, where, set(entry), _CHECK_KEYS)
    if "run" not in entry:
        raise ConfigError(f"{path}: {where} needs a 'run' command")
    for key in ("run", "files", "exclude", "name"):
        if key in entry:
            _check(path, f"{where}.{key}", entry[key], str)
    if not entry["run"].strip():
        raise ConfigError(f"{path}: {where}.run is empty")
    timeout = entry.get("timeout", DEFAULT_CHECK_TIMEOUT)
    _check(path, f"{where}.timeout", timeout, (int, float))
    if not 0 < timeout <= MAX_CHECK_TIMEOUT:  # NaN fails this too; inf and 1e308 overflow the clock
        raise ConfigError(f"{path}: '{where}.timeout' must be positive seconds, at most {MAX_CHECK_TIMEOUT:g}, "
                          f"not {timeout!r}")
    files = _glob(path, f"{where}.files", entry.get("files", "*"))
    exclude = entry.get("exclude")
    if exclude is not None:
        _glob(path, f"{where}.exclude", exclude)
    return CheckEntry(entry["run"], files, exclude, float(timeout), entry.get("name", ""))


def load_config(start: str | Path = ".") -> Config:
    """The configuration governing ``start`` (built-in defaults when there is no file).

    Raises:
        ConfigError: the file is not valid TOML or has unknown keys, wrong types or bad globs.
    """
    found = find_config_file(Path(start))
    if found is None:
        return Config()
    path, table = found
    return parse_config(table, path)


def load_project_config(start: str | Path = ".") -> Config:
    """The configuration of the repository holding ``start``, read from its root.

    Every way in (CLI, TUI, hook) reads it so, wherever in the tree it was started; outside a
    repository it is read from ``start`` itself.

    Raises:
        ConfigError: the file is not valid TOML or has unknown keys, wrong types or bad globs.
    """
    from fastapply.repo import GitUnavailable, find_repo, work_tree_root

    try:
        root: str | Path = find_repo(start).root
    except GitUnavailable:  # commands that need no git (bench, train, serve) still read the root's file
        root = work_tree_root(Path(start)) or start
    except UsageError:
        root = start
    return load_config(root)


