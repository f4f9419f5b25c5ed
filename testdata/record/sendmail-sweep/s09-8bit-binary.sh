#!/bin/bash
# s09-8bit-binary: 8-bit and binary bodies over DATA to Sendmail started with -O EightBitMode=strict.
# Stream 0: MAIL BODY=8BITMIME, a UTF-8 body; stream 1: the same body without BODY=; stream 2: MAIL
# BODY=BINARYMIME (not offered: 501 5.5.4); stream 3: "Content-Transfer-Encoding: binary" with
# every byte value (NULs, bare CRs and LFs) and a 1500-byte line, no BODY= (421 4.5.0 Bare
# linefeed). Makes pcaps/s09-8bit-binary.pcap (+ .log, .client.txt) in $SWEEP.
# Run setup.sh once first (see lib.sh).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
N=s09-8bit-binary; NS=${NSP}9; A=127.0.1.1; R=$REC/rawclient.py
prep_root
{ mc_head; echo "DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl"; mc_tail; } | mkcf plain
mkaliases plain
python3 - "$B/run" <<'P'
import sys
d=sys.argv[1]
h=b"From: alice@peer.example.test\r\nTo: root@mx.example.test\r\nMIME-Version: 1.0\r\n"
open(d+'/utf8.txt','wb').write(h+b"Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\r\n.\r\n")
binbody=bytes(range(256))*3
open(d+'/binary.txt','wb').write(h+b"Subject: binary\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"+binbody.replace(b'\r\n.',b'\r\n..')+b"\r\n"+b"L"*1500+b"\r\n.\r\n")
P
ns_up "$NS" $A
: > "$PC/$N.log"; syslog_start "$PC/$N.log"
sm_start "$NS" plain $A 25 -O EightBitMode=strict || exit 1
cap_start "$NS" "tcp and host $A" "$PC/$N.pcap"
E='["read",5],["send","EHLO peer.example.test\r\n"],["read",5]'
T='["send","RCPT TO:<root@mx.example.test>\r\n"],["read",5],["send","DATA\r\n"],["read",5]'
Q='["read",10],["send","QUIT\r\n"],["readall",3]'
{
ip netns exec "$NS" timeout 30 python3 "$R" $A 25 "[$E,[\"send\",\"MAIL FROM:<alice@peer.example.test> BODY=8BITMIME\r\n\"],[\"read\",5],$T,[\"sendfile\",\"$B/run/utf8.txt\"],$Q]" 2>&1
ip netns exec "$NS" timeout 30 python3 "$R" $A 25 "[$E,[\"send\",\"MAIL FROM:<alice@peer.example.test>\r\n\"],[\"read\",5],$T,[\"sendfile\",\"$B/run/utf8.txt\"],$Q]" 2>&1
ip netns exec "$NS" timeout 30 python3 "$R" $A 25 "[$E,[\"send\",\"MAIL FROM:<alice@peer.example.test> BODY=BINARYMIME\r\n\"],[\"read\",5],[\"send\",\"QUIT\r\n\"],[\"readall\",3]]" 2>&1
ip netns exec "$NS" timeout 30 python3 "$R" $A 25 "[$E,[\"send\",\"MAIL FROM:<alice@peer.example.test>\r\n\"],[\"read\",5],$T,[\"sendfile\",\"$B/run/binary.txt\"],$Q]" 2>&1
} > "$PC/$N.client.txt"
cap_stop; sm_stop; syslog_stop; ns_down "$NS"
views $N
