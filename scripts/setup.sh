#!/usr/bin/env bash
# Installs what the build needs from Debian, idempotently: only packages that
# are missing, and apt-get update only when something is.
set -euo pipefail

# gcc: the linker rustc drives; python3: scripts/make_sample_capture.py;
# pkg-config and libsqlite3-dev: the analytics store links Debian's SQLite;
# softflowd and pmacct (pmacctd's sfprobe): the real exporters the flow
# listener tests send from; bsdutils (logger): the syslog sender;
# tcpreplay, iproute2 and curl: the live capture test in network
# namespaces; tcpdump: the oracle of the pcap_chain test (libpcap's own
# filter evaluation); nats-server: the JetStream tests; cmake: builds NNG
# for the nanomsg test's peer (a dev-dependency only); libpcap0.8: loaded
# at run time for pcap_chain filters (the build needs no libpcap).
# chromium: the dashboard's browser test (tests/web_browser.rs drives it
# with Playwright, tests/browser; no browser download).
packages=(gcc python3 pkg-config libsqlite3-dev softflowd pmacct bsdutils tcpreplay tcpdump iproute2 curl nats-server cmake libpcap0.8 chromium)
# Node and npm for the browser test: Debian's nodejs and npm, unless a node
# is already installed (e.g. NodeSource's, which bundles npm and conflicts
# with Debian's npm package).
if ! command -v node >/dev/null; then
    packages+=(nodejs npm)
elif ! command -v npm >/dev/null; then
    packages+=(npm)
fi

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
