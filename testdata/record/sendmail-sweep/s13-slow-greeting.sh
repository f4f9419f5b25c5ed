#!/bin/bash
# S13: FEATURE(greet_pause,12000): s0 patient swaks waits 12 s for the banner and delivers; s1 impatient client closes after 5 s of silence (QUIT-less FIN)
. /tmp/sw-sendmail/scripts/lib.sh
N=s13-slow-greeting; NS=sm4; A=127.0.1.1; R=$B/scripts/rawclient.py
prep_root
{ mc_head; echo "FEATURE(\`greet_pause', \`12000')dnl"; echo "DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl"; mc_tail; } | mkcf slowgreet
mkaliases slowgreet
ns_up $NS $A
: > $PC/$N.log; syslog_start $PC/$N.log
sm_start $NS slowgreet $A 25 || exit 1
cap_start $NS "tcp and host $A" $PC/$N.pcap
ip netns exec $NS timeout 40 swaks --server $A --timeout 30 --from alice@peer.example.test --to root@mx.example.test --helo patient.example.test > $PC/$N.client.txt 2>&1 &
P0=$!
sleep 0.5
ip netns exec $NS timeout 30 python3 $R $A 25 '[["read",5],["close"]]' >> $PC/$N.client.txt 2>&1
wait $P0
sleep 1
cap_stop; sm_stop; syslog_stop; ns_down $NS
views $N
