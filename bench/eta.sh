#!/usr/bin/env bash
# ETA accuracy: a mixed trace replayed through the real processor and scheduler on an injected clock
# (embedded PostgreSQL, in-memory backend); the error of each waiting reservation's first estimate.
#   bench/eta.sh [RESERVATIONS=400] [SEED=7] [--no-surprises]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/java-env.sh"
(cd "$ROOT" && mvn -B -q -DskipTests package -pl bench -am)
exec "$JAVA_HOME/bin/java" -cp "$ROOT/bench/target/gpudev-bench.jar" dev.gpudev.bench.EtaAccuracy "$@"
