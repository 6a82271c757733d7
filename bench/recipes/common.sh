# Sourced by the recipes: where the data is, how tlm is run, and the shared pretraining step.
# The data sets live in ../shared/data beside the repository (TLM_DATA overrides); SAMSum is read
# from there and never copied into the repository.
set -euo pipefail
RECIPES="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$RECIPES/../.." && pwd)"
DATA="${TLM_DATA:-$ROOT/../shared/data}"
TLM=(node "$ROOT/dist/src/cli/bin.js")
[ -d "$DATA/sst2" ] || { echo "recipe: data not found in $DATA (set TLM_DATA)" >&2; exit 2; }
# (stack_layers, which the QA recipe runs, is compiled beside the CLI.)
for built in src/cli/bin.js bench/recipes/stack_layers.js; do
  [ -f "$ROOT/dist/$built" ] || { (cd "$ROOT" && npm run build >/dev/null); break; }
done

# Stages that take hours are reused by later recipes and resumed after an interruption. tlm saves a
# checkpoint and exits 0 on Ctrl-C or SIGTERM, leaving .tlm.unfinished in its --out (as does a run
# killed or failed half-way); a finished run removes it. The recipe stops there rather than going on
# to the next stage with a half-trained model, whether the signal reached the whole recipe (the trap,
# which bash runs once tlm has saved) or tlm alone (stage_end); a rerun resumes that stage from its
# checkpoint, and reuses only a stage that finished. A recipe's own fine-tuning is a stage as well
# (finetune_begin): resumed the same way, but never reused.
STAGE=""
stage_interrupted() {
  echo "recipe: interrupted${STAGE:+ in $STAGE; run the same command again to resume it}" >&2
  exit "$1"
}
trap 'stage_interrupted 130' INT
trap 'stage_interrupted 143' TERM
# stage_done DIR: DIR holds a model from a run that finished.
stage_done() { [ -f "$1/model.safetensors" ] && [ ! -f "$1/.tlm.lock" ] && [ ! -f "$1/.tlm.unfinished" ]; }
# stage_begin DIR: set the stage and START_FLAG, --resume where DIR has a checkpoint, else --overwrite.
stage_begin() {
  STAGE="$1"
  if [ -f "$1/checkpoints/latest.json" ]; then START_FLAG=--resume; echo "recipe: resuming $1" >&2; else START_FLAG=--overwrite; fi
}
stage_end() { if [ -f "$STAGE/.tlm.unfinished" ]; then stage_interrupted 1; fi; STAGE=""; }
# finetune_begin OUT: the recipe's own fine-tuning into OUT, as a stage: it resumes a run stopped
# half-way there, and otherwise starts afresh (a finished OUT is trained again, on the flags given now).
finetune_begin() { if [ -f "$1/.tlm.unfinished" ]; then stage_begin "$1"; else STAGE="$1"; START_FLAG=--overwrite; fi; }

