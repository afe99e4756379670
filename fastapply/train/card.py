"""Render MODEL_CARD.md from what was measured: the data summary, the training checkpoint's
state and config, and the evaluation report. Every number in the card comes from those files.

Knows the shapes of those JSON records (``check_summary`` and ``check_evaluation`` refuse others
before anything is written); nothing about models or data.
"""

from __future__ import annotations

from typing import Any


def _numbers(record: Any, keys: tuple[str, ...], where: str) -> None:
    if not isinstance(record, dict):
        raise ValueError(f"{where} is not a JSON object")
    for key in keys:
        value = record.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{where}: {key} is {'missing' if value is None else repr(value)}, not a number")


def check_summary(data: Any) -> None:
    """Raise ValueError unless ``data`` holds what the card reads of a data summary (``summary.json``
    of ``train data`` or ``train windows``)."""
    _numbers(data, ("examples", "tokens", "target_tokens", "train_files", "heldout_files"), "the data summary")
    kinds = data.get("kinds", {})
    _numbers(kinds, tuple(kinds) if isinstance(kinds, dict) else (), "the data summary's kinds")


def check_evaluation(report: Any) -> None:
    """Raise ValueError unless ``report`` holds what the card reads of a ``train eval --out`` report."""
    _numbers(report, ("edits", "exact_match", "line_accuracy"), "the evaluation")
    for key in ("method", "device", "dtype"):
        if not isinstance(report.get(key), str):
            raise ValueError(f"the evaluation: {key} is missing or not text")
    kinds, cases = report.get("kinds"), report.get("cases", [])
    if not isinstance(kinds, dict) or not isinstance(cases, list):
        raise ValueError("the evaluation has no kinds object or cases list")
    for name, kind in kinds.items():
        _numbers(kind, ("n", "exact_match", "line_accuracy", "closed"), f"the evaluation's kind {name}")
    for i, case in enumerate(cases):
        _numbers(case, ("lines",) if isinstance(case, dict) and "lines" in case else (), f"the evaluation's edit {i + 1}")
    speed = report.get("speed")
    if speed:
        _numbers(speed, ("edits", "forward_reduction", "speedup"), "the evaluation's speed")
        for method in ("greedy", "speculative"):
            _numbers(speed.get(method), ("forwards", "tokens_per_second"), f"the evaluation's {method} speed")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _rope_theta(model: dict[str, Any]) -> str:
    theta = (model.get("rope_parameters") or {}).get("rope_theta", model.get("rope_theta"))
    return "not recorded" if theta is None else f"{theta:g}"


def _dtype_lines(model: dict[str, Any], compute: str | None) -> list[str]:
    stored = model.get("dtype", "not recorded")
    if compute is None:
        return [f"- Weights are stored in {stored}; fastapply computes in the device's default dtype."]
    return [
        f"- config.json declares `fastapply_compute_dtype: {compute}`, and fastapply loads it so on every",
        f"  device unless `--dtype` says otherwise. Weights are stored in {stored}; the evaluation below is of",
        "  those weights.",
    ]


def _model_section(cfg: dict[str, Any], params: int, model: dict[str, Any], compute: str | None) -> list[str]:
    layers, hidden = model.get("num_hidden_layers"), model.get("hidden_size")
    heads, kv_heads, head_dim = model.get("num_attention_heads"), model.get("num_key_value_heads"), model.get("head_dim")
    shape = [
        f"- transformers `{(model.get('architectures') or ['?'])[0]}`, size preset `{cfg['size']}`, {params:,} "
        "parameters (tied embeddings),",
        f"  {layers} layers, hidden {hidden}, {heads} heads of {head_dim} sharing {kv_heads} key/value head(s), "
        f"rope theta {_rope_theta(model)},",
        f"  project tokenizer ({model.get('vocab_size')} tokens), max positions {model.get('max_position_embeddings')}.",
        *_dtype_lines(model, compute),
        "",
    ]
    if cfg["size"] == "copy":
        from fastapply.train.copy_prior import PriorLayout

        lay = PriorLayout()
        return [
            "A small Llama whose embeddings and first three layers are set by hand as a copy circuit",
            "(`fastapply/train/copy_prior.py`): exact previous-token heads; a head that marks the rewrite (the",
            "positions whose latest prompt marker is `<updated-code>`); a half-Gaussian window over about",
            f"{lay.window_sigma:.0f} recent tokens; then two copy heads that match the latest {lay.context} and "
            f"{lay.near_context} tokens (the first also",
            "the window) against every earlier position outside the rewrite and predict what followed there.",
            f"Those stay frozen; {int(layers or lay.layers) - 3} more layers, which start as the identity, are "
            "trained by `fastapply train` on",
            "synthetic edits of real Python source.",
            "",
            "## Model",
            "",
            *shape,
        ]
    return [
        "A small Llama trained from scratch by `fastapply train` on synthetic edits of real Python source.",
        "",
        "## Model",
        "",
        *shape,
    ]


