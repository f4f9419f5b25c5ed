#!/bin/bash
# S4: client disconnects mid-DATA: stream0 FIN after half body, stream1 RST after half body, stream2 FIN right after DATA's 354
. /tmp/sw-sendmail/scripts/lib.sh
N=s04-client-abort-data; NS=sm4; A=127.0.1.1; R=$B/scripts/rawclient.py
prep_root
{ mc_head; echo "DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl"; mc_tail; } | mkcf plain
mkaliases plain
ns_up $NS $A
: > $PC/$N.log; syslog_start $PC/$N.log
sm_start $NS plain $A 25 || exit 1
cap_start $NS "tcp and host $A" $PC/$N.pcap
E='["read",5],["send","EHLO peer.example.test\r\n"],["read",5],["send","MAIL FROM:<alice@peer.example.test>\r\n"],["read",5],["send","RCPT TO:<root@mx.example.test>\r\n"],["read",5],["send","DATA\r\n"],["read",5]'
H='["send","Subject: half\r\nFrom: alice@peer.example.test\r\n\r\nfirst line of body\r\nsecond line of bo"]'
ip netns exec $NS timeout 30 python3 $R $A 25 "[$E,$H,[\"sleep\",1],[\"shutwr\"],[\"readall\",5]]" > $PC/$N.client.txt 2>&1
ip netns exec $NS timeout 30 python3 $R $A 25 "[$E,$H,[\"sleep\",1],[\"rst\"]]" >> $PC/$N.client.txt 2>&1
ip netns exec $NS timeout 30 python3 $R $A 25 "[$E,[\"close\"]]" >> $PC/$N.client.txt 2>&1
sleep 1
cap_stop; sm_stop; syslog_stop; ns_down $NS
views $N
