#!/usr/bin/env bash
# Multi30k translation (SRC→TGT, e.g. de en) from scratch: a MarianMT-layout Transformer (3+3 layers, 256 wide,
# ~7.5M parameters, one joint byte-level BPE vocabulary of 8000), token-budget batches, label
# smoothing 0.1, inverse-sqrt schedule, at most 60 minutes of training; beam search (4) on test2016:
# bench/recipes/multi30k.sh SRC TGT OUT_DIR. Prints sacreBLEU, chrF and tokenized lower-cased BLEU.
source "$(dirname "$0")/common.sh"
S="${1:?usage: bench/recipes/multi30k.sh SRC TGT OUT_DIR}"; T="${2:?}"; OUT="${3:?usage: bench/recipes/multi30k.sh SRC TGT OUT_DIR}"
M="$DATA/multi30k"
t0=$SECONDS
finetune_begin "$OUT"
"${TLM[@]}" finetune --task translate --from-scratch --n-layer 3 --n-head 4 --n-embd 256 --ffn-dim 1024 --vocab-size 8000 --dropout 0.1 \
  --source "$M/train.$S" --target "$M/train.$T" --eval-source "$M/val.$S" --eval-target "$M/val.$T" \
  --max-source-length 96 --max-target-length 96 --max-tokens 4096 --label-smoothing 0.1 --schedule inverse_sqrt \
  --lr 1e-3 --warmup-iters 1000 --beta2 0.98 --weight-decay 0.0001 --epochs "${EPOCHS:-30}" --max-seconds "${MAX_SECONDS:-3600}" \
  --eval-interval 1000 --eval-examples 300 --early-stopping-patience 5 --out "$OUT" "$START_FLAG" --quiet
stage_end
echo "recipe: training took $((SECONDS - t0)) s" >&2
"${TLM[@]}" eval --task translate --model "$OUT" --source "$M/test2016.$S" --target "$M/test2016.$T" --num-beams 4
