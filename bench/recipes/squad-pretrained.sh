#!/usr/bin/env bash
# SQuAD v1.1 extractive QA after label-free masked-LM pretraining on the contexts (and the other
# offline text of common.sh), then fine-tuned on the first 38 articles and tested on the last 10:
# bench/recipes/squad-pretrained.sh OUT_DIR. The pretrained BERT uses ALiBi, so its 192-token windows
# may be longer than pretraining's 128; --question-match adds the exact-match token type.
source "$(dirname "$0")/common.sh"
OUT="${1:?usage: bench/recipes/squad-pretrained.sh OUT_DIR}"
SQUAD="$DATA/squad/dev-v1.1.json"
pretrain_shared_mlm
t0=$SECONDS
"${TLM[@]}" finetune --task qa --model "$PRETRAINED" --train "$SQUAD" --train-articles 0:38 --eval "$SQUAD" --eval-articles 38: \
  --max-length 192 --doc-stride 64 --question-match --batch-size 32 --epochs "${EPOCHS:-4}" --lr "${LR:-5e-4}" --warmup-iters 200 \
  --early-stopping-patience 3 --out "$OUT" --overwrite --quiet
echo "recipe: fine-tuning took $((SECONDS - t0)) s" >&2
"${TLM[@]}" eval --task qa --model "$OUT" --data "$SQUAD" --articles 38: --max-length 192 --doc-stride 64
