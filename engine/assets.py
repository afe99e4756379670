"""Where the files shipped inside the engine package live: the default model and the tokenizer.

Kept free of torch so the CLI can name these folders without loading the engine.
"""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL_DIR = MODELS_DIR / "default"
TOKENIZER_DIR = MODELS_DIR / "tokenizer"
# in a model's config.json: the dtype it must run in unless the user asks for another
COMPUTE_DTYPE_KEY = "fastapply_compute_dtype"
