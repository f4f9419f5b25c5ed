#!/bin/bash
# S5: Timeout.command=12s, Timeout.datablock=12s; s0 stall mid-command, s1 stall mid-body, s2 body ends "\n.\r\n", s3 body ends "\n.\n"
. /tmp/sw-sendmail/scripts/lib.sh
N=s05-server-timeouts; NS=sm5; A=127.0.1.1; R=$B/scripts/rawclient.py
prep_root
{ mc_head; echo "DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl"; mc_tail; } | mkcf plain
mkaliases plain
ns_up $NS $A
: > $PC/$N.log; syslog_start $PC/$N.log
sm_start $NS plain $A 25 -O Timeout.command=12s -O Timeout.datablock=12s || exit 1
cap_start $NS "tcp and host $A" $PC/$N.pcap
G='["read",5],["send","EHLO peer.example.test\r\n"],["read",5]'
E="$G"',["send","MAIL FROM:<alice@peer.example.test>\r\n"],["read",5],["send","RCPT TO:<root@mx.example.test>\r\n"],["read",5],["send","DATA\r\n"],["read",5]'
ip netns exec $NS timeout 40 python3 $R $A 25 "[$G,[\"send\",\"MAIL FROM:<alice@peer\"],[\"readall\",20]]" > $PC/$N.client.txt 2>&1 &
P0=$!
ip netns exec $NS timeout 40 python3 $R $A 25 "[$E,[\"send\",\"Subject: stall\r\n\r\nbody line one\r\nbody li\"],[\"readall\",20]]" >> $PC/$N.client1.txt 2>&1 &
P1=$!
ip netns exec $NS timeout 40 python3 $R $A 25 "[$E,[\"send\",\"Subject: barelf\r\n\r\nbody line one\r\nlast line\n.\r\n\"],[\"readall\",20]]" >> $PC/$N.client2.txt 2>&1 &
P2=$!
ip netns exec $NS timeout 40 python3 $R $A 25 "[$E,[\"send\",\"Subject: barelf2\r\n\r\nbody line one\r\nlast line\n.\n\"],[\"readall\",20]]" >> $PC/$N.client3.txt 2>&1 &
P3=$!
wait $P0 $P1 $P2 $P3
cat $PC/$N.client1.txt $PC/$N.client2.txt $PC/$N.client3.txt >> $PC/$N.client.txt; rm -f $PC/$N.client[123].txt
cap_stop; sm_stop; syslog_stop; ns_down $NS
views $N
