#!/usr/bin/env bash
# The submit load benchmark: the API under load against pgbench running the same transaction straight
# into the same database (the machine's ceiling), then latency at half the API's peak.
#   bench/load.sh [SECONDS=20] [WORKERS=32]
# Starts its own server (simulated GPUs, a temporary data dir) on 127.0.0.1 and stops it at the end.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/java-env.sh"
SECONDS_RUN=${1:-20}
WORKERS=${2:-32}
command -v pgbench >/dev/null || { echo "bench/load.sh needs pgbench (apt-get install postgresql-client)" >&2; exit 2; }
(cd "$ROOT" && mvn -B -q -DskipTests package -pl server,bench -am)
DATA=$(mktemp -d /tmp/gpudev-load.XXXXXX)
PORT=$((20000 + RANDOM % 20000))
SSH_PORT=$((PORT + 1))
# The processor also runs, as in production; rate limits are lifted for the measurement.
RATE_LIMIT_PER_KEY=100000 RATE_LIMIT_PER_ADDRESS=100000 \
  "$JAVA_HOME/bin/java" ${GPUDEV_JAVA_OPTS:-} -jar "$ROOT/server/target/gpudev-server.jar" --port "$PORT" --ssh-port "$SSH_PORT" \
  --data-dir "$DATA" --simulated-gpus h100:8 > "$DATA/server.log" 2>&1 &
SERVER=$!
# The server's log is kept for a look at what happened during the run.
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; cp "$DATA/server.log" /tmp/gpudev-load-server.log 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 600); do grep -q "gpudev is running" "$DATA/server.log" && break; sleep 0.1; done
# The embedded PostgreSQL listens only on its private socket, with a password (the operator's view).
PG_HOST="$DATA/pg-run"
PG_PORT=5432
export PGPASSWORD="$(cat "$DATA/pg-secrets/superuser")"
API="http://127.0.0.1:$PORT"

echo "== API: POST /v1/jobs/submit, $WORKERS workers, ${SECONDS_RUN}s"
API_OUT=$("$JAVA_HOME/bin/java" -cp "$ROOT/bench/target/gpudev-bench.jar" dev.gpudev.bench.SubmitLoad "$API" "$DATA/admin-token" "$SECONDS_RUN" "$WORKERS")
echo "$API_OUT"
USERS=$(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d gpudev -Atc "select max(user_id) from api_users")

echo "== pgbench: the same transaction straight into the database, $WORKERS clients, ${SECONDS_RUN}s"
PGB=$(pgbench -h "$PG_HOST" -p "$PG_PORT" -U postgres -n -c "$WORKERS" -j 2 -T "$SECONDS_RUN" -D users="$USERS" -f "$ROOT/bench/submit.sql" gpudev 2>&1)
echo "$PGB" | grep -E "tps|latency average"
API_RATE=$(echo "$API_OUT" | sed -n 's/.*api_peak_per_s=\([0-9.]*\).*/\1/p')
DB_RATE=$(echo "$PGB" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
python3 -c "print(f'ratio API/pgbench = {float(\"$API_RATE\")/float(\"$DB_RATE\"):.2f} (goal: at least 0.5)')"

# The database's own latency at the rate the API was measured at: the floor under the API's p99.
HALF=$(python3 -c "print(int(float('$API_RATE')/2))")
echo "== pgbench at $HALF tps (the API's open-loop rate), ${SECONDS_RUN}s: per-transaction latency"
(cd "$DATA" && pgbench -h "$PG_HOST" -p "$PG_PORT" -U postgres -n -c "$WORKERS" -j 2 -R "$HALF" -T "$SECONDS_RUN" \
   -D users="$USERS" -f "$ROOT/bench/submit.sql" -l --log-prefix=pgb gpudev > /dev/null 2>&1)
cat "$DATA"/pgb.* | python3 -c "
import sys
lat = sorted(int(l.split()[2]) / 1000.0 for l in sys.stdin if l.strip())
print(f'pgbench at half rate: p50 {lat[len(lat)//2]:.1f} ms, p99 {lat[int(len(lat)*0.99)]:.1f} ms ({len(lat)} transactions)')"
