#!/usr/bin/env bash
# The submit load benchmark: the API under load against pgbench running the same transaction straight
# into the same database (the machine's ceiling), then latency at half the API's peak beside pgbench's
# own latency at that rate, and at a fixed rate (the original Python API's half peak, 730/s here), where
# pgbench is measured twice more: beside the running server (its processor applies pgbench's commands too)
# and with gpudev's processes frozen (SIGSTOP): PostgreSQL alone on this machine, the floor under any p99.
#   bench/load.sh [SECONDS=20] [WORKERS=32] [--replicas N] [--fixed-rate R] [--busy N] [--prefill N]
# --busy N runs N CPU-bound processes beside the server for the whole run (a busy CI or shared machine).
# --prefill N puts N waiting reservations in the queue first (pgbench, what a submit writes) and waits for the
# processor to plan them all: the run then starts on a deep queue (the server's memory is read at its end).
# Starts its own server (simulated GPUs, a temporary data dir) on 127.0.0.1 and stops it at the end;
# --replicas 2 adds a second processor (--role processor) on the same database; with the local backend only
# one processor drives the machine (a lease), so the second stands by and takes over if the first dies;
# on Kubernetes every replica drives the shared cluster. The processor runs, as
# in production, and the queue grows through the run. Ends with one SUMMARY line with every figure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/java-env.sh"
POSITIONAL=()
REPLICAS=1
FIXED_RATE=730
BUSY=0
PREFILL=0
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) REPLICAS="$2"; shift 2 ;;
    --fixed-rate) FIXED_RATE="$2"; shift 2 ;;
    --busy) BUSY="$2"; shift 2 ;;
    --prefill) PREFILL="$2"; shift 2 ;;
    *) POSITIONAL+=("$1"); shift ;;
  esac
done
SECONDS_RUN=${POSITIONAL[0]:-20}
WORKERS=${POSITIONAL[1]:-32}
command -v pgbench >/dev/null || { echo "bench/load.sh needs pgbench (apt-get install postgresql-client)" >&2; exit 2; }
(cd "$ROOT" && mvn -B -q -DskipTests package -pl server,bench -am)
# GPUDEV_SERVER_JAR=path: measure another build of the server (a baseline) with this harness.
# GPUDEV_SERVER_ARGS="--fair-share-weight 0": more flags for the server (e.g. first come, first served).
SERVER_JAR="${GPUDEV_SERVER_JAR:-$ROOT/server/target/gpudev-server.jar}"
DATA=$(mktemp -d /tmp/gpudev-load.XXXXXX)
PORT=$((20000 + RANDOM % 20000))
SSH_PORT=$((PORT + 1))
# The processor also runs, as in production; rate limits and the per-user waiting limits are lifted for the measurement.
# (a baseline build from before the per-user waiting limits has no such flags, and needs none)
UNLIMITED=()
"$JAVA_HOME/bin/java" -jar "$SERVER_JAR" --help 2>&1 | grep -q -- --max-waiting-per-user \
  && UNLIMITED=(--max-waiting-per-user 0 --max-waiting-gpu-hours-per-user 0 --stop-environments-on-exit)
RATE_LIMIT_PER_KEY=100000 RATE_LIMIT_PER_ADDRESS=100000 \
  "$JAVA_HOME/bin/java" -Dgpudev.cycleStatsSeconds=5 ${GPUDEV_JAVA_OPTS:-} -jar "$SERVER_JAR" --port "$PORT" --ssh-port "$SSH_PORT" \
  --data-dir "$DATA" --simulated-gpus h100:8 "${UNLIMITED[@]}" ${GPUDEV_SERVER_ARGS:-} > "$DATA/server.log" 2>&1 &
SERVER=$!
PIDS="$SERVER"
# The server's log is kept for a look at what happened during the run.
trap 'kill -CONT $PIDS 2>/dev/null || true; kill $PIDS ${BUSY_PIDS:-} 2>/dev/null || true; wait $PIDS 2>/dev/null || true; cp "$DATA/server.log" /tmp/gpudev-load-server.log 2>/dev/null || true; cp "$DATA/processor2.log" /tmp/gpudev-load-processor2.log 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 600); do grep -q "gpudev is running" "$DATA/server.log" && break; sleep 0.1; done
# Other work on the machine: N processes that each keep a core busy, ended with the run.
# (not frozen with gpudev's processes below: they are the machine's, as the floor's conditions)
BUSY_PIDS=""
for _ in $(seq 1 "$BUSY"); do
  sh -c 'while :; do :; done' &
  BUSY_PIDS="$BUSY_PIDS $!"
