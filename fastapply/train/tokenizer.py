"""Train the project's own code tokenizer: byte-level BPE on Python source found on this machine.

The source is read at training time (the interpreter's standard library and installed packages)
and never copied anywhere. The result is saved in transformers format with a ChatML-style chat
template and the rewrite markers as special tokens, so a marker is always exactly one token.
"""

from __future__ import annotations

import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapply.engine.prompt import MARKERS

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *MARKERS]

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@dataclass(slots=True)
class TokenizerConfig:
    vocab_size: int = 8192
    max_files: int = 6000
    max_file_bytes: int = 200_000
    min_frequency: int = 2


def python_source_roots() -> list[Path]:
    """Folders of Python source on this machine: the standard library and site-packages."""
    paths = sysconfig.get_paths()
    roots = [Path(paths["stdlib"]), Path(paths["purelib"])]
    return [r for r in dict.fromkeys(roots) if r.is_dir()]


def python_files(roots: list[Path], max_files: int, max_file_bytes: int) -> list[Path]:
    """Python files under ``roots``, in a stable order, tests and huge generated files left out;
    at most ``max_files`` (positive), spread evenly over what was found."""
    if max_files < 1:
        raise ValueError(f"max_files must be positive, not {max_files}")
    found: list[Path] = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            parts = set(path.parts)
            if "test" in parts or "tests" in parts or "fastapply" in parts:
                continue
            try:
                size = path.stat().st_size
            except OSError:
                continue
            if 200 < size <= max_file_bytes:
                found.append(path)
    step = max(1, len(found) // max_files)
    return found[::step][:max_files]


def read_texts(files: list[Path]) -> Iterator[str]:
    for path in files:
        try:
            yield path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue


def train_tokenizer(out_dir: Path, config: TokenizerConfig | None = None) -> Path:
    """Train and save the tokenizer under ``out_dir``; returns ``out_dir``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    config = config or TokenizerConfig()
    files = python_files(python_source_roots(), config.max_files, config.max_file_bytes)
    if not files:
        raise RuntimeError(f"no Python source found under {python_source_roots()}")

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=config.vocab_size,
        min_frequency=config.min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(read_texts(files), trainer=trainer, length=len(files))

    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS[1:],
        clean_up_tokenization_spaces=False,
        model_max_length=8192,
    )
    fast.chat_template = CHAT_TEMPLATE
    out_dir.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(out_dir))
    return out_dir

