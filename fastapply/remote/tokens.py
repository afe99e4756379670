"""The tokenizer of a remote model, loaded here to build its exact prompt (completions mode).

``"default"`` is the embedded model's; anything else is a local folder or a Hugging Face hub id.
The local disk and the hub cache are tried first; the hub is asked only when one short connection
to it succeeds, because its client retries an unreachable hub for about 50 s. Knows transformers'
``AutoTokenizer``, not the remote server.
"""

from __future__ import annotations

import os
from typing import Any

from fastapply.engine.hub import hub_unreachable
from fastapply.errors import UsageError


def _failed(spec: str, why: str) -> UsageError:
    return UsageError(
        f"completions mode builds the prompt with the model's own tokenizer, and {spec!r} could not "
        f"be loaded ({why}); pass --tokenizer PATH|HUB_ID"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return f"{exc.__class__.__name__}: {text.splitlines()[0]}" if text else exc.__class__.__name__


def load_remote_tokenizer(spec: str) -> Any:
    """Raises ``UsageError`` when nothing loadable is found under ``spec``, without a long wait."""
    from fastapply.engine.assets import DEFAULT_MODEL_DIR

    target = str(DEFAULT_MODEL_DIR) if spec == "default" else os.path.expanduser(spec)
    is_path = os.path.exists(target) or target.startswith((".", "/", "~"))
    if is_path and not os.path.isdir(target):
        raise _failed(spec, "no such folder")
    try:
        from transformers import AutoTokenizer

        try:
            return AutoTokenizer.from_pretrained(target, local_files_only=True)
        except OSError:
            if is_path:
                raise  # a folder: nothing to download
            why = hub_unreachable()
            if why is not None:
                raise _failed(spec, f"not in the Hugging Face cache, and the hub cannot be reached: {why}") from None
        return AutoTokenizer.from_pretrained(target)
    except (OSError, ValueError, ImportError) as exc:
        raise _failed(spec, _first_line(exc)) from None
