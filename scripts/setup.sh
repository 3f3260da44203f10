#!/usr/bin/env bash
# Installs what the build needs from Debian, idempotently: only packages that
# are missing, and apt-get update only when something is.
set -euo pipefail

# gcc: the linker rustc drives; python3: scripts/make_sample_capture.py;
# softflowd and pmacct (pmacctd's sfprobe): the real exporters the flow
# listener test (tests/flow_listeners.rs) sends from.
packages=(gcc python3 softflowd pmacct)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

command -v cargo >/dev/null || {
    echo "setup: cargo not found; install Rust 1.95 (rustup) and re-run" >&2
    exit 1
}
