#!/usr/bin/env bash
# The whole test suite: formatting, lints, every test, and a build of the
# fuzz targets (no fuzzing here: see scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Outside the clone, so repeated runs on one machine reuse the build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sdn-sensor/target}"
[ -d ../shared/testdata ] || { echo "test: ../shared/testdata (the acceptance data) must sit beside the clone" >&2; exit 1; }

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
if [ -f fuzz/Cargo.toml ]; then
    CARGO_TARGET_DIR="$CARGO_TARGET_DIR/fuzz" cargo check --manifest-path fuzz/Cargo.toml --locked --bins
fi
