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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fastapply.engine.prompt import CLOSE_OUTPUT
from fastapply.errors import UsageError
from fastapply.train.dataset import Example, Seam, collate, length_batches
from fastapply.train.model import count_parameters, freeze_wired, new_model
from fastapply.train.probe import ProbeScore, StopRule, probe


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
    probe_every: int = 0  # score the held-out windows every this many steps (0: never)
    train_embeddings: bool = False  # copy preset: also train the tied embeddings (the codes the circuit reads)
    patience_share: float = 1 / 3  # the stop rule: stalled if no rise after this share of total_steps
    init_from: str = ""  # a previous run's ckpt.pt whose weights this run starts from
    device: str = ""  # as for fastapply.engine.load.pick_device; empty: its own choice


@dataclass(slots=True)
class TrainState:
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    tokens_seen: int = 0
    target_tokens_seen: int = 0
    seconds: float = 0.0  # training wall time over all invocations
    probes: list[dict[str, Any]] = field(default_factory=list)  # {"step", scores...} in order
    stopped: str = ""  # the stop rule's verdict, once it gave one: passed or stalled
    device: str = ""  # where the latest invocation trained
    precision: str = ""  # how it computed: "fp32", or "bf16 autocast" on CUDA (never for a model that declares fp32)


def autocasts(model: Any, device: Any) -> bool:
    """Whether training runs under bf16 autocast: on CUDA, unless the model's config declares
    float32 compute (the copy prior's wired heads work with logits of thousands of nats, which
    bf16 matmuls break, so training them in bf16 would train the learned layers on a broken circuit)."""
    from fastapply.engine.assets import COMPUTE_DTYPE_KEY

    return device.type == "cuda" and getattr(model.config, COMPUTE_DTYPE_KEY, None) != "float32"


def lr_at(step: int, config: TrainConfig) -> float:
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = min(1.0, (step - config.warmup_steps) / max(1, config.total_steps - config.warmup_steps))
    floor = config.lr * config.min_lr_ratio
    return floor + (config.lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def save_model(model: Any, tokenizer: Any, out: Path) -> None:
    """Ordinary transformers format: config, safetensors weights, tokenizer, generation config."""
    from transformers import GenerationConfig

    model.save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))
    close = tokenizer.convert_tokens_to_ids(CLOSE_OUTPUT)
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


def start_checkpoint(run_dir: Path, config: TrainConfig, resume: bool) -> dict[str, Any] | None:
    """The checkpoint a run starts from: ``run_dir/ckpt.pt`` when resuming (a ``UsageError`` when
    there is none), else ``config.init_from``'s, else None (fresh weights). One of another model
    size is refused too."""
    from fastapply.train.stored import load_checkpoint

    if resume:
        path = run_dir / "ckpt.pt"
        if not path.is_file():
            raise UsageError(f"nothing to resume: no checkpoint at {path} (leave out --resume to start a new run)")
    elif config.init_from:
        path = Path(config.init_from)
        if not path.is_file():
            raise UsageError(f"no checkpoint at {path} to start from")
    else:
        return None
    ckpt = load_checkpoint(path, whole=resume)
    size = ckpt.get("config", {}).get("size") if isinstance(ckpt.get("config"), dict) else None
    if size is not None and size != config.size:
        raise UsageError(f"{path} is a checkpoint of a {size!r} model, not of a {config.size!r} one")
    return ckpt


