#!/usr/bin/env bash
# Runs one cargo-fuzz target on stable Rust.
#
# usage: scripts/fuzz.sh TARGET [SECONDS] [-- extra libFuzzer args]
#        scripts/fuzz.sh seeds            # only (re)build the seed corpora
#        scripts/fuzz.sh list             # list the targets
#
# TARGET is one of fuzz/fuzz_targets/*.rs (decode_frame, capture_reader,
# intel_feed, feed_<format> for each indicator-feed format, dns_message,
# http_request, tls_client_hello, smtp_lines, ip_defrag, tcp_stream). SECONDS
# defaults to 600. Seeds come from the shared test data
# (SDN_TESTDATA, else ../shared/testdata beside the repo, else
# /work/shared/testdata) and are rebuilt idempotently on every run.
# Crashes land in fuzz/artifacts/TARGET/; minimize one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz tmin TARGET fuzz/artifacts/TARGET/crash-...
# (run from the repo root with the same CARGO_TARGET_DIR as below).
# Environment: FUZZ_SANITIZER (default address), CARGO_TARGET_DIR,
# SDN_TESTDATA.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fuzz="$repo/fuzz"

# Stable rustc accepts the -Z flags cargo-fuzz passes only with this set.
export RUSTC_BOOTSTRAP=1
# A target dir of its own, so fuzz builds never lock or churn the main one.
# Each sanitizer gets its own, as the flags differ and would rebuild everything.
sanitizer="${FUZZ_SANITIZER:-address}"
if [[ "$sanitizer" == address ]]; then
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sdn-sensor-fuzz-target}"
else
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sdn-sensor-fuzz-target-$sanitizer}"
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install --locked cargo-fuzz
fi

testdata="${SDN_TESTDATA:-}"
if [[ -z "$testdata" ]]; then
    for d in "$repo/../shared/testdata" /work/shared/testdata; do
        if [[ -d "$d" ]]; then testdata="$d"; break; fi
    done
fi

build_seeds() {
    python3 "$fuzz/make_seeds.py" "${testdata:-/nonexistent}" "$fuzz/corpus"
    # Past crashes stay in the corpus so every run re-checks them.
    for dir in "$fuzz"/regressions/*/; do
        [[ -d "$dir" ]] || continue
        t=$(basename "$dir")
        mkdir -p "$fuzz/corpus/$t"
        cp -n "$dir"* "$fuzz/corpus/$t/" 2>/dev/null || true
    done
    # Targets without natural seeds (ip_defrag, tcp_stream) start empty.
    for t in "$fuzz"/fuzz_targets/*.rs; do
        mkdir -p "$fuzz/corpus/$(basename "$t" .rs)"
    done
}

target="${1:-}"
case "$target" in
    "" | -h | --help)
        sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 2
        ;;
    seeds)
        build_seeds
        exit 0
        ;;
    list)
        cd "$repo" && cargo fuzz list
        exit 0
        ;;
esac
if [[ ! -f "$fuzz/fuzz_targets/$target.rs" ]]; then
    echo "fuzz.sh: unknown target '$target' (see fuzz/fuzz_targets/)" >&2
    exit 2
fi
shift
seconds=600
if [[ $# -gt 0 && "$1" != "--" ]]; then
    seconds="$1"
    shift
fi
[[ "${1:-}" == "--" ]] && shift

build_seeds
cd "$repo"
# -timeout: one input running longer than this is reported as a hang.
# FUZZ_SANITIZER=none builds without AddressSanitizer: far faster for the
# allocation-heavy targets (capture_reader, intel_feed), and the code under
# test is safe Rust, so overflow checks and panics are still caught.
exec cargo fuzz run --sanitizer "$sanitizer" "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 "$@"
