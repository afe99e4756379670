#!/usr/bin/env bash
# The engine on one GPU, in under 8 minutes: the bench for the qwen2.5-coder-1.5b and -7b shapes
# in bf16 under replay, the bf16 greedy mismatch rate against fp32, and the Triton verify kernel
# against its PyTorch reference. Random weights (no downloads); cases from this interpreter's
# standard library. Usage: bash examples/gpu_bench.sh [OUT_DIR]
# On the device machine, first: python3 -m pip install -q --no-deps --no-build-isolation -e .
set -euo pipefail
out="${1:-gpu_bench_out}"
mkdir -p "$out"
export FASTAPPLY_CACHE_DIR="$out/cache"
python3 examples/make_stdlib_cases.py "$out/cases.jsonl" 4
for shape in qwen2.5-coder-1.5b qwen2.5-coder-7b; do
  timeout 200 fastapply bench --cases "$out/cases.jsonl" --shape "$shape" --dtype bfloat16 --replay \
    --output-format json > "$out/bench-$shape.json" 2> "$out/bench-$shape.log" || echo "bench $shape failed: see $out/bench-$shape.log"
done
timeout 120 python3 - "$out" <<'PY'
import json, sys, time
import torch
from fastapply.engine.bench.shapes import build_shape
from fastapply.kernels.verify import use_kernel, verify

out = sys.argv[1]
report = {}
# bf16 against fp32: how often greedy's pick differs on the same random-weight 1.5b shape.
ids = torch.randint(0, 151936, (1, 512), generator=torch.Generator().manual_seed(0)).cuda()
picks = {}
for dtype in ("float32", "bfloat16"):
    lm = build_shape("qwen2.5-coder-1.5b", device="cuda", dtype=dtype)
    with torch.inference_mode():
        picks[dtype] = lm.model(input_ids=ids).logits[0].float().argmax(-1)
    del lm
    torch.cuda.empty_cache()
report["bf16_argmax_mismatch_rate"] = float((picks["float32"] != picks["bfloat16"]).float().mean())
# Triton verify against the reference, same inputs, best of 50 each.
logits = torch.randn(65, 151936, device="cuda", dtype=torch.bfloat16)
draft = logits[:-1].argmax(-1)
for name in ("reference", "triton"):
    try:
        use_kernel(name)
    except RuntimeError as exc:
        report[f"verify_{name}"] = str(exc)
        continue
    result = verify(logits, draft)
    best = float("inf")
    for _ in range(50):
        torch.cuda.synchronize(); start = time.perf_counter()
        verify(logits, draft); torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    report[f"verify_{name}_us"] = round(best * 1e6, 1)
    report[f"verify_{name}_result"] = result.tolist()
print(json.dumps(report, indent=1))
json.dump(report, open(f"{out}/kernels.json", "w"), indent=1)
PY