def train(
    examples: list[Example],
    tokenizer: Any,
    run_dir: Path,
    config: TrainConfig,
    resume: bool = False,
    on_log: Callable[[dict[str, Any]], None] | None = None,
    log_every: int = 10,
    probe_examples: list[Example] | None = None,
    start: dict[str, Any] | None = None,
) -> TrainState:
    """Train until ``total_steps``, ``max_minutes`` or the stop rule; checkpoints to
    ``run_dir/ckpt.pt`` and writes the latest weights to ``run_dir/model``. ``resume`` continues
    from that checkpoint, which must be there (see ``start_checkpoint``); ``start`` is what
    ``start_checkpoint`` returned, for a caller that checked it already (read here when None).

    With ``probe_examples`` and ``config.probe_every``, the held-out windows are scored at the start
    and every ``probe_every`` steps (see ``probe.StopRule``); the scores go to ``state.probes``.
    """
    import torch

    from fastapply.engine.load import pick_device

    if not examples:
        raise ValueError("no training examples")
    if not config.edit_weight > 0:
        raise ValueError(f"edit_weight must be positive, not {config.edit_weight}")
    if config.threads < 1:
        raise ValueError(f"threads must be positive, not {config.threads}")
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    device = pick_device(config.device or None)
    ckpt_path = run_dir / "ckpt.pt"
    if start is None:
        start = start_checkpoint(run_dir, config, resume)
    model = new_model(config.size, tokenizer, config.max_positions).to(device)
    freeze_wired(model, config.size, config.train_embeddings)
    trainable = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trainable if p.dim() >= 2]
    no_decay = [p for p in trainable if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=config.lr, betas=(0.9, 0.95))
    state = TrainState()
    if start is not None:
        try:
            model.load_state_dict(start["model"])
            if resume:
                opt.load_state_dict(start["optimizer"])
        except (RuntimeError, ValueError) as exc:  # torch's words for weights or groups of another shape
            where = ckpt_path if resume else config.init_from
            raise UsageError(f"{where}: its weights do not fit a {config.size!r} model with these options") from exc
        if resume:
            state = TrainState(**start["state"])
    run_dir.mkdir(parents=True, exist_ok=True)  # only once the run can start: a refused one leaves nothing

    def checkpoint() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "state": asdict(state),
                    "config": asdict(config)}, tmp)
        tmp.replace(ckpt_path)
        save_model(model, tokenizer, run_dir / "model")

    state.device = device.type
    autocast = autocasts(model, device)
    state.precision = "bf16 autocast" if autocast else "fp32"
    judge = None
    if probe_examples and config.probe_every > 0:
        judge = _Judge(model, probe_examples, Seam.of(tokenizer), tokenizer.pad_token_id, config, state)
    try:
        if judge is None or not judge.stops_before_start():
            _run(model, opt, examples, tokenizer, config, state, checkpoint, on_log, log_every, autocast,
                 device, judge)
        else:
            checkpoint()
    except KeyboardInterrupt:
        checkpoint()  # an interrupted run resumes from where it stopped
        raise
    return state


class _Judge:
    """Probes the held-out windows on schedule and applies the stop rule; keeps scores in ``state``."""

    def __init__(self, model: Any, examples: list[Example], seam: Seam, pad_id: int, config: TrainConfig,
                 state: TrainState) -> None:
        self.model, self.examples, self.seam, self.pad_id = model, examples, seam, pad_id
        self.config, self.state = config, state
        self.rule = StopRule(budget_steps=config.total_steps, patience_share=config.patience_share)
        for p in state.probes:
            self.rule.history.append((p["step"], p["edited_accuracy"], p["exact"]))

    def score(self) -> ProbeScore:
        result = probe(self.model, self.examples, self.seam, self.pad_id)
        self.state.probes.append({"step": self.state.step, "minutes": round(self.state.seconds / 60, 2),
                                  **result.to_dict()})
        return result

    def stops_before_start(self) -> bool:
        if self.state.stopped:
            return True
        if not self.state.probes:
            self.rule.history.append((0, self.score().edited_accuracy, self.state.probes[-1]["exact"]))
        return False

    def due(self) -> bool:
        return self.state.step % self.config.probe_every == 0

    def verdict(self) -> str | None:
        result = self.score()
        self.state.stopped = self.rule.verdict(self.state.step, result) or ""
        return self.state.stopped or None


def _run(model: Any, opt: Any, examples: list[Example], tokenizer: Any, config: TrainConfig, state: TrainState,
         checkpoint: Callable[[], None], on_log: Callable[[dict[str, Any]], None] | None, log_every: int,
         autocast: bool, device: Any, judge: _Judge | None = None) -> None:
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
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
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
            if judge is not None and judge.due():
                stop = judge.verdict()
                if on_log:
                    on_log({"probe": state.probes[-1], "stopped": state.stopped})
                if stop:
                    checkpoint()
                    return
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
