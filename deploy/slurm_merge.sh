#!/bin/bash
# Merges the shards written by deploy/slurm_array.sh into OUT/merged and verifies the result.
#
#   jid=$(sbatch --parsable --array=0-15 deploy/slurm_array.sh scenes/quickstart.ron /shared/qs)
#   sbatch --dependency=afterok:$jid deploy/slurm_merge.sh /shared/qs
#
# `merge` refuses a missing or duplicated shard by name, so a partial array cannot produce a
# silently partial dataset. Re-running after a failure starts the merge afresh.
#SBATCH --job-name=verisim-merge
#SBATCH --cpus-per-task=8
#SBATCH --mem=16G
#SBATCH --time=01:00:00
#SBATCH --output=logs/verisim-merge-%j.out
set -euo pipefail

OUT=${1:?output directory holding shards/}
rm -rf "$OUT/merged"
verisim merge "$OUT"/shards/* --out "$OUT/merged"
verisim verify "$OUT/merged"
