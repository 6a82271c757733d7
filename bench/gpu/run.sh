#!/usr/bin/env bash
# tlm (webgpu, through Dawn and Vulkan) beside PyTorch (CUDA, fp32, TF32 off) on the same card in
# one run: issue #13's acceptance point 3. Prints one table: measurement, tlm, PyTorch, ratio,
# target, pass/fail, with the WebGPU adapter and torch.cuda.get_device_name().
#
# On the GPU machine (no Node.js there): prepare here, in the checkout the session runs from,
#   node scripts/build.mjs              # dist/bench/gpu/tlm_gpu.js and dist/src
#   ../shared/tools/gpu-bundle.sh       # .gpu/: node, Dawn, the Vulkan loader
# then call the device tool's run with
#   carry:     [".gpu", "dist"]
#   command:   source .gpu/enter.sh && bash bench/gpu/run.sh
#   timeout_s: 420
# It finishes in about 2 minutes when all goes well; each part has its own time limit, so the whole
# stays under 6 minutes (+ enter.sh's unpacking) even when a part hangs. Raw JSON lines and logs
# also go to $OUT when it is set (the device tool brings them back).
#
# Here, as a smoke test on a CPU machine (Mesa's llvmpipe, PyTorch on the CPU):
#   QUICK=1 TORCH_DEVICE=cpu bash bench/gpu/run.sh
# Environment: QUICK=1 (small shapes), TORCH_DEVICE (default cuda), PYTHON (default: python3 if it
# imports torch, else /usr/bin/python3), T_MATMUL, T_TRAIN, T_DECODE, T_TORCH (seconds per part).
set -uo pipefail
cd "$(dirname "$0")/../.."

QUICK=${QUICK:-0}
TORCH_DEVICE=${TORCH_DEVICE:-cuda}
flags=()
if [ "$QUICK" = 1 ]; then
  flags=(--quick)
  # llvmpipe compiles each WGSL pipeline slowly: the first training step takes minutes there.
  : "${T_MATMUL:=60}" "${T_TRAIN:=400}" "${T_DECODE:=200}" "${T_TORCH:=120}"
else
  : "${T_MATMUL:=40}" "${T_TRAIN:=120}" "${T_DECODE:=75}" "${T_TORCH:=90}"
fi
if [ -z "${PYTHON:-}" ]; then
  PYTHON=python3
  "$PYTHON" -c 'import torch' 2>/dev/null || PYTHON=/usr/bin/python3
fi

[ -f dist/bench/gpu/tlm_gpu.js ] || { echo "run.sh: dist/bench/gpu/tlm_gpu.js is missing: run 'node scripts/build.mjs' first (and carry dist to the GPU machine)" >&2; exit 1; }
command -v node >/dev/null || { echo "run.sh: no node on PATH (on the GPU machine: source .gpu/enter.sh first)" >&2; exit 1; }

logs=$(mktemp -d)
results=$logs/results.jsonl
start=$SECONDS
echo "run.sh: node $(node --version), $("$PYTHON" --version 2>&1) at $(command -v "$PYTHON"), logs in $logs"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total,clocks.sm --format=csv,noheader

# One part: its own time limit; a failure or timeout becomes an error line in the results.
part() {
  local side=$1 measure=$2 limit=$3; shift 3
  local t0=$SECONDS rc
  echo "run.sh: $side $measure (limit ${limit}s)..."
  timeout -k 5 "$limit" "$@" > "$logs/$side-$measure.out" 2> "$logs/$side-$measure.err"
  rc=$?
  grep '^{' "$logs/$side-$measure.out" >> "$results"
  if [ $rc -ne 0 ]; then
    local why="exit code $rc"
    [ $rc -eq 124 ] || [ $rc -eq 137 ] && why="timed out after ${limit}s"
    echo "{\"side\":\"$side\",\"measure\":\"$measure\",\"error\":\"$why\",\"part_failed\":true}" >> "$results"
    echo "run.sh: $side $measure: $why; its stderr ends:" >&2
    tail -n 5 "$logs/$side-$measure.err" >&2
  fi
  echo "run.sh: $side $measure done in $((SECONDS - t0))s"
}

# tlm first, one process per measurement: a crash or hang in one loses only that one.
part tlm matmul "$T_MATMUL" node dist/bench/gpu/tlm_gpu.js "${flags[@]}" --only matmul
part tlm train "$T_TRAIN" node dist/bench/gpu/tlm_gpu.js "${flags[@]}" --only train
part tlm decode "$T_DECODE" node dist/bench/gpu/tlm_gpu.js "${flags[@]}" --only decode
part torch all "$T_TORCH" env PYTHONUNBUFFERED=1 "$PYTHON" bench/gpu/torch_gpu.py "${flags[@]}" --device "$TORCH_DEVICE"
echo "run.sh: all parts done in $((SECONDS - start))s"

