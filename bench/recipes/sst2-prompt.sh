#!/usr/bin/env bash
# SST-2 by a soft prompt (prompt tuning: 16 trainable input vectors) over tlm's own frozen pretrained BERT (common.sh); the classifier and the pooler
# (untrained by masked-LM pretraining) train beside it: bench/recipes/sst2-prompt.sh OUT_DIR.
# Writes a PEFT adapter; prints the dev metrics.
source "$(dirname "$0")/common.sh"
OUT="${1:?usage: bench/recipes/sst2-prompt.sh OUT_DIR}"
pretrain_shared_mlm
t0=$SECONDS
finetune_begin "$OUT"
"${TLM[@]}" finetune --task classify --model "$PRETRAINED" --pooling "${POOLING:-mean}" --method prompt --num-virtual-tokens 16 --modules-to-save pooler \
  --train "$DATA/sst2/train.tsv" --eval "$DATA/sst2/dev.tsv" --text-column sentence --max-length 64 --batch-size 32 \
  --epochs "${EPOCHS:-3}" --lr "${LR:-3e-2}" --warmup-iters 200 --eval-interval 500 --out "$OUT" "$START_FLAG" --quiet
stage_end
echo "recipe: training took $((SECONDS - t0)) s" >&2
"${TLM[@]}" eval --task classify --model "$PRETRAINED" --adapter "$OUT" --data "$DATA/sst2/dev.tsv" --text-column sentence --max-length 64
