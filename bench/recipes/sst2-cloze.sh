#!/usr/bin/env bash
# SST-2 zero-shot with a cloze prompt and a verbalizer (PET) on tlm's own masked-LM pretrained BERT
# (common.sh), no training: "<sentence> It was [MASK]." → great / terrible. bench/recipes/sst2-cloze.sh OUT_DIR
# (OUT_DIR is unused: nothing is trained). Prints the dev metrics.
source "$(dirname "$0")/common.sh"
pretrain_shared_mlm
"${TLM[@]}" eval --task classify --model "$PRETRAINED" --data "$DATA/sst2/dev.tsv" --text-column sentence \
  --cloze "{text} It was [MASK]." --verbalizer 1=great --verbalizer 0=terrible
