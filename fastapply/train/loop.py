"""The training loop: AdamW with warmup and cosine decay over length-bucketed batches, bounded
in wall time per invocation, checkpointed and resumable.

Knows the model, the optimizer and the encoded examples; knows nothing about how the examples
were made. Reports progress through a callback and never prints.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastapply.train.dataset import Example, Seam, collate, length_batches
from fastapply.train.model import count_parameters, freeze_wired, new_model


@dataclass(slots=True)
class TrainConfig:
    size: str = "small"
    lr: float = 2e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 60
    total_steps: int = 2000  # the schedule's length over all invocations
    tokens_per_batch: int = 6144
    weight_decay: float = 0.05
    grad_clip: float = 1.0
    max_minutes: float = 9.0  # this invocation stops (with a checkpoint) after this long
    checkpoint_minutes: float = 4.0
    threads: int = 2
    seed: int = 0
    max_positions: int = 4096
    edit_weight: float = 1.0  # loss weight of target tokens a verbatim copy would get wrong


@dataclass(slots=True)
class TrainState:
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    tokens_seen: int = 0
    target_tokens_seen: int = 0
    seconds: float = 0.0  # training wall time over all invocations


def lr_at(step: int, config: TrainConfig) -> float:
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = min(1.0, (step - config.warmup_steps) / max(1, config.total_steps - config.warmup_steps))
    floor = config.lr * config.min_lr_ratio
    return floor + (config.lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def _device() -> tuple[Any, bool]:
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda"), True
    return torch.device("cpu"), False


def save_model(model: Any, tokenizer: Any, out: Path) -> None:
    """Ordinary transformers format: config, safetensors weights, tokenizer, generation config."""
    from transformers import GenerationConfig

    model.save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))
    close = tokenizer.convert_tokens_to_ids("</updated-code>")
    GenerationConfig(eos_token_id=[tokenizer.eos_token_id, close], pad_token_id=tokenizer.pad_token_id,
                     do_sample=False).save_pretrained(str(out))


def target_loss(model: Any, batch: dict[str, Any]) -> Any:
    """Next-token cross-entropy on target positions only, weighted by ``batch["weights"]`` when
    there; the vocabulary projection is applied only where there is a label, since the prompt
    (about half the tokens) carries no loss."""
    import torch

    hidden = model.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    labels = batch["labels"][:, 1:]
    keep = labels != -100
    logits = model.lm_head(hidden[:, :-1][keep])
    if "weights" not in batch:
        return torch.nn.functional.cross_entropy(logits.float(), labels[keep])
    weights = batch["weights"][:, 1:][keep]
    losses = torch.nn.functional.cross_entropy(logits.float(), labels[keep], reduction="none")
    return (losses * weights).sum() / weights.sum()


def train(
    examples: list[Example],
    tokenizer: Any,
    run_dir: Path,
    config: TrainConfig,
    resume: bool = False,
    on_log: Callable[[dict[str, Any]], None] | None = None,
    log_every: int = 10,
) -> TrainState:
    """Train until ``total_steps`` or ``max_minutes``; checkpoints to ``run_dir/ckpt.pt`` and
    writes the latest weights to ``run_dir/model``."""
    import torch

    if not examples:
        raise ValueError("no training examples")
    if not config.edit_weight > 0:
        raise ValueError(f"edit_weight must be positive, not {config.edit_weight}")
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    device, cuda = _device()
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / "ckpt.pt"
    model = new_model(config.size, tokenizer, config.max_positions).to(device)
    freeze_wired(model, config.size)
    trainable = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trainable if p.dim() >= 2]
    no_decay = [p for p in trainable if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=config.lr, betas=(0.9, 0.95))
    state = TrainState()
    if resume and ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location=device, weights_only=False)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        state = TrainState(**ckpt["state"])

    def checkpoint() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "state": asdict(state),
                    "config": asdict(config)}, tmp)
        tmp.replace(ckpt_path)
        save_model(model, tokenizer, run_dir / "model")

    try:
        _run(model, opt, examples, tokenizer, config, state, checkpoint, on_log, log_every, cuda, device)
    except KeyboardInterrupt:
        checkpoint()  # an interrupted run resumes from where it stopped
        raise
    return state


def _run(model: Any, opt: Any, examples: list[Example], tokenizer: Any, config: TrainConfig, state: TrainState,
         checkpoint: Callable[[], None], on_log: Callable[[dict[str, Any]], None] | None, log_every: int,
         cuda: bool, device: Any) -> None:
    import torch

    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    pad = tokenizer.pad_token_id
    seam = Seam.of(tokenizer) if config.edit_weight != 1.0 else None
    started = time.monotonic()
    last_ckpt = started
    seconds_before = state.seconds
    loss_sum, loss_n, tok_window, window_start = 0.0, 0, 0, time.monotonic()
    while state.step < config.total_steps:
        batches = length_batches(examples, config.tokens_per_batch, random.Random(config.seed + state.epoch))
        while state.batch_in_epoch < len(batches) and state.step < config.total_steps:
            batch = collate([examples[i] for i in batches[state.batch_in_epoch]], pad, config.edit_weight, seam)
            batch = {k: v.to(device) for k, v in batch.items()}
            for group in opt.param_groups:
                group["lr"] = lr_at(state.step, config)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
                loss = target_loss(model, batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
            opt.step()
            opt.zero_grad(set_to_none=True)
            state.step += 1
            state.batch_in_epoch += 1
            n_tok = int(batch["attention_mask"].sum())
            state.tokens_seen += n_tok
            state.target_tokens_seen += int((batch["labels"] != -100).sum())
            tok_window += n_tok
            loss_sum, loss_n = loss_sum + float(loss.detach()), loss_n + 1
            now = time.monotonic()
            state.seconds = seconds_before + (now - started)
            if on_log and state.step % log_every == 0:
                on_log({"step": state.step, "epoch": state.epoch, "loss": round(loss_sum / loss_n, 4),
                        "lr": round(lr_at(state.step, config), 6),
                        "tokens_per_s": round(tok_window / max(1e-9, now - window_start)),
                        "tokens_seen": state.tokens_seen, "minutes": round(state.seconds / 60, 2)})
                loss_sum, loss_n, tok_window, window_start = 0.0, 0, 0, now
            if now - last_ckpt > config.checkpoint_minutes * 60:
                checkpoint()
                last_ckpt = now
            if now - started > config.max_minutes * 60:
                checkpoint()
                return
        state.epoch += 1
        state.batch_in_epoch = 0
    checkpoint()


def parameters_of(config: TrainConfig, tokenizer: Any) -> int:
    return count_parameters(new_model(config.size, tokenizer, config.max_positions))
