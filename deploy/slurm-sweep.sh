#!/bin/bash
# A sharded sweep as a Slurm job array (see deploy/README.md).
# Task i of N runs every N-th seed from position i (`--shard i/N`) and
# appends its records to results/shard-i.jsonl; a requeued task resumes
# where it stopped (--resume keeps finished seeds). Keep --array=0-(N-1)
# and N equal. Submit: sbatch deploy/slurm-sweep.sh
#SBATCH --job-name=halab-sweep
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --mem=1G
#SBATCH --requeue
set -u
N=8
HALAB=${HALAB:-halab}
SCENARIOS=${SCENARIOS:-"chaos ha-chaos ha-storm"}
SEEDS=${SEEDS:-1..20000}
mkdir -p results
# shellcheck disable=SC2086 # the scenarios are words
"$HALAB" sweep $SCENARIOS --seeds "$SEEDS" --shard "${SLURM_ARRAY_TASK_ID}/$N" \
    --jobs "${SLURM_CPUS_PER_TASK:-2}" --out "results/shard-${SLURM_ARRAY_TASK_ID}.jsonl" --resume
code=$?
# Exit 2 (bad input) fails the task; violations and liveness failures
# (exit 1 and 3) are findings, kept in the records.
if [ "$code" -eq 2 ]; then exit 2; fi
exit 0