def _mix_line(data: dict[str, Any]) -> str:
    real = data.get("kinds", {}).get("real", 0)
    total = data["examples"]
    if real == 0:
        return "- Every training example is a synthetic edit (no real git-history edits in the mix)."
    return f"- {real:,} of the {total:,} training examples are real edits from git history; the rest are synthetic."


def _precision(state: dict[str, Any]) -> str:
    precision = state.get("precision")  # checkpoints before the field lack it
    return f"{precision} on {state.get('device', 'an unrecorded device')}" if precision else "precision not recorded"


def _heldout_lines(evaluation: dict[str, Any] | None) -> str:
    sizes = [c["lines"] for c in (evaluation or {}).get("cases", []) if "lines" in c]
    return f"held-out files of {min(sizes)}-{max(sizes)} lines" if sizes else "held-out files"


def _epochs(full: int) -> str:
    return "part of the first epoch" if full == 0 else f"{full} full epochs plus part of the next"


def _edit_weight_lines(weight: float) -> list[str]:
    if weight == 1.0:
        return []
    return [f"- Edit weight {weight}: each target token a verbatim copy of the file would get wrong counts "
            "that many times in the loss (the last run's setting)."]


def _scale_lines(alpha: float) -> list[str]:
    if alpha == 1.0:
        return []
    return [
        f"- Exported with `--learned-scale {alpha:g}`: the trained layers' output projections are multiplied by",
        f"  {alpha:g} and the final norm moves the same share of the way from ones, so the shipped weights lie",
        "  between the untrained circuit (0) and the trained model (1); the evaluation below is of them.",
    ]


def render_card(
    data: dict[str, Any],
    train_state: dict[str, Any],
    train_config: dict[str, Any],
    params: int,
    evaluation: dict[str, Any] | None,
    *,
    hardware: str,
    notes: str = "",
    learned_scale: float = 1.0,
    model_config: dict[str, Any] | None = None,
    compute_dtype: str | None = None,
) -> str:
    """The card. ``model_config`` is the exported config.json, ``compute_dtype`` what it declares."""
    cfg = train_config
    kinds = "\n".join(f"| {k} | {v} |" for k, v in sorted(data.get("kinds", {}).items()))
    lines = ["# fastapply default apply model", "", *_model_section(cfg, params, model_config or {}, compute_dtype)]
    lines += [
        "## Data",
        "",
        f"- {data['examples']:,} training examples ({data['tokens']:,} tokens, {data['target_tokens']:,} of them target)",
        f"  from {data['train_files']:,} files of the local standard library and site-packages, cut into chunks of",
        "  whole top-level definitions (sizes in the training history below). Held out by file: "
        f"{data['heldout_files']} files never seen in training.",
        _mix_line(data),
        "",
        "| kind | examples |",
        "|---|---|",
        kinds,
        "",
        "## Training",
        "",
        f"- {train_state['step']:,} optimizer steps, {train_state['tokens_seen']:,} tokens seen "
        f"({train_state['target_tokens_seen']:,} with loss), {_epochs(train_state['epoch'])}.",
        f"- AdamW (betas 0.9/0.95, weight decay {cfg['weight_decay']}), peak lr {cfg['lr']}, {cfg['warmup_steps']} warmup steps,",
        f"  cosine to {cfg['min_lr_ratio']}x over {cfg['total_steps']} steps, grad clip {cfg['grad_clip']},",
        f"  about {cfg['tokens_per_batch']} tokens per batch (length-bucketed), {_precision(train_state)}.",
        *_edit_weight_lines(cfg.get("edit_weight", 1.0)),  # checkpoints before the option lack it
        f"- Hardware: {hardware}. Training wall time {train_state['seconds'] / 60:.1f} minutes.",
        *_scale_lines(learned_scale),
        "",
        f"## Evaluation ({_heldout_lines(evaluation)})",
        "",
    ]
    if evaluation:
        lines += [
            f"{evaluation['edits']} edits, decoded with `{evaluation['method']}` (lossless: same output as greedy) on "
            f"{evaluation['device']} {evaluation['dtype']}.",
            "",
            f"**Exact match {_pct(evaluation['exact_match'])}, line accuracy {_pct(evaluation['line_accuracy'])}.**",
            "",
            "| kind | n | exact match | line accuracy | closed |",
            "|---|---|---|---|---|",
        ]
        for name, k in evaluation["kinds"].items():
            lines.append(f"| {name} | {k['n']} | {_pct(k['exact_match'])} | {_pct(k['line_accuracy'])} | {k['closed']} |")
        speed = evaluation.get("speed")
        lines.append("")
        if speed:
            g, s = speed["greedy"], speed["speculative"]
            lines += [
                f"Speed on {speed['edits']} held-out rename edits ({evaluation['device']}): greedy {g['forwards']} forwards, "
                f"{g['tokens_per_second']} tokens/s; speculative edits {s['forwards']} forwards, {s['tokens_per_second']} "
                f"tokens/s: {speed['forward_reduction']}x fewer forwards, {speed['speedup']}x tokens/s.",
            ]
        else:
            lines.append("Speed: TODO (no rename edits in this evaluation).")
    else:
        lines.append("TODO: not evaluated yet.")
    lines += ["", notes.strip(), ""]
    return "\n".join(lines)
