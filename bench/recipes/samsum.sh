#!/usr/bin/env bash
# SAMSum dialogue summarization from scratch: a MarianMT-layout Transformer (3+3 layers, 256 wide,
# joint byte-level BPE 8000), at most 60 minutes of training; beam search (4, no repeated trigram) on
# the 819 test dialogues, beside the Lead-3 baseline with the same ROUGE scorer:
# bench/recipes/samsum.sh OUT_DIR. SAMSum is read from ../shared/data, never copied into the repository.
# Its training set holds one dialogue with no text (line 6055): --skip-empty leaves it out.
source "$(dirname "$0")/common.sh"
OUT="${1:?usage: bench/recipes/samsum.sh OUT_DIR}"
S="$DATA/samsum"
t0=$SECONDS
finetune_begin "$OUT"
"${TLM[@]}" finetune --task summarize --from-scratch --n-layer 3 --n-head 4 --n-embd 256 --ffn-dim 1024 --vocab-size 8000 --dropout 0.1 \
  --train "$S/train.jsonl" --eval "$S/val.jsonl" --source-field source --target-field summary \
  --max-source-length 512 --max-target-length 96 --truncate --skip-empty --max-tokens 8192 --label-smoothing 0.1 --schedule inverse_sqrt \
  --lr 1e-3 --warmup-iters 1000 --beta2 0.98 --epochs "${EPOCHS:-40}" --max-seconds "${MAX_SECONDS:-3600}" \
  --eval-interval 1000 --eval-examples 200 --early-stopping-patience 5 --out "$OUT" "$START_FLAG" --quiet
stage_end
echo "recipe: training took $((SECONDS - t0)) s" >&2
echo -n "Lead-3: " >&2
"${TLM[@]}" eval --task summarize --baseline lead-3 --data "$S/test.jsonl" --target-field summary
"${TLM[@]}" eval --task summarize --model "$OUT" --data "$S/test.jsonl" --target-field summary --num-beams 4 --truncate
