#!/usr/bin/env bash
# Builds sdn-sensor and runs the service on its embedded defaults: the
# bundled sample intel, syslog on UDP/TCP 5514, NetFlow 2055, IPFIX 4739,
# sFlow 6343, the dashboard and /metrics on http://127.0.0.1:8080/, events
# to target/demo/events.jsonl and the store target/demo/sdn-sensor.db. To show an event, it sends one syslog line that
# names a sample indicator, then replays the bundled capture offline. The
# service runs until Ctrl-C (or for DEMO_SECONDS seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked --quiet
mkdir -p target/demo
# (The build may go elsewhere: CARGO_TARGET_DIR.)
bin="$(realpath "${CARGO_TARGET_DIR:-target}")/release/sdn-sensor"
(cd target/demo && exec "$bin" run ${DEMO_SECONDS:+--duration "$DEMO_SECONDS"} "$@") &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true; wait "$pid" || true' INT TERM
for _ in $(seq 100); do
    curl -sf http://127.0.0.1:8080/healthz >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { wait "$pid"; exit 1; }
    sleep 0.1
done
logger -n 127.0.0.1 -P 5514 -d -t sshd "Failed password for root from 203.0.113.66 port 52144 ssh2"
# The sink writes in batches (at most a second apart).
for _ in $(seq 50); do
    [ -s target/demo/events.jsonl ] && break
    sleep 0.1
done
echo "--- events from the service (target/demo/events.jsonl):" >&2
cat target/demo/events.jsonl
echo "--- the bundled capture, replayed offline:" >&2
"$bin" replay samples/sample.pcap --intel samples/intel.csv
echo "--- the service runs on (Ctrl-C stops it); dashboard: http://127.0.0.1:8080/ (/metrics, /api/openapi.json)" >&2
wait "$pid"
