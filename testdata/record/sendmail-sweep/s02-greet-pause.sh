#!/bin/bash
# S2: FEATURE(greet_pause,2000): early talker gets 554; patient swaks succeeds
. /tmp/sw-sendmail/scripts/lib.sh
N=s02-greet-pause; NS=sm2; A=127.0.1.1; R=$B/scripts/rawclient.py
prep_root
{ mc_head; echo "FEATURE(\`greet_pause', \`2000')dnl"; echo "DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl"; mc_tail; } | mkcf greet
mkaliases greet
ns_up $NS $A
: > $PC/$N.log; syslog_start $PC/$N.log
sm_start $NS greet $A 25 || exit 1
cap_start $NS "tcp and host $A" $PC/$N.pcap
# stream 0: early talker, EHLO right after connect
ip netns exec $NS timeout 20 python3 $R $A 25 '[["send","EHLO early.example.test\r\n"],["readall",6]]' > $PC/$N.client.txt 2>&1
sleep 1
# stream 1: patient client (swaks waits for banner)
ip netns exec $NS timeout 30 swaks --server $A --from alice@peer.example.test --to root@mx.example.test --helo patient.example.test >> $PC/$N.client.txt 2>&1
sleep 1
# stream 2: early talker with full pipelined transaction blasted at once
ip netns exec $NS timeout 20 python3 $R $A 25 '[["sleep",0.5],["send","EHLO blaster.example.test\r\nMAIL FROM:<spam@peer.example.test>\r\nRCPT TO:<root@mx.example.test>\r\nDATA\r\n"],["readall",6]]' >> $PC/$N.client.txt 2>&1
cap_stop; sm_stop; syslog_stop; ns_down $NS
views $N
