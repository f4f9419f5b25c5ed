#!/bin/bash
# S10: s0 HELO + VRFY/EXPN/ETRN/HELP/NOOP/RSET/VERB, s1 unknown commands until "421 Too many bad commands", s2 IPv6 swaks pipelined delivery
. /tmp/sw-sendmail/scripts/lib.sh
N=s10-misc-commands; NS=sm1; A=127.0.1.1; A6=fd00::25; R=$B/scripts/rawclient.py
prep_root
{ mc_head; echo "DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl"; echo "DAEMON_OPTIONS(\`Family=inet6, Name=MTA6, Port=25, Addr=$A6')dnl"; mc_tail; } | mkcf misc
mkaliases misc
ns_up $NS $A $A6
: > $PC/$N.log; syslog_start $PC/$N.log
sm_start $NS misc $A 25 || exit 1
cap_start $NS "tcp port 25" $PC/$N.pcap
steps='["read",5],["send","HELO peer.example.test\r\n"],["read",5]'
for c in "VRFY root" "VRFY nosuchuser" "EXPN postmaster" "ETRN mx.example.test" "HELP" "HELP RCPT" "NOOP" "MAIL FROM:<alice@peer.example.test>" "RSET" "VERB" "EHLO again.example.test" "QUIT"; do
  steps="$steps,[\"send\",\"$c\\r\\n\"],[\"read\",5]"
done
ip netns exec $NS timeout 60 python3 $R $A 25 "[$steps,[\"readall\",3]]" > $PC/$N.client.txt 2>&1
steps='["read",5],["send","EHLO peer.example.test\r\n"],["read",5]'
for i in $(seq 1 30); do steps="$steps,[\"send\",\"XFOO$i bar\\r\\n\"],[\"read\",3]"; done
ip netns exec $NS timeout 60 python3 $R $A 25 "[$steps,[\"readall\",3]]" >> $PC/$N.client.txt 2>&1
ip netns exec $NS timeout 30 swaks --server $A6 --pipeline -6 --from alice@peer.example.test --to root@mx.example.test,nosuchuser@mx.example.test --helo peer6.example.test >> $PC/$N.client.txt 2>&1
cap_stop; sm_stop; syslog_stop; ns_down $NS
views $N
