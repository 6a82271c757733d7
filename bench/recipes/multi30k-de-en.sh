#!/usr/bin/env bash
# Multi30k DE→EN translation from scratch (see multi30k.sh): bench/recipes/multi30k-de-en.sh OUT_DIR.
exec bash "$(dirname "$0")/multi30k.sh" de en "${1:?usage: bench/recipes/multi30k-de-en.sh OUT_DIR}"
