#!/usr/bin/env bash
# What a processor cycle reads as the queue deepens (embedded PostgreSQL, in-memory backend):
#   bench/cycle-reads.sh [WAITING...]   (default 1000 50000)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/java-env.sh"
(cd "$ROOT" && mvn -B -q -DskipTests package -pl bench -am)
exec "$JAVA_HOME/bin/java" -cp "$ROOT/bench/target/gpudev-bench.jar" dev.gpudev.bench.CycleReads "$@"
