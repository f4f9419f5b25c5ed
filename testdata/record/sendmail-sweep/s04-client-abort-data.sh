#!/bin/bash
# s04-client-abort-data: a client that gives up in the middle of DATA. Stream 0: half a body, then
# FIN (Sendmail: "collect: premature EOM: unexpected close", 421 4.4.1); stream 1: half a body,
# then RST; stream 2: FIN right after the 354. Makes pcaps/s04-client-abort-data.pcap (+ .log,
# .client.txt) in $SWEEP. Run setup.sh once first (see lib.sh).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
N=s04-client-abort-data; NS=${NSP}4; A=127.0.1.1; R=$REC/rawclient.py
prep_root
{ mc_head; echo "DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl"; mc_tail; } | mkcf plain
mkaliases plain
ns_up "$NS" $A
: > "$PC/$N.log"; syslog_start "$PC/$N.log"
sm_start "$NS" plain $A 25 || exit 1
cap_start "$NS" "tcp and host $A" "$PC/$N.pcap"
E='["read",5],["send","EHLO peer.example.test\r\n"],["read",5],["send","MAIL FROM:<alice@peer.example.test>\r\n"],["read",5],["send","RCPT TO:<root@mx.example.test>\r\n"],["read",5],["send","DATA\r\n"],["read",5]'
H='["send","Subject: half\r\nFrom: alice@peer.example.test\r\n\r\nfirst line of body\r\nsecond line of bo"]'
ip netns exec "$NS" timeout 30 python3 "$R" $A 25 "[$E,$H,[\"sleep\",1],[\"shutwr\"],[\"readall\",5]]" > "$PC/$N.client.txt" 2>&1
ip netns exec "$NS" timeout 30 python3 "$R" $A 25 "[$E,$H,[\"sleep\",1],[\"rst\"]]" >> "$PC/$N.client.txt" 2>&1
ip netns exec "$NS" timeout 30 python3 "$R" $A 25 "[$E,[\"close\"]]" >> "$PC/$N.client.txt" 2>&1
sleep 1
cap_stop; sm_stop; syslog_stop; ns_down "$NS"
views $N
