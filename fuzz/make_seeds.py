#!/usr/bin/env python3
"""Builds the fuzz seed corpora from real captures and feeds (stdlib only).

usage: make_seeds.py TESTDATA_DIR CORPUS_DIR

Writes, idempotently (file names are content hashes):
  CORPUS_DIR/capture_reader/  small whole captures (pcap and pcapng)
  CORPUS_DIR/decode_frame/    one file per frame: link-type selector byte + frame
  CORPUS_DIR/intel_feed/      the heads of a few feeds, plus crafted CSV
  CORPUS_DIR/dns_message/, http_request/, tls_client_hello/, smtp_lines/
                              application payloads found in the captures
                              (DNS over UDP and TCP, requests, ClientHellos,
                              SMTP client segments)
  CORPUS_DIR/netflow_v5/      NetFlow v1/v5/v7 datagrams from the captures and
                              logstash-codec-netflow/dat
  CORPUS_DIR/netflow_v9/, ipfix/  each capture's (or .dat pairing's) v9 or
                              IPFIX datagrams as one input, framed
                              [len u16 BE][control 0][payload] so templates
                              reach the data after them
  CORPUS_DIR/sflow/           sFlow v5 datagrams
  CORPUS_DIR/feed_*/          per feed format: small valid examples (line
                              formats cut to their first lines, JSON whole
                              when small), from TESTDATA_DIR and the repo's
                              tests/data/feeds
"""
import hashlib
import os
import struct
import sys

# Must match LINKTYPES in fuzz_targets/decode_frame.rs (the selector byte is
# the index into it).
LINKTYPES = [0, 1, 10, 12, 14, 101, 108, 113, 228, 229, 276, 147]
SELECTOR = {lt: i for i, lt in enumerate(LINKTYPES)}

CAPTURE_DIRS = ["tcpdump", "zeek", "generated", "crafted", "suricata-verify", "pktvisor", "pmacct-test-automation"]
MAX_CAPTURE_SEED = 8 << 10     # whole captures kept for capture_reader
MAX_FRAMES_PER_FILE = 24


def put(dirname, data):
    os.makedirs(dirname, exist_ok=True)
    path = os.path.join(dirname, hashlib.sha1(data).hexdigest())
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
        return 1
    return 0


def pcap_frames(buf):
    magic = buf[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return
    if len(buf) < 24:
        return
    linktype = struct.unpack(e + "I", buf[20:24])[0] & 0x03FFFFFF
    off = 24
    while off + 16 <= len(buf):
        caplen = struct.unpack(e + "I", buf[off + 8:off + 12])[0]
        data = buf[off + 16:off + 16 + caplen]
        if len(data) < caplen:
            return
        yield linktype, data
        off += 16 + caplen


def pcapng_frames(buf):
    off = 0
    e = "<"
    links = []
    while off + 12 <= len(buf):
        btype = struct.unpack("<I", buf[off:off + 4])[0]
        if btype == 0x0A0D0D0A:
            bom = buf[off + 8:off + 12]
            e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        else:
            btype = struct.unpack(e + "I", buf[off:off + 4])[0]
        blen = struct.unpack(e + "I", buf[off + 4:off + 8])[0]
        if blen < 12 or off + blen > len(buf):
            return
        body = buf[off + 8:off + blen - 4]
        if btype == 1 and len(body) >= 8:
            links.append(struct.unpack(e + "H", body[:2])[0])
        elif btype == 6 and len(body) >= 20:
            if_id, _, _, caplen, _ = struct.unpack(e + "IIIII", body[:20])
            if if_id < len(links):
                yield links[if_id], body[20:20 + caplen]
        elif btype == 3 and len(body) >= 4 and links:
            origlen = struct.unpack(e + "I", body[:4])[0]
            yield links[0], body[4:4 + origlen]
        off += blen


def frames(buf):
    if buf[:4] == b"\x0a\x0d\x0d\x0a":
        return pcapng_frames(buf)
    return pcap_frames(buf)


DNS_PORTS = {53, 5353, 5355, 8053, 1053, 53000}
HTTP_METHODS = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"OPTIONS ", b"CONNECT ", b"DELETE ")