done
# The embedded PostgreSQL listens only on its private socket, with a password (the operator's view).
PG_HOST="$DATA/pg-run"
PG_PORT=5432
export PGPASSWORD="$(cat "$DATA/pg-secrets/superuser")"
API="http://127.0.0.1:$PORT"
if [ "$REPLICAS" -gt 1 ]; then
  URL="jdbc:postgresql://localhost/gpudev?socketFactory=org.newsclub.net.unix.AFUNIXSocketFactory\$FactoryArg&socketFactoryArg=$PG_HOST/.s.PGSQL.$PG_PORT&user=gpudev_app&password=$(cat "$DATA/pg-secrets/app")"
  for i in $(seq 2 "$REPLICAS"); do
    "$JAVA_HOME/bin/java" ${GPUDEV_JAVA_OPTS:-} -jar "$SERVER_JAR" --role processor --database-url "$URL" \
      --data-dir "$DATA/processor$i" --simulated-gpus h100:8 > "$DATA/processor$i.log" 2>&1 &
    PIDS="$PIDS $!"
  done
  sleep 5
  echo "== $REPLICAS processors on one database"
fi

if [ "$PREFILL" -gt 0 ]; then
  echo "== prefill: $PREFILL waiting reservations, then the processor plans them"
  # (its own users: the load's come later)
  PF_USERS=$(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d gpudev -Atc "insert into api_users (username) select 'prefill-' || g
    from generate_series(1, 64) g on conflict do nothing; select max(user_id) from api_users" | tail -1)
  pgbench -h "$PG_HOST" -p "$PG_PORT" -U postgres -n -c 8 -j 2 -t $((PREFILL / 8)) -D users="$PF_USERS" -f "$ROOT/bench/submit.sql" gpudev 2>&1 | grep -E "^(tps|pgbench: error)" || true
  for _ in $(seq 1 600); do
    LEFT=$(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d gpudev -Atc "select count(*) from reservations where status = 'queued' and queue_position is null")
    [ "$LEFT" = 0 ] && break
    sleep 1
  done
  echo "prefilled: $(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d gpudev -Atc "select count(*) from reservations where status = 'queued'") waiting, $LEFT not planned yet"
fi

CKPT_START=$(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d gpudev -Atc "select num_timed + num_requested from pg_stat_checkpointer")
echo "== API: POST /v1/jobs/submit, $WORKERS workers, ${SECONDS_RUN}s"
START_LINES=$(wc -l < "$DATA/server.log")
API_OUT=$(FIXED_RATE="$FIXED_RATE" "$JAVA_HOME/bin/java" -cp "$ROOT/bench/target/gpudev-bench.jar" dev.gpudev.bench.SubmitLoad \
  "$API" "$DATA/admin-token" "$SECONDS_RUN" "$WORKERS")
echo "$API_OUT"
CKPT_API=$(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d gpudev -Atc "select num_timed + num_requested from pg_stat_checkpointer")
SLOW=$(tail -n +"$START_LINES" "$DATA/server.log" | grep -c "slow processor cycle" || true)
# The loop's cycles during the API's run, from its 5-second lines: the largest period p99 bounds the run's p99.
CYCLE_P99=$(tail -n +"$START_LINES" "$DATA/server.log" | sed -n 's/.*processor cycles in the last [0-9]* s: [0-9]*, p50 [0-9]* ms, p99 \([0-9]*\) ms.*/\1/p' | sort -n | tail -1)
CYCLE_MAX=$(tail -n +"$START_LINES" "$DATA/server.log" | sed -n 's/.*processor cycles in the last [0-9]* s: [0-9]*, .*max \([0-9]*\) ms.*/\1/p' | sort -n | tail -1)
MAX_CYCLE=$(tail -n +"$START_LINES" "$DATA/server.log" | sed -n 's/.*slow processor cycle: \([0-9]*\) ms.*/\1/p' | sort -n | tail -1)
USERS=$(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d gpudev -Atc "select max(user_id) from api_users")
WAITING=$(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d gpudev -Atc "select count(*) from reservations where status = 'queued'")
# The server's memory with that queue: its live heap (after a full GC) and its resident set.
"$JAVA_HOME/bin/jcmd" "$SERVER" GC.run > /dev/null 2>&1 || true
HEAP_MB=$("$JAVA_HOME/bin/jcmd" "$SERVER" GC.heap_info 2>/dev/null | sed -n 's/.* used \([0-9]*\)K.*/\1/p' | head -1)
HEAP_MB=$(( ${HEAP_MB:-0} / 1024 ))
RSS_MB=$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$SERVER/status" 2>/dev/null || echo 0)
echo "server with $WAITING waiting: live heap ${HEAP_MB} MB, resident ${RSS_MB} MB (the JVM; PostgreSQL is its own processes)"

echo "== pgbench: the same transaction straight into the database, $WORKERS clients, ${SECONDS_RUN}s"
PGB=$(pgbench -h "$PG_HOST" -p "$PG_PORT" -U postgres -n -c "$WORKERS" -j 2 -T "$SECONDS_RUN" -D users="$USERS" -f "$ROOT/bench/submit.sql" gpudev 2>&1)
echo "$PGB" | grep -E "tps|latency average"
API_RATE=$(echo "$API_OUT" | sed -n 's/.*api_peak_per_s=\([0-9.]*\).*/\1/p')
DB_RATE=$(echo "$PGB" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)

# The database's own latency at a rate: pgbench on a fixed schedule, every transaction logged.
db_latency() {
  rm -f "$DATA"/pgb.*
  (cd "$DATA" && pgbench -h "$PG_HOST" -p "$PG_PORT" -U postgres -n -c "$WORKERS" -j 2 -R "$1" -T "$SECONDS_RUN" \
     -D users="$USERS" -f "$ROOT/bench/submit.sql" -l --log-prefix=pgb gpudev > /dev/null 2>&1)
  cat "$DATA"/pgb.* | python3 -c "
import sys
lat = sorted(int(l.split()[2]) / 1000.0 for l in sys.stdin if l.strip())
print(f'{lat[len(lat)//2]:.1f} {lat[int(len(lat)*0.99)]:.1f} {len(lat)}')"
}
# The database's own latency at the rates the API was measured at: the floor under the API's p99.
HALF=$(python3 -c "print(int(float('$API_RATE')/2))")
echo "== pgbench at $HALF tps (the API's open-loop rate), ${SECONDS_RUN}s: per-transaction latency"
read -r DB_P50 DB_P99 DB_N <<< "$(db_latency "$HALF")"
echo "pgbench at half rate: p50 $DB_P50 ms, p99 $DB_P99 ms ($DB_N transactions)"
echo "== pgbench at $FIXED_RATE tps (the fixed rate), ${SECONDS_RUN}s"
read -r FIX_P50 FIX_P99 FIX_N <<< "$(db_latency "$FIXED_RATE")"
echo "pgbench at $FIXED_RATE tps: p50 $FIX_P50 ms, p99 $FIX_P99 ms ($FIX_N transactions)"
# The machine's floor: the same, with gpudev's processes frozen (SIGSTOP), PostgreSQL alone serving pgbench.
kill -STOP $PIDS
read -r FLOOR_P50 FLOOR_P99 FLOOR_N <<< "$(db_latency "$FIXED_RATE")"
kill -CONT $PIDS
echo "pgbench at $FIXED_RATE tps, gpudev frozen: p50 $FLOOR_P50 ms, p99 $FLOOR_P99 ms ($FLOOR_N transactions)"
CKPT_AFTER=$(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d gpudev -Atc "select num_timed + num_requested from pg_stat_checkpointer")
RESULT=$(echo "$API_OUT" | grep '^RESULT' | sed 's/^RESULT //')
python3 - "$RESULT" "$DB_RATE" "$DB_P50" "$DB_P99" "$SLOW" "${CYCLE_MAX:-${MAX_CYCLE:-0}}" "$WAITING" "$REPLICAS" "$HEAP_MB" "$RSS_MB" \
  "$FIX_P50" "$FIX_P99" "$((CKPT_API - CKPT_START))" "$((CKPT_AFTER - CKPT_START))" "$FLOOR_P99" "${CYCLE_P99:-0}" "$BUSY" <<'PY'
import datetime, os, sys
r = dict(kv.split('=') for kv in sys.argv[1].split())
db_rate, db_p50, db_p99 = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
peak, p99 = float(r['api_peak_per_s']), float(r['p99_ms'])
line = (f"SUMMARY date={datetime.date.today()} cores={os.cpu_count()} replicas={sys.argv[8]} peak={peak:.0f}/s pgbench={db_rate:.0f}tps "
        f"ratio={peak / db_rate:.2f} half_rate={peak / 2:.0f}/s api_p50={r['p50_ms']}ms api_p99={p99}ms db_p50={db_p50}ms "
        f"db_p99={db_p99}ms p99_ratio={p99 / db_p99:.1f}")
if 'fixed_rate' in r:
    line += (f" at_{r['fixed_rate']}/s_p50={r['fixed_p50_ms']}ms at_{r['fixed_rate']}/s_p99={r['fixed_p99_ms']}ms"
             f" db_at_{r['fixed_rate']}/s_p50={sys.argv[11]}ms db_at_{r['fixed_rate']}/s_p99={sys.argv[12]}ms"
             f" db_alone_at_{r['fixed_rate']}/s_p99={sys.argv[15]}ms")
line += (f" checkpoints_api={sys.argv[13]} checkpoints_all={sys.argv[14]} slow_cycles={sys.argv[5]} cycle_p99={sys.argv[16]}ms"
         f" max_cycle={sys.argv[6]}ms http_503={r.get('http_503', '?')} busy={sys.argv[17]} waiting_after={sys.argv[7]}"
         f" heap={sys.argv[9]}MB rss={sys.argv[10]}MB")
print(line)
PY
