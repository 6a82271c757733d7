#!/usr/bin/env bash
# SST-2's floor for transfer: a linear probe (only the classifier trains) on the frozen features of
# tlm's own pretrained BERT (common.sh), the mean of the token states: bench/recipes/sst2-probe.sh OUT_DIR.
source "$(dirname "$0")/common.sh"
OUT="${1:?usage: bench/recipes/sst2-probe.sh OUT_DIR}"
pretrain_shared_mlm
finetune_begin "$OUT"
"${TLM[@]}" finetune --task classify --model "$PRETRAINED" --pooling "${POOLING:-mean}" --pooler none --method head --train "$DATA/sst2/train.tsv" --eval "$DATA/sst2/dev.tsv" \
  --text-column sentence --max-length 64 --batch-size 32 --epochs "${EPOCHS:-1}" --lr 1e-2 --eval-interval 500 --out "$OUT" "$START_FLAG" --quiet
stage_end
"${TLM[@]}" eval --task classify --model "$OUT" --data "$DATA/sst2/dev.tsv" --text-column sentence
