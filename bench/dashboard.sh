#!/usr/bin/env bash
# The dashboard's load time with many reservations, in headless chromium against the real server jar:
#   bench/dashboard.sh [RESERVATIONS=1000] [ROUNDS=11]
# Needs Debian's chromium and chromium-driver (./run-tests installs them).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/java-env.sh"
cd "$ROOT"
mvn -B -q -DskipTests install -pl server,cli -am
mvn -B -q test -pl e2e -Dtest=DashboardLoadBench -Dsurefire.failIfNoSpecifiedTests=false \
  -Dreservations="${1:-1000}" -Drounds="${2:-11}" >/dev/null || { echo "dashboard bench failed: see e2e/target/surefire-reports" >&2; exit 1; }
grep -E '^(submitted|cluster:|GET |page )' e2e/target/surefire-reports/dev.gpudev.e2e.DashboardLoadBench-output.txt
