# Sourced by the benchmarks that go through ./gpu-dev: builds if needed (and makes the CLI's AOT cache), starts
# a server of its own on 127.0.0.1 (simulated GPUs, a temporary data dir; stopped with its environments and
# removed on exit), and logs a fresh HOME in as its admin. Needs ROOT; sets DATA, PORT, SERVER and HOME.
#   . "$ROOT/bench/local-server.sh" NAME
"$ROOT/gpu-dev" --version >/dev/null
DATA=$(mktemp -d "/tmp/gpudev-$1.XXXXXX")
PORT=$((20000 + RANDOM % 20000))
"$ROOT/gpu-dev" server --port "$PORT" --ssh-port "$((PORT + 1))" --data-dir "$DATA/server" \
  --simulated-gpus h100:8 --stop-environments-on-exit > "$DATA/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 600); do grep -q "gpudev is running" "$DATA/server.log" && break; sleep 0.1; done
export HOME="$DATA/home"
mkdir -p "$HOME/.ssh"
ssh-keygen -q -t ed25519 -N '' -f "$HOME/.ssh/id_ed25519"
"$ROOT/gpu-dev" --api-url "http://127.0.0.1:$PORT" login --token-file "$DATA/server/admin-token" >/dev/null
