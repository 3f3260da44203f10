#!/usr/bin/env bash
# `run` with the analytics store under a syslog flood (BENCHMARKS.md): the
# service with one syslog UDP listener, a jsonl sink and the analytics
# store; a Python sender floods it for SECONDS (default 5) with RFC 3164
# lines that each hit a listed address; then the counters that account
# for every event, and the events stored.
#   bash scripts/store_flood.sh [SECONDS] [BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-5}"
bin="${2:-$(realpath "${CARGO_TARGET_DIR:-target}")/release/sdn-sensor}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
printf 'id,type,threat_type,ip,dns,value\n1,ip,c2,203.0.113.66,,\n2,ip,scanner,198.51.100.7,,\n' > "$dir/feed.csv"
cat > "$dir/run.toml" <<EOF
[listen]
netflow = []
ipfix = []
sflow = []
syslog_udp = ["127.0.0.1:15514"]
syslog_tcp = []

[http]
listen = "127.0.0.1:18099"

[[sink]]
type = "jsonl"
path = "$dir/events.jsonl"

[analytics]
enabled = true
throttle = 3
store = "$dir/a.db"
EOF
"$bin" run --config "$dir/run.toml" --intel "$dir/feed.csv" > "$dir/run.log" 2>&1 &
pid=$!
for _ in $(seq 50); do
    curl -sf http://127.0.0.1:18099/healthz >/dev/null && break
    sleep 0.2
done
python3 - "$secs" <<'EOF'
import socket, sys, time
secs = float(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
msgs = [("<34>Nov 29 22:00:00 host%d sshd[1]: Failed password for root from 203.0.113.66 port %d ssh2"
         % (i % 50, 1000 + i)).encode() for i in range(1000)]
n, t0 = 0, time.time()
while time.time() < t0 + secs:
    for m in msgs:
        s.sendto(m, ("127.0.0.1", 15514))
    n += len(msgs)
print("sent", n, "datagrams,", round(n / (time.time() - t0)), "per second")
EOF
sleep 2
curl -s http://127.0.0.1:18099/metrics > "$dir/metrics.txt"
kill -INT "$pid"
wait "$pid" || true
grep -E '^sdn_(listener_(datagrams|drops)_total|analytics_events_total|sink_dropped_total\{sink="analytics"\}|analytics_store_(dropped|errors|lost)_total)' "$dir/metrics.txt"
python3 -c 'import sqlite3, sys; print("events stored:", sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM events").fetchone()[0])' "$dir/a.db"
