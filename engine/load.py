"""Load a causal LM and its tokenizer by local path, hub id or ``"default"``, on a sensible device.

``"default"`` is the apply model embedded in this package (``models/default``). Weights load
from safetensors only and ``trust_remote_code`` stays off unless asked for. This module knows
nothing about prompts or decoding.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from fastapply.engine.assets import COMPUTE_DTYPE_KEY, DEFAULT_MODEL_DIR, TOKENIZER_DIR
from fastapply.engine.hub import config_problem, hub_unreachable
from fastapply.engine.types import EngineError, ModelNotFoundError

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}


@dataclass(slots=True)
class LoadedModel:
    model: Any  # a transformers PreTrainedModel in eval mode
    tokenizer: Any
    name: str
    device: torch.device
    dtype: torch.dtype

    @property
    def max_context(self) -> int:
        return int(getattr(self.model.config, "max_position_embeddings", 0) or 4096)


def pick_device(requested: str | None = None) -> torch.device:
    """The requested device, or CUDA, then MPS, then CPU."""
    if requested:
        try:
            device = torch.device(requested)
        except RuntimeError as exc:
            raise EngineError(f"unknown device {requested!r}") from exc
        if device.type == "cuda" and not torch.cuda.is_available():
            raise EngineError(f"device {requested!r} asked for, but CUDA is not available here")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise EngineError(f"device {requested!r} asked for, but MPS is not available here")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def declared_dtype(path: Path) -> str | None:
    """The compute dtype a local model's config.json insists on (the hand-wired default model
    needs float32 activations), or None."""
    try:
        data = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    value = data.get(COMPUTE_DTYPE_KEY) if isinstance(data, dict) else None
    return value if isinstance(value, str) and value in _DTYPES else None


def pick_dtype(device: torch.device, requested: str | None = None) -> torch.dtype:
    """The requested dtype, or bf16 on CUDA, fp16 on MPS, fp32 on CPU."""
    if requested:
        if requested not in _DTYPES:
            raise EngineError(f"unknown dtype {requested!r}; use one of {sorted(set(_DTYPES))}")
        return _DTYPES[requested]
    if device.type == "cuda":
        return torch.bfloat16
    if device.type == "mps":
        return torch.float16
    return torch.float32


def resolve_model(spec: str | None) -> str:
    """Turn ``"default"`` (or nothing) into the embedded model's folder; leave others as given."""
    if not spec or spec == "default":
        return str(DEFAULT_MODEL_DIR)
    return os.path.expanduser(spec)


def _check_local(path: Path) -> None:
    if not path.is_dir():
        raise ModelNotFoundError(f"model folder {str(path)!r} does not exist")
    if not (path / "config.json").is_file():
        raise ModelNotFoundError(f"no config.json in {str(path)!r}")
    if not any(path.glob("*.safetensors")):
        raise ModelNotFoundError(
            f"no *.safetensors weights in {str(path)!r} (only safetensors are loaded)"
        )
    _check_config(path / "config.json")


def _check_config(config: Path) -> None:
    """transformers reports a config.json it cannot use as a missing model; this names the real trouble."""
    problem = config_problem(config)
    if problem is not None:
        raise EngineError(f"{str(config.parent)!r}: {problem}")


def _from_pretrained(target: str, torch_dtype: torch.dtype, trust_remote_code: bool, local_only: bool) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        target, trust_remote_code=trust_remote_code, local_files_only=local_only
    )
    model = AutoModelForCausalLM.from_pretrained(
        target,
        dtype=torch_dtype,
        use_safetensors=True,
        trust_remote_code=trust_remote_code,
        local_files_only=local_only,
    )
    return tokenizer, model


VERBOSE_ENV = "FASTAPPLY_VERBOSE"  # "1": show transformers' progress bars while loading


@contextmanager
def progress_bars(shown: bool) -> Iterator[None]:
    """transformers' progress bars ("Loading weights") on or off for the duration, then as before."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    if shown == was:
        yield
        return
    (hf_logging.enable_progress_bar if shown else hf_logging.disable_progress_bar)()
    try:
        yield
    finally:
        (hf_logging.enable_progress_bar if was else hf_logging.disable_progress_bar)()


def load_model(
    spec: str | None = "default",
    *,
    device: str | None = None,
    dtype: str | None = None,
    trust_remote_code: bool = False,
    verbose: bool | None = None,
) -> LoadedModel:
    """Load a model and tokenizer.

    ``verbose`` shows transformers' loading progress bar on stderr (default: only when the
    environment sets ``FASTAPPLY_VERBOSE=1``).

    Raises:
        ModelNotFoundError: nothing loadable at the local path, and not in the hub cache.
        EngineError: a bad device or dtype, a local config.json that is not JSON or names no
            ``model_type``, or a load that failed for another reason.
    """
    from safetensors import SafetensorError

    target = resolve_model(spec)
    local = Path(target)
    is_local = local.exists() or target.startswith((".", "/", "~")) or spec in (None, "default")
    if is_local:
        _check_local(local)
    torch_device = pick_device(device)
    torch_dtype = pick_dtype(torch_device, dtype or (declared_dtype(local) if is_local else None))
    if verbose is None:
        verbose = os.environ.get(VERBOSE_ENV, "") not in ("", "0")
    try:
        with progress_bars(verbose):
            try:
                # The hub cache first: a cached hub id loads without touching the network.
                tokenizer, model = _from_pretrained(target, torch_dtype, trust_remote_code, local_only=True)
            except OSError:
                if is_local:
                    raise
                why = hub_unreachable()
                if why is not None:
                    raise ModelNotFoundError(
                        f"could not load hub id {target!r}: it is not in the Hugging Face cache and "
                        f"cannot be downloaded ({why})"
                    ) from None
                tokenizer, model = _from_pretrained(target, torch_dtype, trust_remote_code, local_only=False)
    except OSError as exc:
        where = f"local folder {target!r}" if is_local else f"hub id {target!r}"
        raise ModelNotFoundError(
            f"could not load {where}: not found locally nor in the Hugging Face cache, and it "
            f"cannot be downloaded here ({exc.__class__.__name__}: {str(exc).splitlines()[0]})"
        ) from exc
    except SafetensorError as exc:
        raise EngineError(f"could not read the weights of {target!r} (damaged or cut short?): {exc}") from exc
    except ValueError as exc:
        raise EngineError(f"could not load {target!r}: {exc}") from exc
    model.to(torch_device).eval()
    name = "default" if spec in (None, "default") else str(spec)
    return LoadedModel(model=model, tokenizer=tokenizer, name=name, device=torch_device, dtype=torch_dtype)


def load_tokenizer(path: str | Path = TOKENIZER_DIR) -> Any:
    """The project's own code tokenizer (or another one by path)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path))
