#!/usr/bin/env bash
# CLI start-up, as a user meets it through ./gpu-dev: medians of `--help` and of `list` against a local
# server, with the launcher's AOT cache and without it (GPUDEV_AOT=off), runs interleaved.
#   bench/startup.sh [RUNS=21]
# Starts its own server (simulated GPUs, a temporary data dir and HOME) on 127.0.0.1 and stops it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS=${1:-21}
. "$ROOT/bench/local-server.sh" startup   # a server of its own, a logged-in HOME
for i in 1 2 3; do
  "$ROOT/gpu-dev" reserve --gpu-type h100 --gpus 1 --hours 1 --name "bench$i" --no-wait >/dev/null
done

# ms of one run of ./gpu-dev ARGS (output discarded; a failed run stops the benchmark)
one() {
  local t0 t1
  t0=$(date +%s%N)
  "$ROOT/gpu-dev" "$@" >/dev/null
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 ))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A samples
for _ in $(seq 1 "$RUNS"); do
  for mode in on off; do
    samples[help_$mode]+="$(GPUDEV_AOT=$mode one --help) "
    samples[list_$mode]+="$(GPUDEV_AOT=$mode one list) "
  done
done
for what in help list; do
  on=$(echo ${samples[${what}_on]} | tr ' ' '\n' | median)
  off=$(echo ${samples[${what}_off]} | tr ' ' '\n' | median)
  printf '%-6s median %4d ms with the AOT cache, %4d ms without (ratio %s, %d runs each)\n' \
    "$what" "$on" "$off" "$(python3 -c "print(f'{$on/$off:.2f}')")" "$RUNS"
done
