//! Table test of the indicator token extractor over log lines written from
//! the formats' documentation: the exact set of tokens (kind and text) per
//! line, in order, so an extra or a missing token fails.

use TokenKind::{Domain as D, Email as E, Ipv4 as V4, Ipv6 as V6, Md5, Sha1, Sha256, Url as U};
use syslog::tokens::{Token, TokenKind, TokenOptions, refang, tokens};

type Case = (&'static str, &'static [(TokenKind, &'static str)]);

const CASES: &[Case] = &[
    // --- firewall: iptables / ufw kernel lines ---
    (
        "Jan 12 06:25:43 gw kernel: [12345.678901] IN=eth0 OUT= MAC=00:16:3e:5e:6c:00:52:54:00:12:34:56:08:00 SRC=203.0.113.45 DST=192.168.1.10 LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID=43690 DF PROTO=TCP SPT=51234 DPT=22 WINDOW=29200 RES=0x00 SYN URGP=0",
        &[(V4, "203.0.113.45"), (V4, "192.168.1.10")],
    ),
    (
        "Jan 12 06:25:44 gw kernel: [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:00:16:3e:5e:6c:00:08:00 SRC=198.51.100.7 DST=10.0.0.5 LEN=40 TOS=0x00 PREC=0x00 TTL=244 ID=54321 PROTO=TCP SPT=40000 DPT=3389 WINDOW=1024 RES=0x00 SYN URGP=0",
        &[(V4, "198.51.100.7"), (V4, "10.0.0.5")],
    ),
    (
        "Jan 12 06:25:45 gw kernel: [UFW ALLOW] IN=eth0 OUT= MAC=33:33:00:00:00:01:52:54:00:12:34:56:86:dd SRC=fe80:0000:0000:0000:5054:00ff:fe12:3456 DST=ff02:0000:0000:0000:0000:0000:0000:0001 LEN=72 TC=0 HOPLIMIT=1 FLOWLBL=0 PROTO=ICMPv6 TYPE=134 CODE=0",
        &[(V6, "fe80:0000:0000:0000:5054:00ff:fe12:3456"), (V6, "ff02:0000:0000:0000:0000:0000:0000:0001")],
    ),
    (
        "2024-03-01T10:11:12.123456+00:00 host kernel: IPTables-Dropped: IN=ens3 OUT= SRC=2001:db8:85a3::8a2e:370:7334 DST=2001:db8::1 LEN=80 PROTO=UDP SPT=5353 DPT=53 LEN=40",
        &[(V6, "2001:db8:85a3::8a2e:370:7334"), (V6, "2001:db8::1")],
    ),
    ("Jan 12 06:25:46 gw kernel: nf_conntrack: table full, dropping packet", &[]),
    // --- Cisco ASA ---
    (
        "Mar 01 2024 10:11:12 asa01 : %ASA-6-302013: Built outbound TCP connection 123456789 for outside:93.184.216.34/443 (93.184.216.34/443) to inside:192.168.10.25/51234 (203.0.113.5/51234)",
        &[(V4, "93.184.216.34"), (V4, "93.184.216.34"), (V4, "192.168.10.25"), (V4, "203.0.113.5")],
    ),
    (
        "%ASA-6-302014: Teardown TCP connection 123456789 for outside:93.184.216.34/443 to inside:192.168.10.25/51234 duration 0:01:05 bytes 6325 TCP FINs",
        &[(V4, "93.184.216.34"), (V4, "192.168.10.25")],
    ),
    (
        "%ASA-4-106023: Deny tcp src outside:198.51.100.23/4455 dst inside:10.1.1.20/445 by access-group \"OUTSIDE_IN\" [0x0, 0x0]",
        &[(V4, "198.51.100.23"), (V4, "10.1.1.20")],
    ),
    (
        "%ASA-6-302015: Built inbound UDP connection 4711 for outside:2001:db8:1::53/53 (2001:db8:1::53/53) to inside:2001:db8:2::10/60123 (2001:db8:2::10/60123)",
        &[(V6, "2001:db8:1::53"), (V6, "2001:db8:1::53"), (V6, "2001:db8:2::10"), (V6, "2001:db8:2::10")],
    ),
    (
        "%ASA-5-304001: 10.1.1.20 Accessed URL 93.184.216.34:http://www.example.com/index.html",
        &[(V4, "10.1.1.20"), (V4, "93.184.216.34"), (U, "http://www.example.com/index.html"), (D, "www.example.com")],
    ),
    ("%ASA-6-113004: AAA user authentication Successful : server = 10.0.0.30 : user = jdoe", &[(V4, "10.0.0.30")]),
    (
        "%ASA-2-106001: Inbound TCP connection denied from 192.0.2.99/31337 to 10.1.1.5/80 flags SYN on interface outside",
        &[(V4, "192.0.2.99"), (V4, "10.1.1.5")],
    ),
    // --- pfSense filterlog CSV ---
    (
        "Mar  1 10:11:12 pfSense filterlog[12345]: 5,,,1000000103,igb0,match,block,in,4,0x0,,64,12345,0,DF,6,tcp,60,198.51.100.77,192.168.1.1,51515,22,0,S,1234567890,,64240,,mss;sackOK;TS;nop;wscale",
        &[(V4, "198.51.100.77"), (V4, "192.168.1.1")],
    ),
    (
        "Mar  1 10:11:13 pfSense filterlog[12345]: 4,,,1000000002,em1,match,pass,out,6,0x00,0x00000,64,udp,17,48,2001:db8:100::2,2606:4700:4700::1111,42000,53,48",
        &[(V6, "2001:db8:100::2"), (V6, "2606:4700:4700::1111")],
    ),
    (
        "Mar  1 10:11:14 pfSense filterlog[12345]: 9,,,1000000104,em0,match,block,in,4,0x0,,242,0,0,none,17,udp,32,203.0.113.200,192.0.2.1,123,123,12",
        &[(V4, "203.0.113.200"), (V4, "192.0.2.1")],
    ),
    // --- Fortigate key=value ---
    (
        "date=2024-03-01 time=10:11:12 devname=\"FGT60F\" devid=\"FGT60FTK20001234\" logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" vd=\"root\" eventtime=1709287872123456789 srcip=10.10.10.23 srcport=55123 srcintf=\"internal\" dstip=104.16.132.229 dstport=443 dstintf=\"wan1\" proto=6 action=\"accept\" policyid=1 service=\"HTTPS\" duration=35 sentbyte=2431 rcvdbyte=9632",
        &[(V4, "10.10.10.23"), (V4, "104.16.132.229")],
    ),
    (
        "date=2024-03-01 time=10:12:00 devname=\"FGT60F\" logid=\"0317013312\" type=\"utm\" subtype=\"webfilter\" eventtype=\"ftgd_blk\" srcip=10.10.10.23 dstip=185.199.108.153 hostname=\"malware.example.net\" url=\"http://malware.example.net/payload.bin\" action=\"blocked\" catdesc=\"Malicious Websites\"",
        &[
            (V4, "10.10.10.23"),
            (V4, "185.199.108.153"),
            (D, "malware.example.net"),
            (U, "http://malware.example.net/payload.bin"),
            (D, "malware.example.net"),
        ],
    ),
    (
        "date=2024-03-01 time=10:13:00 logid=\"0211008192\" type=\"utm\" subtype=\"virus\" eventtype=\"infected\" srcip=10.10.10.40 dstip=192.0.2.80 filename=\"invoice.pdf.exe\" virus=\"W32/Agent.XYZ!tr\" analyticssubmit=\"false\" crscore=50",
        // `xyz` is a TLD and `W32` an upper-case word: a known false positive.
        &[(V4, "10.10.10.40"), (V4, "192.0.2.80"), (D, "Agent.XYZ")],
    ),
    (
        "date=2024-03-01 time=10:14:00 type=\"event\" subtype=\"vpn\" logdesc=\"SSL VPN tunnel up\" remip=198.51.100.14 user=\"alice@corp.example.org\" tunnelip=10.212.134.200",
        &[(V4, "198.51.100.14"), (E, "alice@corp.example.org"), (D, "corp.example.org"), (V4, "10.212.134.200")],
    ),
    // --- Palo Alto CSV ---
    (
        "1,2024/03/01 10:11:12,012801012345,TRAFFIC,end,2560,2024/03/01 10:11:12,10.20.30.40,142.250.72.110,198.51.100.2,142.250.72.110,allow-web,corp\\jdoe,,ssl,vsys1,trust,untrust,ethernet1/2,ethernet1/1,Forward,2024/03/01 10:11:12,98765,1,53211,443,41234,443,0x400000,tcp,allow,5234,1234,4000,20,2024/03/01 10:10:40,30,any,0,1234567,0x0,10.0.0.0-10.255.255.255,United States,0,12,8,tcp-fin",
        &[(V4, "10.20.30.40"), (V4, "142.250.72.110"), (V4, "198.51.100.2"), (V4, "142.250.72.110")],
    ),
    (
        "1,2024/03/01 10:15:00,012801012345,THREAT,url,2560,2024/03/01 10:15:00,10.20.30.41,203.0.113.66,0.0.0.0,0.0.0.0,allow-web,,,web-browsing,vsys1,trust,untrust,ethernet1/2,ethernet1/1,Forward,2024/03/01 10:15:00,12345,1,50123,80,0,0,0x0,tcp,block-url,\"bad.example.ru/dropper/stage2.php\",(9999),malware,informational,client-to-server",
        &[(V4, "10.20.30.41"), (V4, "203.0.113.66"), (V4, "0.0.0.0"), (V4, "0.0.0.0"), (D, "bad.example.ru")],
    ),
    // --- squid access.log ---
    (
        "1709287872.123    245 192.168.1.50 TCP_MISS/200 15432 GET http://www.example.com/index.html - HIER_DIRECT/93.184.216.34 text/html",
        &[
            (V4, "192.168.1.50"),
            (U, "http://www.example.com/index.html"),
            (D, "www.example.com"),
            (V4, "93.184.216.34"),
        ],
    ),
    (
        "1709287873.456   1021 192.168.1.51 TCP_TUNNEL/200 5321 CONNECT login.microsoftonline.com:443 jdoe HIER_DIRECT/20.190.151.7 -",
        &[(V4, "192.168.1.51"), (D, "login.microsoftonline.com"), (V4, "20.190.151.7")],
    ),
    (
        "1709287874.789      0 192.168.1.52 TCP_DENIED/403 3890 GET http://198.51.100.9:8080/bins/mirai.arm7 - HIER_NONE/- text/html",
        &[(V4, "192.168.1.52"), (U, "http://198.51.100.9:8080/bins/mirai.arm7"), (V4, "198.51.100.9")],
    ),
    (
        "1709287875.000     12 192.168.1.53 TCP_MEM_HIT/200 1200 GET http://cdn.example.org/lib/jquery-3.7.1.min.js - HIER_NONE/- application/javascript",
        &[(V4, "192.168.1.53"), (U, "http://cdn.example.org/lib/jquery-3.7.1.min.js"), (D, "cdn.example.org")],
    ),
    (
        "1709287876.111     80 ::1 TCP_MISS/200 512 GET http://[2001:db8::80]:8080/status - HIER_DIRECT/2001:db8::80 text/plain",
        &[(V6, "::1"), (U, "http://[2001:db8::80]:8080/status"), (V6, "2001:db8::80"), (V6, "2001:db8::80")],
    ),
    // --- nginx / apache combined log ---
    (
        "203.0.113.9 - - [01/Mar/2024:10:11:12 +0000] \"GET /index.html HTTP/1.1\" 200 612 \"https://www.google.com/\" \"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36\"",
        &[(V4, "203.0.113.9"), (U, "https://www.google.com/"), (D, "www.google.com")],
    ),
    (
        "198.51.100.30 - - [01/Mar/2024:10:11:13 +0000] \"GET /wp-login.php HTTP/1.1\" 404 153 \"-\" \"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0\"",
        &[(V4, "198.51.100.30")],
    ),
    (
        "198.51.100.31 - - [01/Mar/2024:10:11:13 +0000] \"GET /robots.txt HTTP/1.1\" 200 67 \"-\" \"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0\"",
        &[(V4, "198.51.100.31")],
    ),
    (
        "2001:db8::dead:beef - alice [01/Mar/2024:10:11:14 +0000] \"POST /api/v1.2/upload HTTP/2.0\" 201 18 \"https://app.example.io/dashboard?tab=files#top\" \"curl/8.5.0\"",
        &[(V6, "2001:db8::dead:beef"), (U, "https://app.example.io/dashboard?tab=files#top"), (D, "app.example.io")],
    ),
    (
        "192.0.2.44 - - [01/Mar/2024:10:11:15 +0000] \"GET /download/setup.zip HTTP/1.1\" 200 1048576 \"-\" \"Wget/1.21.4\"",
        &[(V4, "192.0.2.44")],
    ),
    (
        "10.0.0.8 - - [01/Mar/2024:10:11:16 +0000] \"GET /?q=http://evil.example.com/shell.txt HTTP/1.1\" 400 0 \"-\" \"python-requests/2.31.0\"",
        &[(V4, "10.0.0.8"), (U, "http://evil.example.com/shell.txt"), (D, "evil.example.com")],
    ),
    (
        "2024/03/01 10:11:17 [error] 1234#1234: *5678 open() \"/usr/share/nginx/html/favicon.ico\" failed (2: No such file or directory), client: 198.51.100.61, server: www.example.com, request: \"GET /favicon.ico HTTP/1.1\", host: \"www.example.com\"",
        &[(V4, "198.51.100.61"), (D, "www.example.com"), (D, "www.example.com")],
    ),
    (
        "[Fri Mar 01 10:11:18.123456 2024] [core:error] [pid 4321:tid 140000] [client 203.0.113.77:50123] AH00126: Invalid URI in request GET /../../etc/passwd HTTP/1.1",
        &[(V4, "203.0.113.77")],
    ),
    ("Server: nginx/1.25.3 Apache/2.4.58 (Ubuntu) OpenSSL/3.0.2 PHP/8.3.1 Python/3.11.7 openresty/1.21.4.3", &[]),
    (
        "192.0.2.10 - - [01/Mar/2024:10:11:19 +0000] \"GET https://shop.example.co.uk/cart?id=42 HTTP/1.1\" 302 0 \"-\" \"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1\"",
        &[(V4, "192.0.2.10"), (U, "https://shop.example.co.uk/cart?id=42"), (D, "shop.example.co.uk")],
    ),
    // --- bind query log ---
    (
        "01-Mar-2024 10:11:12.345 queries: info: client @0x7f1234567890 192.168.1.20#53211 (www.example.com): query: www.example.com IN A +E(0)K (192.168.1.1)",
        &[(V4, "192.168.1.20"), (D, "www.example.com"), (D, "www.example.com"), (V4, "192.168.1.1")],
    ),
    (
        "01-Mar-2024 10:11:13.000 client @0x7f00deadbeef 2001:db8::25#40001 (_ldap._tcp.dc._msdcs.corp.example.com): query: _ldap._tcp.dc._msdcs.corp.example.com IN SRV +E(0) (2001:db8::53)",
        &[
            (V6, "2001:db8::25"),
            (D, "_ldap._tcp.dc._msdcs.corp.example.com"),
            (D, "_ldap._tcp.dc._msdcs.corp.example.com"),
            (V6, "2001:db8::53"),
        ],
    ),
    (
        "01-Mar-2024 10:11:14.000 queries: info: client @0x7f1234567890 10.0.0.7#5353 (XN--80AK6AA92E.COM): query: XN--80AK6AA92E.COM IN AAAA + (10.0.0.1)",
        &[(V4, "10.0.0.7"), (D, "XN--80AK6AA92E.COM"), (D, "XN--80AK6AA92E.COM"), (V4, "10.0.0.1")],
    ),
    (
        "01-Mar-2024 10:11:15.000 security: info: client @0x7f1234567890 203.0.113.3#1234 (version.bind): query (cache) 'version.bind/TXT/CH' denied",
        &[(V4, "203.0.113.3")],
    ),
    (
        "01-Mar-2024 10:11:16.000 resolver: info: resolver priming query complete: success; lame server resolving '4.3.2.1.in-addr.arpa' (in 'in-addr.arpa'?): 192.0.2.53#53",
        &[(D, "4.3.2.1.in-addr.arpa"), (D, "in-addr.arpa"), (V4, "192.0.2.53")],
    ),
    // --- dnsmasq ---
    (
        "Mar  1 10:11:12 router dnsmasq[812]: query[A] telemetry.example.net from 192.168.1.30",
        &[(D, "telemetry.example.net"), (V4, "192.168.1.30")],
    ),
    (
        "Mar  1 10:11:12 router dnsmasq[812]: forwarded telemetry.example.net to 1.1.1.1",
        &[(D, "telemetry.example.net"), (V4, "1.1.1.1")],
    ),
    (
        "Mar  1 10:11:12 router dnsmasq[812]: reply telemetry.example.net is 203.0.113.101",
        &[(D, "telemetry.example.net"), (V4, "203.0.113.101")],
    ),
    (
        "Mar  1 10:11:13 router dnsmasq[812]: reply ipv6.example.net is 2606:2800:220:1:248:1893:25c8:1946",
        &[(D, "ipv6.example.net"), (V6, "2606:2800:220:1:248:1893:25c8:1946")],
    ),
    (
        "Mar  1 10:11:14 router dnsmasq[812]: config ads.tracker.example.com is NXDOMAIN",
        &[(D, "ads.tracker.example.com")],
    ),
    ("Mar  1 10:11:15 router dnsmasq[812]: cached printer.local is 192.168.1.40", &[(V4, "192.168.1.40")]),
    (
        "Mar  1 10:11:16 router dnsmasq-dhcp[812]: DHCPACK(br0) 192.168.1.77 a4:83:e7:12:34:56 android-5f3c2b1a",
        &[(V4, "192.168.1.77")],
    ),
    // --- unbound ---
    (
        "Mar  1 10:11:17 ns unbound: [1234:0] info: 192.168.1.20 github.com. A IN NOERROR 0.012345 0 52",
        &[(V4, "192.168.1.20"), (D, "github.com")],
    ),
    ("Mar  1 10:11:18 ns unbound: [1234:0] info: resolving ns1.example.org. AAAA IN", &[(D, "ns1.example.org")]),
    (
        "Mar  1 10:11:19 ns unbound: [1234:1] info: ::ffff:192.0.2.33 bad-actor.example.xyz. TXT IN NXDOMAIN 0.100000 0 80",
        &[(V6, "::ffff:192.0.2.33"), (D, "bad-actor.example.xyz")],
    ),
    (
        "Mar  1 10:11:20 ns unbound: [1234:0] error: SERVFAIL <broken.example.com. A IN>: all servers for this domain failed, at zone example.com.",
        &[(D, "broken.example.com"), (D, "example.com")],
    ),
    // --- postfix ---
    (
        "Mar  1 10:11:12 mx postfix/smtpd[2345]: connect from mail-ej1-f45.google.com[209.85.218.45]",
        &[(D, "mail-ej1-f45.google.com"), (V4, "209.85.218.45")],
    ),
    (
        "Mar  1 10:11:13 mx postfix/smtpd[2345]: 4Tm5Xq0Y2Kz9sQ: client=mail-ej1-f45.google.com[209.85.218.45]",
        &[(D, "mail-ej1-f45.google.com"), (V4, "209.85.218.45")],
    ),
    (
        "Mar  1 10:11:13 mx postfix/cleanup[2346]: 4Tm5Xq0Y2Kz9sQ: message-id=<CAF+abc123XyZ@mail.gmail.com>",
        &[(E, "CAF+abc123XyZ@mail.gmail.com"), (D, "mail.gmail.com")],
    ),
    (
        "Mar  1 10:11:13 mx postfix/qmgr[1200]: 4Tm5Xq0Y2Kz9sQ: from=<sender.name@gmail.com>, size=4821, nrcpt=1 (queue active)",
        &[(E, "sender.name@gmail.com"), (D, "gmail.com")],
    ),
    (
        "Mar  1 10:11:14 mx postfix/smtp[2347]: 4Tm5Xq0Y2Kz9sQ: to=<bob@example.org>, relay=mx1.example.org[192.0.2.25]:25, delay=1.2, delays=0.1/0.01/0.5/0.59, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 7C1A2B3C4D)",
        &[(E, "bob@example.org"), (D, "example.org"), (D, "mx1.example.org"), (V4, "192.0.2.25")],
    ),
    (
        "Mar  1 10:11:15 mx postfix/smtpd[2348]: NOQUEUE: reject: RCPT from unknown[198.51.100.200]: 554 5.7.1 Service unavailable; Client host [198.51.100.200] blocked using zen.spamhaus.org; from=<spam@phish.example.top> to=<victim@example.com> proto=ESMTP helo=<WIN-ABC123>",
        &[
            (V4, "198.51.100.200"),
            (V4, "198.51.100.200"),
            (D, "zen.spamhaus.org"),
            (E, "spam@phish.example.top"),
            (D, "phish.example.top"),
            (E, "victim@example.com"),
            (D, "example.com"),
        ],
    ),
    (
        "Mar  1 10:11:16 mx postfix/smtpd[2349]: warning: hostname 45-67-89-10.static.example.net does not resolve to address 45.67.89.10: Name or service not known",
        &[(D, "45-67-89-10.static.example.net"), (V4, "45.67.89.10")],
    ),
    ("Mar  1 10:11:17 mx postfix/smtpd[2350]: connect from unknown[2001:db8:beef::25]", &[(V6, "2001:db8:beef::25")]),
    ("Mar  1 10:11:18 mx postfix/qmgr[1200]: 4Tm5Xq0Y2Kz9sQ: from=<>, size=2100, nrcpt=1 (queue active)", &[]),
    (
        "Mar  1 10:11:19 mx postfix/smtpd[2351]: disconnect from mail.example.com[192.0.2.26] ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7",
        &[(D, "mail.example.com"), (V4, "192.0.2.26")],
    ),
    // --- sendmail ---
    (
        "Mar  1 10:11:20 mail sendmail[3456]: 421AB1Cd012345: from=<alerts@monitor.example.com>, size=1523, class=0, nrcpts=1, msgid=<202403011011.421AB1Cd012345@monitor.example.com>, proto=ESMTP, daemon=MTA, relay=monitor.example.com [192.0.2.71]",
        &[
            (E, "alerts@monitor.example.com"),
            (D, "monitor.example.com"),
            (E, "202403011011.421AB1Cd012345@monitor.example.com"),
            (D, "monitor.example.com"),
            (D, "monitor.example.com"),
            (V4, "192.0.2.71"),
        ],
    ),
    (
        "Mar  1 10:11:21 mail sendmail[3457]: 421AB1Cd012345: to=ops@example.com, delay=00:00:01, xdelay=00:00:01, mailer=esmtp, pri=121523, relay=aspmx.l.google.com. [142.250.102.27], dsn=2.0.0, stat=Sent (OK 1709287881 x1-20020a170906)",
        &[(E, "ops@example.com"), (D, "example.com"), (D, "aspmx.l.google.com"), (V4, "142.250.102.27")],
    ),
    // --- dovecot ---
    (
        "Mar  1 10:11:22 mail dovecot: imap-login: Login: user=<carol@example.com>, method=PLAIN, rip=198.51.100.88, lip=192.0.2.10, mpid=4567, TLS, session=<AbCdEfGh12+x>",
        &[(E, "carol@example.com"), (D, "example.com"), (V4, "198.51.100.88"), (V4, "192.0.2.10")],
    ),
    (
        "Mar  1 10:11:23 mail dovecot: auth: pam(dave,2001:db8::99,<Xyz123AbC>): pam_authenticate() failed: Authentication failure (password mismatch?)",
        &[(V6, "2001:db8::99")],
    ),
    (
        "Mar  1 10:11:24 mail dovecot: lmtp(erin@example.com)<12345><Ab12Cd34>: msgid=<20240301.deadbeef@sender.example.net>: saved mail to INBOX",
        &[
            (E, "erin@example.com"),
            (D, "example.com"),
            (E, "20240301.deadbeef@sender.example.net"),
            (D, "sender.example.net"),
        ],
    ),
    // --- ClamAV ---
    ("Mar  1 10:11:25 av clamd[999]: /var/spool/mail/quarantine/msg.eml: Win.Trojan.Emotet-9953718-0 FOUND", &[]),
    ("Fri Mar  1 10:11:26 2024 -> /home/jdoe/Downloads/invoice.pdf.exe: Win.Malware.Agent-6342185-0 FOUND", &[]),
    (
        "clamd[999]: /tmp/eicar.com: Eicar-Signature FOUND (md5:44d88612fea8a8f36de82e1278abb02f sha256:275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f)",
        &[
            (Md5, "44d88612fea8a8f36de82e1278abb02f"),
            (Sha256, "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"),
        ],
    ),
    ("44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature", &[(Md5, "44d88612fea8a8f36de82e1278abb02f")]),
    (
        "LibClamAV Warning: cli_scanxz: decompress file size exceeds limits - only scanning 27262976 bytes; database version 27201, sigs 8700000, engine 1.3.0",
        &[],
    ),
    // --- Windows Defender-ish / Windows event forwarding ---
    (
        "<14>1 2024-03-01T10:11:27.000Z WS01.corp.example.com Microsoft-Windows-Windows_Defender 4321 1116 - Threat Name: Trojan:Win32/Wacatac.B!ml Severity: Severe Path: file:_C:\\Users\\jdoe\\AppData\\Local\\Temp\\update.exe Detection User: CORP\\jdoe SHA1: 3395856ce81f2b7382dee72602f798b642f14140",
        &[(D, "WS01.corp.example.com"), (Sha1, "3395856ce81f2b7382dee72602f798b642f14140")],
    ),
    (
        "MSWinEventLog\t1\tSecurity\t12345\tFri Mar 01 10:11:28 2024\t4625\tMicrosoft-Windows-Security-Auditing\tN/A\tN/A\tFailure Audit\tDC01.corp.example.com\tLogon\t\tAn account failed to log on. Account Name: administrator Account Domain: CORP Source Network Address: 198.51.100.123 Source Port: 49852",
        &[(D, "DC01.corp.example.com"), (V4, "198.51.100.123")],
    ),
    (
        "<13>Mar  1 10:11:29 DC01 AgentDevice=WindowsLog AgentLogFile=Security Source=Microsoft-Windows-Security-Auditing Computer=DC01.corp.example.com EventID=4624 Message=An account was successfully logged on. Logon ID: 0x3E7 Workstation Name: WS02 Source Network Address: fe80::c0a8:1%12 Source Port: 0 Logon GUID: {6f2b8c1e-3d4a-4b5c-9e8f-0a1b2c3d4e5f}",
        &[(D, "DC01.corp.example.com"), (V6, "fe80::c0a8:1")],
    ),
    (
        "EventID=4688 NewProcessName=C:\\Windows\\System32\\cmd.exe CommandLine=\"powershell -enc SQBFAFgA\" ParentProcessName=C:\\Windows\\explorer.exe Hashes=MD5=5D41402ABC4B2A76B9719D911017C592,SHA256=2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824",
        &[
            (Md5, "5D41402ABC4B2A76B9719D911017C592"),
            (Sha256, "2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824"),
        ],
    ),
    (
        "Sysmon EventID=22 QueryName: update.badcdn.example.cc QueryResults: ::ffff:198.51.100.240; Image: C:\\Users\\bob\\AppData\\Roaming\\svc.exe",
        &[(D, "update.badcdn.example.cc"), (V6, "::ffff:198.51.100.240")],
    ),
    (
        "EventID=5156 The Windows Filtering Platform has permitted a connection. Application Name: \\device\\harddiskvolume3\\program files\\app\\app.exe Source Address: 10.1.2.3 Destination Address: \\\\10.9.8.7\\share",
        &[(V4, "10.1.2.3"), (V4, "10.9.8.7")],
    ),
    // --- sshd ---
    (
        "Mar  1 10:11:30 srv sshd[5678]: Accepted publickey for alice from 10.0.0.12 port 52144 ssh2: ED25519 SHA256:9Lk2q0h5TeJ3xq7pKp4tVgQ8mYV0mKj1kq2yZp8s3aE",
        &[(V4, "10.0.0.12")],
    ),
    (
        "Mar  1 10:11:31 srv sshd[5679]: Failed password for invalid user admin from 203.0.113.250 port 40022 ssh2",
        &[(V4, "203.0.113.250")],
    ),
    (
        "Mar  1 10:11:32 srv sshd[5680]: Connection closed by authenticating user root 2001:db8:ffff::1 port 55555 [preauth]",
        &[(V6, "2001:db8:ffff::1")],
    ),
    ("Mar  1 10:11:33 srv sshd[5681]: Server listening on :: port 22.", &[]),
    (
        "Mar  1 10:11:34 srv sshd[5682]: Received disconnect from 198.51.100.5 port 60000:11: Bye Bye [preauth]",
        &[(V4, "198.51.100.5")],
    ),
    (
        "Mar  1 10:11:35 srv sshd[5683]: banner exchange: Connection from 192.0.2.200 port 41000: invalid format; remote software version OpenSSH_8.9p1 Ubuntu-3ubuntu0.6",
        &[(V4, "192.0.2.200")],
    ),
    (
        "Mar  1 10:11:36 srv sshd[5684]: Accepted key RSA SHA256:AbCdEf found at /home/bob/.ssh/authorized_keys:3; fingerprint MD5:12:f8:7e:78:61:b4:bf:e2:de:24:15:96:4e:d4:72:53",
        &[],
    ),
    (
        "Mar  1 10:11:37 srv sshd[5685]: pam_unix(sshd:session): session opened for user deploy(uid=1001) by (uid=0) rhost=ci-runner-7.build.example.dev",
        &[(D, "ci-runner-7.build.example.dev")],
    ),
    // --- generic negatives: versions, times, dates, MACs, UUIDs, file names, class names ---
    (
        "kernel: Linux version 6.5.0-21-generic (buildd@lcy02-amd64-091) (x86_64-linux-gnu-gcc-12 (Ubuntu 12.3.0-1ubuntu1~23.04) 12.3.0)",
        &[],
    ),
    ("app[77]: upgraded from v1.2.3.4 to 1.2.3.4.5 (build 2024.03.01, schema 3.2.1)", &[]),
    ("systemd[1]: Started session 42 at 2024-03-01T12:34:56+01:00 after 0:00:01.250, uptime 12:34:56", &[]),
    (
        "NetworkManager[900]: <info> device (wlan0): MAC aa:bb:cc:dd:ee:ff, permanent AA-BB-CC-DD-EE-FF, BSSID 00:11:22:33:44:55",
        &[],
    ),
    ("dhcpd: DHCPREQUEST for 10.0.5.9 from 00:11:22:33:44:55:66:77 via eth1", &[(V4, "10.0.5.9")]),
    (
        "docker[1200]: container 3f4e5d6c7b8a9f0e1d2c3b4a59687766 request_id=550e8400-e29b-41d4-a716-446655440000 trace=4bf92f3577b34da6a3ce929d0e0e4736ff",
        // Any 32-hex word is MD5-shaped; the UUID and the 34-digit trace id are not.
        &[(Md5, "3f4e5d6c7b8a9f0e1d2c3b4a59687766")],
    ),
    ("backup: wrote report.pdf, file.txt, config.local, notes.docx and invoice.pdf.exe to share", &[]),
    (
        "java[3000]: Exception in thread main java.lang.NullPointerException at com.example.app.Main.run(Main.java:42)",
        &[],
    ),
    ("cron[400]: (root) CMD (/usr/bin/find /var/log/nginx -name access.log.1 -mtime +7 -delete)", &[]),
    (
        "git[1]: HEAD is now at 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c merge 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0 done",
        &[],
    ),
    (
        "git[1]: commit 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b pushed",
        &[(Sha1, "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b")],
    ),
    ("nm: IPv4 1.2.3 and 256.1.1.1 and 01.02.03.04 and 10.0.0.1 and 999.999.999.999", &[(V4, "10.0.0.1")]),
    (
        "winlog: Source Address: 10.0.0.9(port 80) peer ns1.example.com (ns1.example.com) call(x.example.com(1)) 2001:db8::7(x)",
        &[(V4, "10.0.0.9"), (D, "ns1.example.com"), (D, "ns1.example.com"), (V6, "2001:db8::7")],
    ),
    ("perl: Foo::Bar::baz() at lib/Foo/Bar.pm line 12, std::vector<int> a:b:c 1:2", &[]),
    ("ts=1709287872 dur=35ms rate=1.5k/s ratio=0.75 latency_p99=12.5ms", &[]),
    // --- RFC 5424 with structured data ---
    (
        "<165>1 2024-03-01T10:11:12.003Z mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][origin ip=\"192.0.2.1\" enterpriseId=\"32473\"] BOMAn application event log entry",
        &[(D, "mymachine.example.com"), (V4, "192.0.2.1")],
    ),
    (
        "<34>1 2024-03-01T22:14:15.003+02:00 2001:db8::42 su - ID47 - 'su root' failed for lonvick on /dev/pts/8",
        &[(V6, "2001:db8::42")],
    ),
    (
        "route: add 10.0.0.0/8 via 192.0.2.254 and 198.51.100.0/24, ids 0xd41d8cd98f00b204e9800998ecf8427e a1b2c3d4e5f60718 a1b2c3d4e5f60718a1b2c3d4e5f60718a1b2c3d4e5f60718 took 1h2m3s",
        &[(V4, "10.0.0.0"), (V4, "192.0.2.254"), (V4, "198.51.100.0")],
    ),
    // --- URLs: trimming and delimiters ---
    (
        "notice: see (https://docs.example.com/guide_(v2)/intro.html), or <ftp://files.example.org/pub/> and 'https://a.example.net/x?y=1&z=2'.",
        &[
            (U, "https://docs.example.com/guide_(v2)/intro.html"),
            (D, "docs.example.com"),
            (U, "ftp://files.example.org/pub/"),
            (D, "files.example.org"),
            (U, "https://a.example.net/x?y=1&z=2"),
            (D, "a.example.net"),
        ],
    ),
    (
        "proxy: fetch HTTPS://User:Secret@Login.Example.COM:8443/path. Done",
        &[(U, "HTTPS://User:Secret@Login.Example.COM:8443/path"), (D, "Login.Example.COM")],
    ),
    (
        "proxy: fetch http://localhost:8080/health and http://intranet/ ok",
        &[(U, "http://localhost:8080/health"), (U, "http://intranet/")],
    ),
    ("proxy: not urls: http:// xhttp://a.example.com mailto:x", &[(D, "a.example.com")]),
    // --- e-mail edge cases ---
    (
        "auth: login as root@10.0.0.4 and @8.8.8.8 and first.last+tag@sub.example.co.jp",
        &[(V4, "10.0.0.4"), (V4, "8.8.8.8"), (E, "first.last+tag@sub.example.co.jp"), (D, "sub.example.co.jp")],
    ),
    ("auth: user@localhost and a@b.exe are not e-mails", &[]),
    // --- hashes in context ---
    (
        "edr: file=sample.bin md5=d41d8cd98f00b204e9800998ecf8427e sha1=da39a3ee5e6b4b0d3255bfef95601890afd80709 sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        &[
            (Md5, "d41d8cd98f00b204e9800998ecf8427e"),
            (Sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            (Sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ],
    ),
    (
        "edr: xd41d8cd98f00b204e9800998ecf8427e d41d8cd98f00b204e9800998ecf8427e0 d41d8cd98f00b204e9800998ecf8427e.exe 0d41d8cd98f00b204e9800998ecf8427",
        &[(Md5, "0d41d8cd98f00b204e9800998ecf8427")],
    ),
];

/// Lines with defanged indicators, scanned with `refang: true`.
const DEFANGED: &[Case] = &[
    (
        "threatintel: C2 hxxp://evil[.]example[.]com/gate.php and 198.51.100[.]7 via bad(.)co(.)uk",
        &[
            (U, "hxxp://evil[.]example[.]com/gate.php"),
            (D, "evil[.]example[.]com"),
            (V4, "198.51.100[.]7"),
            (D, "bad(.)co(.)uk"),
        ],
    ),
    (
        "report: phish from admin[at]login-verify[.]top to hxxps[:]//login-verify{.}top:8443/x",
        &[
            (E, "admin[at]login-verify[.]top"),
            (D, "login-verify[.]top"),
            (U, "hxxps[:]//login-verify{.}top:8443/x"),
            (D, "login-verify{.}top"),
        ],
    ),
    (
        // A defanged URL inside another: the outer one is defanged too.
        "redirect: ftp://hxxp://evil[.]example.com/ and https://a.example.com/?u=hxxp://b.example.com/",
        &[
            (U, "ftp://hxxp://evil[.]example.com/"),
            (U, "https://a.example.com/?u=hxxp://b.example.com/"),
            (D, "a.example.com"),
        ],
    ),
    ("report: plain http://ok.example.com/ stays", &[(U, "http://ok.example.com/"), (D, "ok.example.com")]),
];

fn run(line: &str, refang: bool) -> Vec<Token<'_>> {
    let mut v = Vec::new();
    tokens(line.as_bytes(), TokenOptions { refang }, &mut |t| v.push(t));
    v
}

fn check(cases: &[Case], refang_on: bool) -> (usize, usize) {
    let mut failures = Vec::new();
    let mut count = 0;
    for (line, want) in cases {
        let got = run(line, refang_on);
        for t in &got {
            assert_eq!(&line.as_bytes()[t.offset..t.offset + t.text.len()], t.text);
        }
        let got_pairs: Vec<(TokenKind, &str)> =
            got.iter().map(|t| (t.kind, core::str::from_utf8(t.text).unwrap())).collect();
        if got_pairs != *want {
            failures.push(format!("line: {line}\n  want: {want:?}\n  got:  {got_pairs:?}"));
        }
        count += want.len();
    }
    assert!(failures.is_empty(), "{} of {} lines differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
    (cases.len(), count)
}

#[test]
fn table() {
    let (lines, toks) = check(CASES, false);
    assert!(lines >= 100, "{lines} lines");
    assert!(toks > 150);
    // The same lines with refang on give the same tokens (none is defanged).
    check(CASES, true);
}

#[test]
fn defanged_table() {
    check(DEFANGED, true);
    for (line, want) in DEFANGED {
        let got = run(line, true);
        let mut buf = Vec::new();
        for (t, (_, w)) in got.iter().zip(want.iter()) {
            assert_eq!(t.defanged, t.text != refang(t.text, &mut buf), "{w}");
        }
    }
    // Without refang the defanged forms are not tokens.
    assert_eq!(run("hxxp://evil[.]example[.]com/gate.php 198.51.100[.]7 admin[at]login-verify[.]top", false), vec![]);
}

#[test]
fn refang_forms() {
    let mut buf = Vec::new();
    assert_eq!(refang(b"hxxp://evil[.]example[.]com/gate.php", &mut buf), b"http://evil.example.com/gate.php");
    assert_eq!(refang(b"hXXps[:]//a(.)b{.}c[dot]com", &mut buf), b"https://a.b.c.com");
    assert_eq!(refang(b"x[at]y[.]com and z[@]y[.]com", &mut buf), b"x@y.com and z@y.com");
    assert_eq!(refang(b"198.51.100[.]7", &mut buf), b"198.51.100.7");
    assert_eq!(refang(b"plain.example.com", &mut buf), b"plain.example.com");
}

#[test]
fn offsets() {
    let line = "SRC=203.0.113.45 url=http://a.example.com/x";
    let got = run(line, false);
    let offs: Vec<usize> = got.iter().map(|t| t.offset).collect();
    assert_eq!(offs, vec![4, 21, 28]);
    assert!(got.iter().all(|t| !t.defanged));
}
