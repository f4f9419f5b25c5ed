#!/bin/bash
# s13-slow-greeting: Sendmail with FEATURE(greet_pause, 12000). Stream 0: swaks (--timeout 30) waits
# 12 s for the greeting and delivers; stream 1, opened 0.6 s later: a client that waits 5 s for a
# greeting and then closes (FIN, no QUIT). Makes pcaps/s13-slow-greeting.pcap (+ .log, .client.txt)
# in $SWEEP. Run setup.sh once first (see lib.sh).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
N=s13-slow-greeting; NS=${NSP}4; A=127.0.1.1; R=$REC/rawclient.py
prep_root
{ mc_head; echo "FEATURE(\`greet_pause', \`12000')dnl"; echo "DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl"; mc_tail; } | mkcf slowgreet
mkaliases slowgreet
ns_up "$NS" $A
: > "$PC/$N.log"; syslog_start "$PC/$N.log"
sm_start "$NS" slowgreet $A 25 || exit 1
cap_start "$NS" "tcp and host $A" "$PC/$N.pcap"
# bounded by timeout 40, so the wait below is too
ip netns exec "$NS" timeout 40 swaks --server $A --timeout 30 --from alice@peer.example.test --to root@mx.example.test --helo patient.example.test > "$PC/$N.client.txt" 2>&1 &
P0=$!
sleep 0.5
ip netns exec "$NS" timeout 30 python3 "$R" $A 25 '[["read",5],["close"]]' >> "$PC/$N.client.txt" 2>&1
wait $P0
sleep 1
cap_stop; sm_stop; syslog_stop; ns_down "$NS"
views $N
