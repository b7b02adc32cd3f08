#!/bin/bash
# Render one scenario as a Slurm array (one task per shard), then merge and verify.
#
#   sbatch --array=0-15 deploy/slurm_array.sh scenes/quickstart.ron /shared/datasets/qs
#   (then, once the array is done, the merge job below runs by dependency; see the end)
#
# Every task renders frames with frame % SHARDS == SLURM_ARRAY_TASK_ID into its own
# directory. Frame seeds come from the scenario seed and the frame index only, so the merged
# dataset is byte-identical to a single-machine run on the same backend. A task that is
# preempted or killed is simply resubmitted: --resume continues where it stopped.
#SBATCH --job-name=verisim-render
#SBATCH --gpus-per-task=1
#SBATCH --cpus-per-task=16
#SBATCH --mem=32G
#SBATCH --time=04:00:00
#SBATCH --requeue
#SBATCH --output=logs/verisim-%A_%a.out
set -euo pipefail

SCENE=${1:?scenario file}
OUT=${2:?output directory on shared storage}
SHARDS=${SLURM_ARRAY_TASK_COUNT:?submit with --array=0-(N-1)}
SHARD=${SLURM_ARRAY_TASK_ID}
FRAMES=${FRAMES:-}   # optional: export FRAMES=100000 to override run.frames
BACKEND=${VERISIM_BACKEND:-gpu}   # gpu fails clearly on a node without a driver

mkdir -p "$OUT/shards"
verisim render "$SCENE" \
    --out "$OUT/shards/$SHARD" \
    --shard "$SHARD/$SHARDS" \
    --backend "$BACKEND" \
    --resume --quiet \
    ${FRAMES:+--frames "$FRAMES"}
verisim verify "$OUT/shards/$SHARD"

# The last task to finish submits nothing; merge with a dependent job instead:
#   jid=$(sbatch --parsable --array=0-15 deploy/slurm_array.sh SCENE OUT)
#   sbatch --dependency=afterok:$jid deploy/slurm_merge.sh OUT
