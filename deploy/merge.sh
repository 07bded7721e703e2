#!/bin/bash
# Merge the shards of a sweep: one report, and the side-by-side table.
# Usage: deploy/merge.sh [RESULTS_DIR] [OUT_DIR]
set -eu
RESULTS=${1:-results}
OUT=${2:-report}
HALAB=${HALAB:-halab}
"$HALAB" report --from "$RESULTS"/shard-*.jsonl --out "$OUT"
"$HALAB" compare merged --from "$RESULTS"/shard-*.jsonl
