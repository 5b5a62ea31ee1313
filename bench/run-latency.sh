#!/usr/bin/env bash
# A user's waits, through ./gpu-dev against a local server (simulated GPUs, the local backend):
#  - `gpu-dev run -- CMD` to the command's first output line (the reserve, the environment made, the
#    command started, its output read over SSH through the proxy), without and with --workdir;
#  - `gpu-dev connect NAME -- true`, the first and the later ones, beside plain `ssh gpudev-NAME true`.
#   bench/run-latency.sh [RUNS=5]
# Medians of RUNS; starts its own server on 127.0.0.1 and stops it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS=${1:-5}
. "$ROOT/bench/local-server.sh" runlat   # a server of its own, a logged-in HOME
mkdir -p "$DATA/proj/src"
for i in $(seq 1 20); do head -c 20000 /dev/urandom > "$DATA/proj/src/part$i.bin"; done
echo 'print("first line")' > "$DATA/proj/train.py"

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# ms from the start of `gpu-dev run ARGS` to its first line on stdout
first_line() {
  local t0 line
  t0=$(now)
  exec 3< <("$ROOT/gpu-dev" run --gpu-type h100 --hours 0.25 "$@" 2>/dev/null)
  IFS= read -r line <&3
  echo $(( ($(now) - t0) / 1000000 ))
  cat <&3 >/dev/null
  exec 3<&-
}
plain=() ; workdir=() ; first=() ; later=() ; ssh_plain=()
for i in $(seq 1 "$RUNS"); do
  plain+=("$(first_line -- echo first line)")
  workdir+=("$(first_line --workdir "$DATA/proj" -- python3 train.py)")
  "$ROOT/gpu-dev" reserve --gpu-type h100 --hours 0.25 --name "c$i" --wait >/dev/null
  t0=$(now); "$ROOT/gpu-dev" connect "c$i" -- true; first+=($(( ($(now) - t0) / 1000000 )))
  t0=$(now); "$ROOT/gpu-dev" connect "c$i" -- true; later+=($(( ($(now) - t0) / 1000000 )))
  t0=$(now); ssh -F "$HOME/.gpu-dev/ssh_config" "gpudev-c$i" true; ssh_plain+=($(( ($(now) - t0) / 1000000 )))
  "$ROOT/gpu-dev" cancel "c$i" >/dev/null
done
printf 'run -- CMD to its first line:           median %5d ms  (%s)\n' "$(printf '%s\n' "${plain[@]}" | median)" "${plain[*]}"
printf 'run --workdir (20 x 20 KB) -- CMD:      median %5d ms  (%s)\n' "$(printf '%s\n' "${workdir[@]}" | median)" "${workdir[*]}"
printf 'connect to a shell (first of a reservation): median %5d ms  (%s)\n' "$(printf '%s\n' "${first[@]}" | median)" "${first[*]}"
printf 'connect to a shell (later):             median %5d ms  (%s)\n' "$(printf '%s\n' "${later[@]}" | median)" "${later[*]}"
printf 'plain ssh gpudev-NAME true:             median %5d ms  (%s)\n' "$(printf '%s\n' "${ssh_plain[@]}" | median)" "${ssh_plain[*]}"
