#!/bin/bash
# s02-greet-pause: Sendmail with FEATURE(greet_pause, 2000). Stream 0: a client that sends EHLO right
# after connecting (554 greeting, "pre-greeting traffic"), then waits 6 s and closes; stream 1:
# swaks, which waits for the greeting, delivers; stream 2: EHLO, MAIL, RCPT, DATA in one write 0.5 s
# after connecting (554, 554 5.5.0, 550 x3). Makes pcaps/s02-greet-pause.pcap (+ .log,
# .client.txt) in $SWEEP. Run setup.sh once first (see lib.sh).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
N=s02-greet-pause; NS=${NSP}2; A=127.0.1.1; R=$REC/rawclient.py
prep_root
{ mc_head; echo "FEATURE(\`greet_pause', \`2000')dnl"; echo "DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl"; mc_tail; } | mkcf greet
mkaliases greet
ns_up "$NS" $A
: > "$PC/$N.log"; syslog_start "$PC/$N.log"
sm_start "$NS" greet $A 25 || exit 1
cap_start "$NS" "tcp and host $A" "$PC/$N.pcap"
# stream 0: early talker, EHLO right after connect
ip netns exec "$NS" timeout 20 python3 "$R" $A 25 '[["send","EHLO early.example.test\r\n"],["readall",6]]' > "$PC/$N.client.txt" 2>&1
sleep 1
# stream 1: patient client (swaks waits for banner)
ip netns exec "$NS" timeout 30 swaks --server $A --from alice@peer.example.test --to root@mx.example.test --helo patient.example.test >> "$PC/$N.client.txt" 2>&1
sleep 1
# stream 2: early talker with full pipelined transaction blasted at once
ip netns exec "$NS" timeout 20 python3 "$R" $A 25 '[["sleep",0.5],["send","EHLO blaster.example.test\r\nMAIL FROM:<spam@peer.example.test>\r\nRCPT TO:<root@mx.example.test>\r\nDATA\r\n"],["readall",6]]' >> "$PC/$N.client.txt" 2>&1
cap_stop; sm_stop; syslog_stop; ns_down "$NS"
views $N
