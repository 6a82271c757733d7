#!/usr/bin/env bash
# Quality of weight-only quantization (tlm quantize): validation perplexity on Tiny Shakespeare (the
# last 10% of the text, which training never sees) of a small GPT trained here, in float32, int8 and
# 4-bit, and the HF GPT-2 fixture's logits against HF's float32 ones:
#   bench/recipes/quant-quality.sh OUT_DIR
# Targets (issue 14): int8 within +1% perplexity of float32, 4-bit within +5%. The model (4 layers,
# 4 heads, 128 wide, byte-level BPE 2048, block 128) trains for ITERS steps (default 600) once and
# is reused on later runs.
source "$(dirname "$0")/common.sh"
OUT="${1:?usage: bench/recipes/quant-quality.sh OUT_DIR}"
TEXT="$DATA/tinyshakespeare/input.txt"
mkdir -p "$OUT"
if ! stage_done "$OUT/fp32"; then
  t0=$SECONDS
  stage_begin "$OUT/fp32"
  "${TLM[@]}" train --data "$TEXT" --tokenizer bpe --vocab-size 2048 --n-layer 4 --n-head 4 --n-embd 128 --block-size 128 \
    --batch-size 16 --max-iters "${ITERS:-600}" --lr 1e-3 --min-lr 1e-4 --warmup-iters 50 --eval-interval 200 --eval-iters 10 \
    --out "$OUT/fp32" "$START_FLAG" --quiet
  stage_end
  echo "recipe: training took $((SECONDS - t0)) s" >&2
fi
"${TLM[@]}" quantize --model "$OUT/fp32" --bits 8 --out "$OUT/int8"
"${TLM[@]}" quantize --model "$OUT/fp32" --bits 4 --out "$OUT/int4"

# eval_ppl DIR [ENV...]: the validation perplexity `tlm eval` prints.
eval_ppl() {
  local dir="$1"; shift
  env "$@" "${TLM[@]}" eval --model "$dir" --data "$TEXT" --split val --ngram-order 0 | sed -n 's/^model .*perplexity \([0-9.]*\).*/\1/p'
}
fp32=$(eval_ppl "$OUT/fp32")
int8=$(eval_ppl "$OUT/int8")
int4=$(eval_ppl "$OUT/int4")
int4f=$(eval_ppl "$OUT/int4" TLM_QUANT_VNNI=0)
node -e '
const [fp32, int8, int4, int4f] = process.argv.slice(1).map(Number);
const pct = (v) => `${((v / fp32 - 1) * 100).toFixed(2)}%`;
const rows = [["float32", fp32, "", ""], ["int8", int8, pct(int8), "+1%"], ["4-bit", int4, pct(int4), "+5%"],
  ["4-bit, float kernel (TLM_QUANT_VNNI=0)", int4f, pct(int4f), "+5%"]];
console.log("| weights | val perplexity | change | target |\n| --- | --- | --- | --- |");
for (const r of rows) console.log(`| ${r[0]} | ${r[1].toFixed(3)} | ${r[2]} | ${r[3]} |`);
' "$fp32" "$int8" "$int4" "$int4f" | tee "$OUT/perplexity.md"
(cd "$ROOT" && node dist/bench/quant_fixture.js) | tee "$OUT/fixture.jsonl"