def transport(lt, frame):
    """(proto, sport, dport, payload) of an Ethernet/raw IPv4/IPv6 frame
    (no VLAN or tunnel walk: seeds need not be exhaustive)."""
    if lt == 1:
        if len(frame) < 14:
            return None
        et, ip = struct.unpack("!H", frame[12:14])[0], frame[14:]
        if et == 0x8100 and len(frame) >= 18:
            et, ip = struct.unpack("!H", frame[16:18])[0], frame[18:]
    elif lt in (12, 14, 101, 228, 229):
        ip = frame
    elif lt == 0 and len(frame) >= 4:
        ip = frame[4:]
    else:
        return None
    if not ip:
        return None
    if ip[0] >> 4 == 4 and len(ip) >= 20:
        ihl = (ip[0] & 15) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        proto, l4 = ip[9], ip[ihl:max(ihl, min(total, len(ip)))]
    elif ip[0] >> 4 == 6 and len(ip) >= 40:
        proto, l4 = ip[6], ip[40:]
    else:
        return None
    if proto == 17 and len(l4) >= 8:
        return 17, struct.unpack("!H", l4[:2])[0], struct.unpack("!H", l4[2:4])[0], l4[8:]
    if proto == 6 and len(l4) >= 20:
        off = (l4[12] >> 4) * 4
        return 6, struct.unpack("!H", l4[:2])[0], struct.unpack("!H", l4[2:4])[0], l4[off:]
    return None


FLOW_PORTS = {2055, 9995, 9996, 4739, 6343}


def flow_version(payload):
    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None


def frame_sequence(payloads):
    return b"".join(struct.pack("!HB", len(p), 0) + p for p in payloads)


def flow_seeds(testdata, corpus, n):
    """Export datagrams from the flow captures and the logstash .dat files."""
    def add(target, data):
        n[target] = n.get(target, 0) + put(os.path.join(corpus, target), data)

    for path in captures(testdata):
        with open(path, "rb") as f:
            buf = f.read()
        sequences = {9: [], 10: []}
        try:
            for lt, frame in frames(buf):
                t = transport(lt, frame)
                if not t or t[0] != 17 or t[2] not in FLOW_PORTS | {2056, 9991, 9999} or not t[3]:
                    continue
                payload, v = t[3], flow_version(t[3])
                if payload[:4] == b"\0\0\0\5" and payload[4:8] in (b"\0\0\0\1", b"\0\0\0\2"):
                    add("sflow", payload)
                elif v in (1, 5, 7):
                    add("netflow_v5", payload)
                elif v in (9, 10) and len(sequences[v]) < 64:
                    sequences[v].append(payload)
        except struct.error:
            continue
        for v, target in ((9, "netflow_v9"), (10, "ipfix")):
            if sequences[v]:
                add(target, frame_sequence(sequences[v]))
    dat = os.path.join(testdata, "logstash-codec-netflow", "dat")
    if os.path.isdir(dat):
        for name in sorted(os.listdir(dat)):
            with open(os.path.join(dat, name), "rb") as f:
                payload = f.read()
            v = flow_version(payload)
            if v in (1, 5, 7):
                add("netflow_v5", payload)
            elif v in (9, 10):
                add("netflow_v9" if v == 9 else "ipfix", frame_sequence([payload]))


def app_seeds(lt, frame):
    """(target, payload) pairs for the application-layer fuzz targets."""
    t = transport(lt, frame)
    if not t or not t[3]:
        return
    proto, sport, dport, payload = t
    if sport in DNS_PORTS or dport in DNS_PORTS:
        if proto == 17:
            yield "dns_message", payload
        elif len(payload) > 2:
            yield "dns_message", payload[2:]
    elif proto == 6 and payload.startswith(HTTP_METHODS):
        yield "http_request", payload
    elif proto == 6 and payload[0] == 0x16:
        yield "tls_client_hello", payload
    elif proto == 6 and dport in (25, 587, 2525):
        yield "smtp_lines", payload


