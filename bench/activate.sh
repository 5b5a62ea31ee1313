#!/usr/bin/env bash
# Submit → active on the local backend, as users wait for it: the server's own clock from the row's
# created_at to its launched_at, for N reservations one after the other (each cancelled before the next),
# with the machine's best sandbox (bubblewrap, and control groups when run as root: the bounded box).
#   bench/activate.sh [N=30]
# Starts its own server (simulated GPUs, a temporary data dir) on 127.0.0.1 and stops it, with its
# environments, at the end. Prints p50 / p90 / max in ms.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/java-env.sh"
N=${1:-30}
(cd "$ROOT" && mvn -B -q -DskipTests package -pl server -am)
SERVER_JAR="${GPUDEV_SERVER_JAR:-$ROOT/server/target/gpudev-server.jar}"
DATA=$(mktemp -d /tmp/gpudev-activate.XXXXXX)
PORT=$((20000 + RANDOM % 20000))
# (a baseline build from before environments outlived the server has no such flag, and needs none)
STOP=()
"$JAVA_HOME/bin/java" -jar "$SERVER_JAR" --help 2>&1 | grep -q -- --stop-environments-on-exit && STOP=(--stop-environments-on-exit)
RATE_LIMIT_PER_KEY=100000 RATE_LIMIT_PER_ADDRESS=100000 "$JAVA_HOME/bin/java" -jar "$SERVER_JAR" --port "$PORT" --ssh-port $((PORT + 1)) --data-dir "$DATA" \
  --simulated-gpus h100:8 "${STOP[@]}" > "$DATA/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; "$JAVA_HOME/bin/java" -jar "$SERVER_JAR" stop-environments --data-dir "$DATA" >/dev/null 2>&1 || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 600); do grep -q "gpudev is running" "$DATA/server.log" && break; sleep 0.1; done
API="http://127.0.0.1:$PORT"
KEY=$(curl -s -X POST "$API/v1/auth/token-login" -H 'Content-Type: application/json' \
  -d "{\"token\":\"$(cat "$DATA/admin-token")\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
curl -s -X POST "$API/v1/ssh-keys" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"public_key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6BNb4k0Mb4j2O9b6hX6RrZCXv2FqKpWDrQT2pV4kYQ bench"}' > /dev/null
grep -m1 "isolation\|sandbox" "$DATA/server.log" | sed 's/^/# /' || true
python3 - "$API" "$KEY" "$N" <<'PY'
import json, sys, time, urllib.request
from datetime import datetime
api, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def call(method, path, body=None):
    req = urllib.request.Request(api + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"{}")
def at(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))
took, detail = [], ""
for i in range(n):
    job = call("POST", "/v1/jobs/submit", {"gpu_type": "h100", "gpu_count": 1, "duration_hours": 1})["job_id"]
    deadline = time.time() + 30
    while True:
        j = call("GET", "/v1/jobs/" + job)
        if j["status"] in ("active", "failed"):
            break
        if time.time() > deadline:
            sys.exit("not active within 30 s: " + json.dumps(j))
        time.sleep(0.005)
    if j["status"] != "active":
        sys.exit("failed: " + str(j.get("failure_reason")))
    detail = j.get("current_detailed_status") or ""
    took.append((at(j["launched_at"]) - at(j["created_at"])).total_seconds() * 1000)
    call("POST", "/v1/jobs/" + job + "/cancel")
    while call("GET", "/v1/jobs/" + job)["status"] != "cancelled":
        time.sleep(0.01)
took.sort()
print("# last environment: " + detail)
print("SUMMARY submit_to_active n=%d p50=%.0fms p90=%.0fms max=%.0fms" % (len(took), took[len(took) // 2],
      took[int(len(took) * 0.9) - 1], took[-1]))
PY