# The masked-LM pretrained BERT the transfer recipes share (built once, then reused): 4 layers, 192
# wide, pre-norm, ALiBi positions (whose locality bias from the first step takes MLM off the unigram
# plateau in hundreds of steps where learned positions take thousands), WordPiece 8000, pretrained on label-free text held offline (SST-2's training
# sentences without their labels, Multi30k's English side, SQuAD's contexts) in 128-token windows
# framed as [CLS] … [SEP], the shape fine-tuning gives it. A second stage (continue_mlm) goes on from
# that model with SAMSum's dialogues added; a third goes on again with the two tasks' own text (SST-2's
# sentences, SQuAD's contexts) read twice as often. The SST-2 recipes use its result, $PRETRAINED;
# the QA recipe a deeper one grown from it (pretrain_deeper_mlm).
PRETRAINED="${TLM_PRETRAINED:-$ROOT/out/recipes/mlm}"
pretrain_shared_mlm() {
  pretrain_mlm "$PRETRAINED.base" 128 32
  continue_mlm "$PRETRAINED.base" "$PRETRAINED.stage2" "${CONTINUE_ITERS:-4500}" "${CONTINUE_LR:-1.5e-3}"
  continue_mlm "$PRETRAINED.stage2" "$PRETRAINED" "${STAGE3_ITERS:-4500}" "${STAGE3_LR:-1e-3}" sst2-sentences.txt squad-contexts.txt
}
# The deeper encoders the QA recipe reads, grown from the shared one by progressive stacking
# (stack_layers.ts: a layer copied k times has its residual outputs divided by k, so the copies start
# out doing what the one layer did) and trained on as the third stage was: $PRETRAINED.deep has 6
# layers (the 4 with layers 1 and 2 twice), $PRETRAINED.deeper 8 (the 6 with their layers 2 and 3
# twice). Each is a lower masked-LM loss (3.18, 2.98, 2.83), which SQuAD uses and SST-2 does not.
pretrain_deep_mlm() {
  pretrain_shared_mlm
  grow_mlm "$PRETRAINED" "$PRETRAINED.deep" "${DEEP_ORDER:-0,1,1,2,2,3}" "${DEEP_ITERS:-4500}"
}
pretrain_deeper_mlm() {
  pretrain_deep_mlm
  grow_mlm "$PRETRAINED.deep" "$PRETRAINED.deeper" "${DEEPER_ORDER:-0,1,2,2,3,3,4,5}" "${DEEPER_ITERS:-4500}"
}
# grow_mlm SRC DIR ORDER ITERS: SRC stacked by ORDER into DIR.stacked, then pretrained on into DIR.
grow_mlm() {
  local src="$1" dir="$2" order="$3" iters="$4"
  if [ ! -f "$dir.stacked/model.safetensors" ]; then
    node "$ROOT/dist/bench/recipes/stack_layers.js" "$src" "$dir.stacked" "$order"
  fi
  continue_mlm "$dir.stacked" "$dir" "$iters" "${DEEP_LR:-1e-3}" sst2-sentences.txt squad-contexts.txt
}
# pretrain_mlm DIR BLOCK_SIZE BATCH_SIZE. Its time cap is a guard, well above the 3,600 steps' ~2,300 s
# on two cores: a cap that cut the steps short would make the encoder depend on the machine's speed.
pretrain_mlm() {
  local dir="$1" block="$2" batch="$3"
  if stage_done "$dir"; then
    echo "recipe: reusing the pretrained model in $dir" >&2; return
  fi
  local corpus="$dir.corpus"
  mkdir -p "$corpus"
  tail -n +2 "$DATA/sst2/train.tsv" | cut -f1 > "$corpus/sst2-sentences.txt"
  cp "$DATA/multi30k/train.en" "$corpus/multi30k.en.txt"
  node -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).data;const s=new Set();for(const a of d)for(const p of a.paragraphs)s.add(p.context);process.stdout.write([...s].join("\n")+"\n")' \
    "$DATA/squad/dev-v1.1.json" > "$corpus/squad-contexts.txt"
  local t0=$SECONDS
  stage_begin "$dir"
  "${TLM[@]}" train --objective mlm --tokenizer bpe --vocab-size 8000 \
    --data "$corpus/sst2-sentences.txt" --data "$corpus/multi30k.en.txt" --data "$corpus/squad-contexts.txt" \
    --n-layer 4 --n-head 4 --n-embd 192 --norm-first --position alibi --block-size "$block" --batch-size "$batch" --dropout 0.1 \
    --max-iters "${PRETRAIN_ITERS:-3600}" --max-seconds "${PRETRAIN_SECONDS:-7200}" --lr "${PRETRAIN_LR:-3e-3}" --min-lr 1e-4 --warmup-iters 200 \
    --eval-interval 250 --eval-iters 10 --beta2 0.999 --weight-decay 0.01 --out "$dir" ${PRETRAIN_FLAGS:-} --quiet "$START_FLAG"
  stage_end
  echo "recipe: pretraining took $((SECONDS - t0)) s" >&2
}

# continue_mlm BASE_DIR DIR ITERS LR [EXTRA_FILE...]: a further pretraining stage from BASE_DIR's
# weights and tokenizer, on stage 1's text plus SAMSum's dialogues (read from the data folder, never
# copied into the repository): informal, opinionated language the captions and encyclopaedia
# paragraphs lack. Each EXTRA_FILE of stage 1's corpus is read once more per epoch. SAMSum stays last,
# so the validation split (the corpus tail) is SAMSum's in every stage. Its time cap is a guard, as
# stage 1's: the 8-layer stage's 4,500 steps take ~6,100 s on two cores, and the old 5,400 s cap cut it
# at step 3,874 there.
continue_mlm() {
  local base="$1" dir="$2" iters="$3" lr="$4"; shift 4
  if stage_done "$dir"; then
    echo "recipe: reusing the pretrained model in $dir" >&2; return
  fi
  local corpus="$PRETRAINED.base.corpus" extra=() f
  for f in "$@"; do extra+=(--data "$corpus/$f"); done
  node -e 'for(const l of require("fs").readFileSync(process.argv[1],"utf8").split("\n"))if(l.trim())process.stdout.write(JSON.parse(l).source.replace(/\r/g,"")+"\n\n")' \
    "$DATA/samsum/train.jsonl" > "$corpus/samsum-dialogues.txt"
  local t0=$SECONDS
  stage_begin "$dir"
  "${TLM[@]}" train --objective mlm --init-from "$base" \
    --data "$corpus/sst2-sentences.txt" --data "$corpus/multi30k.en.txt" --data "$corpus/squad-contexts.txt" "${extra[@]}" \
    --data "$corpus/samsum-dialogues.txt" --block-size 128 --batch-size 32 --dropout 0.1 \
    --max-iters "$iters" --max-seconds "${CONTINUE_SECONDS:-14400}" --lr "$lr" --min-lr 5e-5 --warmup-iters 200 \
    --eval-interval 500 --eval-iters 10 --beta2 0.999 --weight-decay 0.01 --out "$dir" --quiet "$START_FLAG"
  stage_end
  echo "recipe: continued pretraining took $((SECONDS - t0)) s" >&2
}
