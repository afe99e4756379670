"""Score a model on held-out windows by teacher forcing, and the stop rule that reads the scores.

Edited-token accuracy is the share of edited target tokens (those a verbatim copy gets wrong) whose
argmax is right given the true prefix. A window whose every target token is right under teacher
forcing is exactly what greedy decoding would write, so ``exact`` is greedy exact match, measured in
one forward per window. Knows the model's forward, windows and the seam; knows nothing about the
optimizer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapply.train.dataset import Example, Seam, collate, edited_targets


@dataclass(slots=True)
class ProbeScore:
    edited_accuracy: float  # over edited target tokens
    token_accuracy: float  # over all target tokens
    exact: float  # share of windows entirely right (= greedy exact match)
    windows: int

    def to_dict(self) -> dict[str, float | int]:
        return {"edited_accuracy": round(self.edited_accuracy, 4), "token_accuracy": round(self.token_accuracy, 4),
                "exact": round(self.exact, 4), "windows": self.windows}


def probe(model: Any, examples: list[Example], seam: Seam, pad_id: int, batch_size: int = 8) -> ProbeScore:
    """Teacher-forced scores of ``model`` on ``examples`` (its train/eval mode is restored)."""
    import torch

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    edited_right = edited_total = tok_right = tok_total = exact = 0
    with torch.no_grad():
        for at in range(0, len(examples), batch_size):
            group = examples[at : at + batch_size]
            batch = {k: v.to(device) for k, v in collate(group, pad_id).items()}
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            guess = logits[:, :-1].argmax(-1)  # [batch, seq-1]: prediction for position t+1
            for row, ex in enumerate(group):
                n = len(ex.ids)
                right = (guess[row, ex.prompt_len - 1 : n - 1] == batch["input_ids"][row, ex.prompt_len : n]).tolist()
                tok_right += sum(right)
                tok_total += len(right)
                exact += int(all(right))
                marks = edited_targets(ex, seam)
                edited_right += sum(right[j] for j in marks)
                edited_total += len(marks)
    model.train(was_training)
    return ProbeScore(edited_accuracy=edited_right / max(1, edited_total), token_accuracy=tok_right / max(1, tok_total),
                      exact=exact / max(1, len(examples)), windows=len(examples))


@dataclass(slots=True)
class StopRule:
    """Stop a phase whose held-out edited-token accuracy has not risen after ``patience_share`` of
    its step budget, and pass it once windows are exact at ``pass_exact``."""

    budget_steps: int
    patience_share: float = 1 / 3
    pass_exact: float = 0.8
    min_rise: float = 0.02  # a rise smaller than this is noise on ~100 windows
    history: list[tuple[int, float, float]] = field(default_factory=list)  # (step, edited acc, exact)

    def verdict(self, step: int, score: ProbeScore) -> str | None:
        """None to go on, ``"passed"`` or ``"stalled"`` to stop."""
        self.history.append((step, score.edited_accuracy, score.exact))
        if score.exact >= self.pass_exact:
            return "passed"
        first = self.history[0][1]
        best = max(acc for _, acc, _ in self.history)
        if step >= self.budget_steps * self.patience_share and best < first + self.min_rise:
            return "stalled"
        return None
