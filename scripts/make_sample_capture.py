#!/usr/bin/env python3
"""Writes samples/sample.pcap: a small, deterministic capture for the README's
first command. Documentation addresses only (RFC 5737 / RFC 3849), standard
library only. Re-running it reproduces the file byte for byte."""

import struct
import sys

MAC_A = bytes.fromhex("020000000005")
MAC_GW = bytes.fromhex("0200000000fe")


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def ip6(a):
    import ipaddress
    return ipaddress.IPv6Address(a).packed


def ipv4(src, dst, proto, payload, ident=1):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, 64, proto, 0, ip4(src), ip4(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(src, dst, nh, payload):
    return struct.pack("!IHBB", 0x60000000, len(payload), nh, 64) + ip6(src) + ip6(dst) + payload


def tcp(sport, dport, flags, seq=1000, ack=0, data=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 0x50, flags, 65535, 0, 0) + data


def udp(sport, dport, data):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def ether(payload, ethertype=0x0800, vlan=None, src=MAC_A, dst=MAC_GW):
    tag = struct.pack("!HH", 0x8100, vlan) if vlan is not None else b""
    return dst + src + tag + struct.pack("!H", ethertype) + payload


def dns_query(ident, name):
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", 1, 1)


def dns_response(ident, name, addr):
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    header = struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0)
    answer = struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + ip4(addr)
    return header + q + struct.pack("!HH", 1, 1) + answer


def tls_client_hello(sni):
    name = sni.encode()
    server_name = struct.pack("!HBH", len(name) + 3, 0, len(name)) + name
    extensions = struct.pack("!HH", 0, len(server_name)) + server_name
    body = (
        struct.pack("!H", 0x0303) + bytes(32) + b"\0"
        + struct.pack("!HH", 2, 0x1301) + b"\x01\x00"
        + struct.pack("!H", len(extensions)) + extensions
    )
    handshake = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def frames():
    t = 1795928400  # 2026-11-29T05:00:00Z
    c2 = "203.0.113.66"
    out = []

    def add(dt, frame, caplen=None):
        out.append((t + dt, frame, caplen))

    # DNS lookup of a name below the listed domain, via the local resolver
    # (not listed); the answer is the listed C2 address.
    add(0.000100, ether(ipv4("10.0.0.5", "192.0.2.53", 17, udp(53124, 53, dns_query(0x1092, "www.evil.example")))))
    add(0.012000, ether(ipv4("192.0.2.53", "10.0.0.5", 17, udp(53, 53124, dns_response(0x1092, "www.evil.example", c2))), src=MAC_GW, dst=MAC_A))
    # TCP handshake and a request to the listed C2 address.
    add(0.020000, ether(ipv4("10.0.0.5", c2, 6, tcp(51000, 443, 0x02))))
    add(0.061000, ether(ipv4(c2, "10.0.0.5", 6, tcp(443, 51000, 0x12, 5000, 1001)), src=MAC_GW, dst=MAC_A))
    add(0.061200, ether(ipv4("10.0.0.5", c2, 6, tcp(51000, 443, 0x10, 1001, 5001))))
    add(0.061500, ether(ipv4("10.0.0.5", c2, 6, tcp(51000, 443, 0x18, 1001, 5001, tls_client_hello("www.evil.example")))))
    # Benign web traffic.
    for i in range(6):
        add(0.1 + i * 0.01, ether(ipv4("10.0.0.5", "192.0.2.80", 6, tcp(52000 + i, 80, 0x02))))
    # A host on VLAN 100 scanning into a listed /24.
    for i, port in enumerate([22, 23, 80, 443, 3389, 8080]):
        add(0.2 + i * 0.001, ether(ipv4("10.0.100.7", "198.51.100.%d" % (20 + i), 6, tcp(40000, port, 0x02)), vlan=100))
    # ICMP echo to the C2 address.
    add(0.3, ether(ipv4("10.0.0.5", c2, 1, struct.pack("!BBHHH", 8, 0, 0, 7, 1) + bytes(32))))
    # IPv6: a listed address and a benign one.
    add(0.4, ether(ipv6("2001:db8:1::5", "2001:db8:bad::1", 6, tcp(51500, 443, 0x02)), ethertype=0x86DD))
    add(0.41, ether(ipv6("2001:db8:1::5", "2001:db8:100::80", 17, udp(51501, 443, bytes(40))), ethertype=0x86DD))
    # ARP (no IP layer) and a frame cut short inside its TCP header.
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + MAC_A + ip4("10.0.0.5") + bytes(6) + ip4("10.0.0.1")
    add(0.5, ether(arp, ethertype=0x0806, dst=b"\xff" * 6))
    add(0.6, ether(ipv4("10.0.0.9", c2, 6, tcp(53000, 8443, 0x02))), caplen=14 + 20 + 8)
    # A phishing page fetched over plain HTTP from a benign-looking address.
    request = b"GET /verify HTTP/1.1\r\nHost: login.evil.example\r\nUser-Agent: curl/8.5\r\n\r\n"
    add(0.7, ether(ipv4("10.0.0.5", "192.0.2.80", 6, tcp(52100, 80, 0x18, 7001, 9001, request))))
    return out


def main(path):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, frame, caplen in frames():
            sec = int(ts)
            usec = int(round((ts - sec) * 1e6))
            data = frame[:caplen] if caplen else frame
            f.write(struct.pack("<IIII", sec, usec, len(data), len(frame)))
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "samples/sample.pcap")
