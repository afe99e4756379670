#!/usr/bin/env bash
# Issue 18 on one GPU in under 9 minutes: the default model's learned layers (copy preset: the wired
# copy circuit frozen, float32 throughout, since bf16 breaks the circuit) trained through the first
# curriculum phases on edit-dense windows, each phase from the last one's weights and stopped early
# by the stop rule; then the card's evaluation on held-out files beside the shipped model's (compare.txt:
# the card's shipping rule, figure by figure), and the model packed in parts that
# can come back from the device machine (under 16 MiB each). Windows and held-out edits are drawn on
# the machine that runs this, from its own interpreter's standard library and site-packages.
#
# Usage: bash examples/gpu_train.sh [OUT_DIR] [TRAIN_MINUTES] [PHASES]
#   OUT_DIR        eval.json, eval_default.json, compare.txt, phases.jsonl (one line per phase), train.log,
#                  model.tgz.part-*
#   TRAIN_MINUTES  training time, split evenly over the phases (default 4.5)
#   PHASES         curriculum phases, comma-separated (default rename-single,rename-multi,rename-scoped)
# Knobs (environment): DRAW_MINUTES (1.2), DRAW_WORKERS (cores / phases), TOKENS_PER_BATCH (65536),
#   LR (0.003), STEPS (4000, the lr schedule per phase), PROBE_EVERY (100), EVAL_PER_KIND (3).
# On the device machine, first: python3 -m pip install -q --no-deps --no-build-isolation -e .
# Back here: cat OUT_DIR/model.tgz.part-* | tar -xz -C runs    (gives runs/gpu-model)
set -euo pipefail
out="${1:-gpu_train_out}"
minutes="${2:-4.5}"
IFS=, read -r -a phases <<< "${3:-rename-single,rename-multi,rename-scoped}"
work="${FASTAPPLY_TRAIN_WORK:-runs/gpu}"
workers="${DRAW_WORKERS:-$(( $(nproc) / ${#phases[@]} > 0 ? $(nproc) / ${#phases[@]} : 1 ))}"
mkdir -p "$out" "$work"
log="$out/train.log"
: > "$log"
: > "$out/phases.jsonl"

# 1. Every phase's windows at once, and the held-out edits of whole files that the card scores.
for p in "${phases[@]}"; do
  fastapply train windows --phase "$p" --out "$work/w-$p" --max-windows 40000 --heldout-windows 96 \
    --max-minutes "${DRAW_MINUTES:-1.2}" --workers "$workers" > "$work/w-$p.json" 2>> "$log" &
done
fastapply train data --heldout-only --out "$work/data" >> "$log" 2>&1 &
wait
for p in "${phases[@]}"; do
  [[ -f "$work/w-$p/train.pt" ]] || { echo "drawing the $p windows failed: see $log" >&2; exit 1; }
done
[[ -f "$work/data/heldout.jsonl" ]] || { echo "drawing the held-out edits failed: see $log" >&2; exit 1; }

# 2. The phases in order, each starting from the last one's weights.
per=$(python3 -c "print(round($minutes / ${#phases[@]}, 2))")
init=()
for p in "${phases[@]}"; do
  rm -rf "$work/m-$p"  # a new run each time: train model refuses to start one over an old run
  fastapply train model --size copy --data "$work/w-$p" --run "$work/m-$p" --max-minutes "$per" \
    --tokens-per-batch "${TOKENS_PER_BATCH:-65536}" --lr "${LR:-0.003}" --total-steps "${STEPS:-4000}" \
    --warmup-steps 100 --probe-every "${PROBE_EVERY:-100}" --threads 8 "${init[@]}" \
    >> "$out/phases.jsonl" 2>> "$log"
  init=(--init-from "$work/m-$p/ckpt.pt")
  last="$work/m-$p"
done

# 3. The card's evaluation, the card, and the model in parts.
fastapply train eval --model "$last/model" --data "$work/data" --limit "${EVAL_PER_KIND:-3}" \
  --out "$out/eval.json" >> "$log" 2>&1
fastapply train eval --model default --data "$work/data" --limit "${EVAL_PER_KIND:-3}" \
  --out "$out/eval_default.json" >> "$log" 2>&1
fastapply train compare "$out/eval_default.json" "$out/eval.json" > "$out/compare.txt" 2>&1 || true
rm -rf "$work/gpu-model"
fastapply train export --run "$last" --to "$work/gpu-model" --bf16 --data "$work/w-${phases[-1]}" \
  --eval "$out/eval.json" --hardware "$(python3 -c 'import torch; print(torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU")') (fp32)" \
  >> "$log" 2>&1
tar -C "$work" -czf - gpu-model | split -b 15m - "$out/model.tgz.part-"
python3 - "$out/eval.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
print(json.dumps({k: v for k, v in report.items() if k in ("edits", "exact_match", "line_accuracy", "device", "seconds")}))
PY
tail -1 "$out/compare.txt"
