#!/usr/bin/env bash
# Builds sdn-sensor and replays the bundled sample capture against the
# bundled sample intel: events on stdout, a summary on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked --quiet
exec ./target/release/sdn-sensor replay samples/sample.pcap --intel samples/intel.csv "$@"
