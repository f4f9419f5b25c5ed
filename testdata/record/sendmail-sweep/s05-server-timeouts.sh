#!/bin/bash
# s05-server-timeouts: Sendmail with Timeout.command=12s and Timeout.datablock=12s, four clients at
# once. Stream 0: "MAIL FROM:<alice@peer" without a line end, then silence; stream 1: a body
# ending "\n.\r\n" (421 4.5.0 Bare linefeed (LF) not allowed at once); stream 2: half a body line,
# then silence (421 4.4.1 read timeout after 12 s); stream 3: a body ending "\n.\n" (421 4.5.0).
# Which client became which stream depends on connect order. Makes pcaps/s05-server-timeouts.pcap
# (+ .log, .client.txt) in $SWEEP. Run setup.sh once first (see lib.sh).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
N=s05-server-timeouts; NS=${NSP}5; A=127.0.1.1; R=$REC/rawclient.py
prep_root
{ mc_head; echo "DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl"; mc_tail; } | mkcf plain
mkaliases plain
ns_up "$NS" $A
: > "$PC/$N.log"; syslog_start "$PC/$N.log"
sm_start "$NS" plain $A 25 -O Timeout.command=12s -O Timeout.datablock=12s || exit 1
cap_start "$NS" "tcp and host $A" "$PC/$N.pcap"
G='["read",5],["send","EHLO peer.example.test\r\n"],["read",5]'
E="$G"',["send","MAIL FROM:<alice@peer.example.test>\r\n"],["read",5],["send","RCPT TO:<root@mx.example.test>\r\n"],["read",5],["send","DATA\r\n"],["read",5]'
# each client is bounded by timeout 40, so the wait below is too
ip netns exec "$NS" timeout 40 python3 "$R" $A 25 "[$G,[\"send\",\"MAIL FROM:<alice@peer\"],[\"readall\",20]]" > "$PC/$N.client.txt" 2>&1 &
P0=$!
ip netns exec "$NS" timeout 40 python3 "$R" $A 25 "[$E,[\"send\",\"Subject: stall\r\n\r\nbody line one\r\nbody li\"],[\"readall\",20]]" > "$PC/$N.client1.txt" 2>&1 &
P1=$!
ip netns exec "$NS" timeout 40 python3 "$R" $A 25 "[$E,[\"send\",\"Subject: barelf\r\n\r\nbody line one\r\nlast line\n.\r\n\"],[\"readall\",20]]" > "$PC/$N.client2.txt" 2>&1 &
P2=$!
ip netns exec "$NS" timeout 40 python3 "$R" $A 25 "[$E,[\"send\",\"Subject: barelf2\r\n\r\nbody line one\r\nlast line\n.\n\"],[\"readall\",20]]" > "$PC/$N.client3.txt" 2>&1 &
P3=$!
wait $P0 $P1 $P2 $P3
cat "$PC/$N.client1.txt" "$PC/$N.client2.txt" "$PC/$N.client3.txt" >> "$PC/$N.client.txt"; rm -f "$PC/$N".client[123].txt
cap_stop; sm_stop; syslog_stop; ns_down "$NS"
views $N