def captures(testdata):
    for d in CAPTURE_DIRS:
        root = os.path.join(testdata, d)
        for dirpath, _, files in os.walk(root):
            for name in sorted(files):
                if name.endswith((".pcap", ".pcapng", ".cap")):
                    yield os.path.join(dirpath, name)


CRAFTED_CSV = b"""id,type,threat_type,ip,dns,value
1,ip,c2,192.0.2.1,,
2,cidr,scanner,198.51.100.0/24,,
3,ip,c2,,,2001:db8::1
4,cidr,,,,2001:db8::/32
5,domain,phishing,,evil.example.com,
6,url,malware,,,"http://evil.example/a,b"
7,email,spam,,,bad@example.org
8,md5,,,,d41d8cd98f00b204e9800998ecf8427e
9,sha1,,,,da39a3ee5e6b4b0d3255bfef95601890afd80709
10,sha256,,,,e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
11,ip,c2,[::ffff:203.0.113.9],,
12,cidr,,10.0.0.0/8,,
13,cidr,,10.1.0.0/16,,
14,ip,,10.1.2.3,,
"""

CRAFTED_PLAIN = b"""# comment
192.0.2.1
198.51.100.0/24 # trailing note
203.0.113.7\t5
2001:db8::/32
[2001:db8::2]
0.0.0.0/0
::/0
10.0.0.0/8
10.1.0.0/16
10.1.2.0/24
10.1.2.3
"""

FEEDS = [
    "ioc/ipsum/level8.txt",
    "ioc/maltrail/mass_scanner_cidr.txt",
    "ioc/maltrail/lokibot.txt",
    "ioc/abuse-ch-format-samples/sslblacklist_sample.csv",
    "ioc/abuse-ch-format-samples/threatfox_csv_full.sample.csv",
    "ioc/zeek-intel/lockbit_ip.intel",
]


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_FEED_SEED = 4 << 10    # line formats: cut at a line boundary below this
MAX_JSON_SEED = 8 << 10    # JSON formats: whole documents only, up to this

# target -> (is_json, [paths]); "repo:" paths are under the repository,
# the others under TESTDATA_DIR.
FORMAT_SEEDS = {
    "feed_csv": (False, []),
    "feed_plain": (False, ["ioc/ipsum/level8.txt", "ioc/maltrail/mass_scanner_cidr.txt",
                           "ioc/maltrail/lokibot.txt", "ioc/maltrail/tscookie.txt",
                           "ioc/abuse-ch-format-samples/feeds2stix_ipsum_level_8_sample.txt"]),
    "feed_zeek": (False, ["ioc/zeek-intel/lockbit_ip.intel", "ioc/zeek-intel/drb_ra_domain.intel",
                          "ioc/zeek-intel/predict_intel.intel", "ioc/zeek-intel/tweetfeed.intel",
                          "ioc/zeek-intel/openphish.intel", "ioc/zeek-intel/alienvault.intel"]),
    "feed_misp_csv": (False, ["repo:tests/data/feeds/misp_export.csv"]),
    "feed_misp_json": (True, ["repo:tests/data/feeds/misp_event.json"]),
    "feed_stix": (True, ["ioc/stix21/indicator-for-c2-ip-address.json",
                         "ioc/stix21/indicator-to-campaign-relationship.json",
                         "ioc/stix21/indicators-for-C2-with-COA.json",
                         "ioc/stix21/malicious-email-indicator-with-attachment.json"]),
    "feed_urlhaus": (False, ["ioc/abuse-ch-format-samples/urlhaus_csv_recent.sample.csv"]),
    "feed_threatfox": (False, ["ioc/abuse-ch-format-samples/threatfox_csv_full.sample.csv"]),
    "feed_feodo": (False, ["repo:tests/data/feeds/feodo_ipblocklist.csv"]),
    "feed_sslbl": (False, ["ioc/abuse-ch-format-samples/sslblacklist_sample.csv"]),
    "feed_spamhaus_drop": (False, ["repo:tests/data/feeds/spamhaus_drop.txt"]),
    "feed_spamhaus_json": (False, ["repo:tests/data/feeds/spamhaus_drop.jsonl"]),
    "feed_warninglist": (True, ["ioc/misp-warninglists/" + n for n in (
        "rfc1918.json", "ipv6-linklocal.json", "multicast.json", "rfc5735.json", "rfc6598.json",
        "rfc6761.json", "cloudflare.json", "url-shortener.json", "whats-my-ip.json", "public-dns-v6.json")]),
}

