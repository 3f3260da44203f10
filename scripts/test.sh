#!/usr/bin/env bash
# The whole test suite: formatting, lints, every test, and a build of the
# fuzz targets (no fuzzing here: see scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Outside the clone, so repeated runs on one machine reuse the build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sdn-sensor/target}"
[ -d ../shared/testdata ] || { echo "test: ../shared/testdata (the acceptance data) must sit beside the clone" >&2; exit 1; }

# The browser test's Playwright (pinned in tests/browser/package-lock.json),
# installed again only when the lock file changed.
if [ ! -f tests/browser/node_modules/.package-lock.json ] || [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
    (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
if [ -f fuzz/Cargo.toml ]; then
    CARGO_TARGET_DIR="$CARGO_TARGET_DIR/fuzz" cargo check --manifest-path fuzz/Cargo.toml --locked --bins
fi
# One closing line for the whole suite (cargo's last line is a doc-test
# binary that may hold no tests).
awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed\n", p, f; exit (f > 0 || p == 0) }' "$log"
