#!/usr/bin/env bash
# SQuAD v1.1 extractive QA after label-free pretraining, then fine-tuned on the first 38 articles and
# tested on the last 10: bench/recipes/squad-pretrained.sh OUT_DIR. Two label-free stages:
# - masked LM on the contexts and the other offline text, on the shared encoder grown from 4 layers
#   to 6 (common.sh, pretrain_deep_mlm);
# - cloze questions from the training articles' paragraphs (tasks.clozeQaExamples, Dhingra et al.
#   2018): a sentence taken out, a span of it that recurs in the rest of the paragraph blanked, the
#   reader trained to find that span. Only the paragraphs are read, never a question or an answer.
# The pretrained BERT uses ALiBi, so its 192-token windows may be longer than pretraining's 128;
# --question-match adds the exact-match token type.
source "$(dirname "$0")/common.sh"
OUT="${1:?usage: bench/recipes/squad-pretrained.sh OUT_DIR}"
SQUAD="$DATA/squad/dev-v1.1.json"
QA_FLAGS=(--eval "$SQUAD" --eval-articles 38: --max-length 192 --doc-stride 64 --question-match --batch-size 32 --warmup-iters 200)
pretrain_deep_mlm
ENCODER="$PRETRAINED.deep"
CLOZE="${CLOZE_DIR:-$ENCODER.cloze-qa}"
if [ -f "$CLOZE/model.safetensors" ] && [ ! -f "$CLOZE/.tlm.lock" ]; then
  echo "recipe: reusing the cloze-pretrained reader in $CLOZE" >&2
else
  t0=$SECONDS
  node "$ROOT/dist/bench/recipes/cloze_qa.js" "$SQUAD" 0:38 "$CLOZE.json"
  # Its evaluation on the test articles shows what the cloze questions alone teach (no labels seen).
  "${TLM[@]}" finetune --task qa --model "$ENCODER" --train "$CLOZE.json" "${QA_FLAGS[@]}" \
    --epochs "${CLOZE_EPOCHS:-2}" --lr "${CLOZE_LR:-5e-4}" --out "$CLOZE" --overwrite --quiet
  echo "recipe: cloze pretraining took $((SECONDS - t0)) s" >&2
fi
t0=$SECONDS
"${TLM[@]}" finetune --task qa --model "$CLOZE" --train "$SQUAD" --train-articles 0:38 "${QA_FLAGS[@]}" \
  --epochs "${EPOCHS:-4}" --lr "${LR:-5e-4}" --early-stopping-patience 3 --out "$OUT" --overwrite --quiet
echo "recipe: fine-tuning took $((SECONDS - t0)) s" >&2
"${TLM[@]}" eval --task qa --model "$OUT" --data "$SQUAD" --articles 38: --max-length 192 --doc-stride 64
