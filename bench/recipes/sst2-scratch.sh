#!/usr/bin/env bash
# SST-2 sentiment from random initialisation: a 2-layer BERT (1.5M parameters) with a WordPiece
# vocabulary trained on the training sentences: bench/recipes/sst2-scratch.sh OUT_DIR.
source "$(dirname "$0")/common.sh"
OUT="${1:?usage: bench/recipes/sst2-scratch.sh OUT_DIR}"
t0=$SECONDS
finetune_begin "$OUT"
"${TLM[@]}" finetune --task classify --from-scratch --n-layer 2 --n-head 4 --n-embd 128 --vocab-size 8000 \
  --train "$DATA/sst2/train.tsv" --eval "$DATA/sst2/dev.tsv" --text-column sentence --max-length 64 \
  --batch-size 32 --epochs "${EPOCHS:-2}" --lr 5e-4 --warmup-iters 100 --eval-interval 500 --out "$OUT" "$START_FLAG" --quiet
stage_end
echo "recipe: training took $((SECONDS - t0)) s" >&2
"${TLM[@]}" eval --task classify --model "$OUT" --data "$DATA/sst2/dev.tsv" --text-column sentence