if [ -n "${OUT:-}" ] && [ -d "$OUT" ]; then
  tar -C "$logs" -czf "$OUT/gpu-bench-logs.tgz" . && cp "$results" "$OUT/results.jsonl"
fi

"$PYTHON" - "$results" <<'EOF'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    key = (r.get('side'), r.get('measure'))
    # A part's own error line never replaces a result the part printed before failing.
    if key not in rows or 'error' not in r or 'error' in rows[key]:
        rows[key] = r

def get(side, measure):
    return rows.get((side, measure), {'error': 'no result'})

def val(r, field):
    return r.get(field) if 'error' not in r else None

tlm_mm, tlm_tr, tlm_de = get('tlm', 'matmul'), get('tlm', 'train'), get('tlm', 'decode')
pt_mm, pt_tr, pt_hf, pt_kv = get('torch', 'matmul'), get('torch', 'train'), get('torch', 'decode'), get('torch', 'decode_kv_loop')
quick = any(r.get('quick') for r in rows.values())
decode_ref, decode_label = (pt_hf, 'HF generate') if 'error' not in pt_hf else (pt_kv, 'torch KV loop (no HF)')
table = [
    (f"matmul fp32 {'256' if quick else '4096'}^3 GFLOP/s (torch TF32 off)", val(tlm_mm, 'gflops'), val(pt_mm, 'gflops'), 0.6),
    ('GPT-2 train step tokens/s (fp32, AdamW)', val(tlm_tr, 'tokens_per_s'), val(pt_tr, 'tokens_per_s'), 0.5),
    (f'decode b=1 tokens/s vs {decode_label}', val(tlm_de, 'tokens_per_s'), val(decode_ref, 'tokens_per_s'), 1.0),
    ('decode b=1 tokens/s vs torch KV loop (info)', val(tlm_de, 'tokens_per_s'), val(pt_kv, 'tokens_per_s'), None),
]
adapter = next((r['adapter'] for r in (tlm_mm, tlm_tr, tlm_de) if 'adapter' in r), 'unknown (no tlm result)')
device = next((r['device'] for r in (pt_mm, pt_tr, pt_kv, pt_hf) if 'device' in r), 'unknown (no torch result)')
print()
print(f'tlm webgpu adapter: {adapter}')
print(f'PyTorch device:     {device} (torch {next((r["torch"] for r in (pt_mm, pt_tr, pt_kv) if "torch" in r), "?")})')
if 'error' not in pt_hf:
    print(f"HF transformers:    {pt_hf.get('transformers')} (attn {pt_hf.get('attn_implementation')}, {pt_hf.get('dtype')})")
else:
    print(f"HF transformers:    not measured: {pt_hf['error']}")
if quick:
    print('QUICK mode: small shapes, not the acceptance shapes; ratios say nothing about the GPU targets')
print()
fmt = '{:<52} {:>12} {:>12} {:>7} {:>7}  {}'
print(fmt.format('measurement', 'tlm', 'PyTorch', 'ratio', 'target', 'result'))
for name, t, p, target in table:
    ratio = t / p if t is not None and p else None
    verdict = 'n/a' if ratio is None else ('info' if target is None else ('PASS' if ratio >= target else 'FAIL'))
    print(fmt.format(name, f'{t:.1f}' if t is not None else '-', f'{p:.1f}' if p is not None else '-',
                     f'{ratio:.2f}x' if ratio is not None else '-', f'{target}x' if target else '-', verdict))
print()
if 'error' not in tlm_tr and 'error' not in pt_tr:
    print(f"train: tlm {tlm_tr['ms_per_step']:.0f} ms/step over {tlm_tr['steps']} steps (first step {tlm_tr['first_step_s']:.1f}s, "
          f"{tlm_tr.get('dispatches_per_step')} dispatches), torch {pt_tr['ms_per_step']:.0f} ms/step over {pt_tr['steps']} ({pt_tr['attention']}); "
          f"params {tlm_tr['params']} vs {pt_tr['params']}; loss {tlm_tr['loss_first']:.3f}->{tlm_tr['loss_last']:.3f} vs "
          f"{pt_tr['loss_first']:.3f}->{pt_tr['loss_last']:.3f}")
if 'error' not in tlm_de:
    print(f"decode: tlm {tlm_de['ms_per_token']:.2f} ms/token ({tlm_de['new_tokens']} new after {tlm_de['prompt']}, first run {tlm_de['first_run_s']:.1f}s)"
          + ''.join(f", {r['impl']} {r['ms_per_token']:.2f} ms/token" for r in (pt_hf, pt_kv) if 'error' not in r))
errors = [(k, r['error']) for k, r in sorted(rows.items(), key=lambda kv: str(kv[0])) if 'error' in r]
for (side, measure), e in errors:
    print(f'error: {side} {measure}: {e}')
EOF
