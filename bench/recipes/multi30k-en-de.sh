#!/usr/bin/env bash
# Multi30k EN→DE translation from scratch (see multi30k.sh): bench/recipes/multi30k-en-de.sh OUT_DIR.
exec bash "$(dirname "$0")/multi30k.sh" en de "${1:?usage: bench/recipes/multi30k-en-de.sh OUT_DIR}"