CRAFTED_STIX = b"""{"type":"bundle","id":"bundle--1","objects":[
{"type":"indicator","spec_version":"2.1","id":"indicator--1","pattern_type":"stix",
 "pattern":"[ipv4-addr:value = '198.51.100.1'] OR [ipv6-addr:value = '2001:db8::/32']"},
{"type":"indicator","spec_version":"2.1","id":"indicator--2","pattern_type":"stix",
 "pattern":"[domain-name:value = 'evil.example'] AND [url:value = 'http://evil.example/x']"},
{"type":"indicator","spec_version":"2.1","id":"indicator--3","pattern_type":"stix",
 "pattern":"[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'] OR [email-addr:value = 'bad@example.org']"}
]}
"""

CRAFTED = {"feed_csv": [CRAFTED_CSV], "feed_plain": [CRAFTED_PLAIN], "feed_stix": [CRAFTED_STIX]}


def feed_seed(path, is_json):
    with open(path, "rb") as f:
        buf = f.read()
    if is_json:
        return buf if len(buf) <= MAX_JSON_SEED else None
    out = b""
    for line in buf.splitlines(keepends=True):
        if len(out) + len(line) > MAX_FEED_SEED:
            break
        out += line
    return out or None


def format_seeds(testdata, corpus, n):
    for target, (is_json, paths) in FORMAT_SEEDS.items():
        n[target] = 0
        for rel in paths:
            if rel.startswith("repo:"):
                path = os.path.join(REPO, rel[5:])
            else:
                path = os.path.join(testdata, rel)
            if os.path.exists(path):
                seed = feed_seed(path, is_json)
                if seed:
                    n[target] += put(os.path.join(corpus, target), seed)
        for seed in CRAFTED.get(target, []):
            n[target] += put(os.path.join(corpus, target), seed)


def main():
    testdata, corpus = sys.argv[1], sys.argv[2]
    n = {"capture_reader": 0, "decode_frame": 0, "intel_feed": 0}
    if os.path.isdir(testdata):
        for path in captures(testdata):
            with open(path, "rb") as f:
                buf = f.read()
            if len(buf) <= MAX_CAPTURE_SEED:
                n["capture_reader"] += put(os.path.join(corpus, "capture_reader"), buf)
            try:
                for i, (lt, frame) in enumerate(frames(buf)):
                    if i >= MAX_FRAMES_PER_FILE:
                        break
                    if lt in SELECTOR:
                        n["decode_frame"] += put(os.path.join(corpus, "decode_frame"), bytes([SELECTOR[lt]]) + frame)
                for i, (lt, frame) in enumerate(frames(buf)):
                    if i >= 200:
                        break
                    for target, payload in app_seeds(lt, frame):
                        n[target] = n.get(target, 0) + put(os.path.join(corpus, target), payload)
            except struct.error:
                pass
        for rel in FEEDS:
            path = os.path.join(testdata, rel)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    head = b"".join(f.readlines()[:40])
                n["intel_feed"] += put(os.path.join(corpus, "intel_feed"), head)
    else:
        print(f"make_seeds: {testdata} not found; crafted seeds only", file=sys.stderr)
    for seed in (CRAFTED_CSV, CRAFTED_PLAIN):
        n["intel_feed"] += put(os.path.join(corpus, "intel_feed"), seed)
    format_seeds(testdata, corpus, n)
    if os.path.isdir(testdata):
        flow_seeds(testdata, corpus, n)
    print("make_seeds: new seeds " + ", ".join(f"{k}={v}" for k, v in n.items()), file=sys.stderr)


if __name__ == "__main__":
    main()
