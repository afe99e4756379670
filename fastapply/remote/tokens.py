"""The tokenizer of a remote model, loaded here to build its exact prompt (completions mode).

``"default"`` is the embedded model's; anything else is a local folder or a Hugging Face hub id
(already in the local cache when there is no network). Knows transformers' ``AutoTokenizer``.
"""

from __future__ import annotations

import os
from typing import Any

from fastapply.errors import UsageError


def load_remote_tokenizer(spec: str) -> Any:
    """Raises ``UsageError`` when nothing loadable is found under ``spec``."""
    from fastapply.engine.assets import DEFAULT_MODEL_DIR

    target = str(DEFAULT_MODEL_DIR) if spec == "default" else os.path.expanduser(spec)
    try:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(target)
    except (OSError, ValueError, ImportError) as exc:
        raise UsageError(
            f"completions mode builds the prompt with the model's own tokenizer, and {spec!r} could not "
            f"be loaded ({exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            "pass --tokenizer PATH|HUB_ID"
        ) from None
