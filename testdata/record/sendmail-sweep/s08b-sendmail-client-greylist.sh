#!/bin/bash
# S8b: as S8 but the 451-at-RCPT server answers DATA with 554 no valid recipients (strict, like Postfix); three -qf runs = retry loop
#     drop.example.test -> [127.0.2.2] python closes mid-DATA (retried once); ok.example.test -> [127.0.2.3] python ok
. /tmp/sw-sendmail/scripts/lib.sh
N=s08b-sendmail-client-greylist; NS=sm8; A=127.0.1.1; S=$B/scripts/pyserver.py
prep_root
{ mc_head; cat <<M
FEATURE(\`mailertable', \`hash -o /etc/mail/mailertable')dnl
define(\`confTO_CONNECT', \`10s')dnl
define(\`SMTP_MAILER_FLAGS', \`')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl
CLIENT_OPTIONS(\`Family=inet, Addr=$A')dnl
M
mc_tail; } | mkcf client
printf 'defer.example.test\tesmtp:[127.0.2.1]\ndrop.example.test\tesmtp:[127.0.2.2]\nok.example.test\tesmtp:[127.0.2.3]\n' > $ROOT/etc/mail/mailertable
rm -f $ROOT/etc/mail/mailertable.db; chroot $ROOT makemap hash /etc/mail/mailertable < $ROOT/etc/mail/mailertable; chown 0:0 $ROOT/etc/mail/mailertable.db; chmod 644 $ROOT/etc/mail/mailertable.db
mkaliases client
rm -f $ROOT/var/spool/mqueue/*
ns_up $NS $A 127.0.2.1 127.0.2.2 127.0.2.3
: > $PC/$N.log; syslog_start $PC/$N.log
ip netns exec $NS timeout 150 python3 $S 127.0.2.1 25 defer451 140 > $B/run/py-defer.log 2>&1 & P1=$!
ip netns exec $NS timeout 150 python3 $S 127.0.2.2 25 drop 140 > $B/run/py-drop.log 2>&1 & P2=$!
ip netns exec $NS timeout 150 python3 $S 127.0.2.3 25 ok 140 > $B/run/py-ok.log 2>&1 & P3=$!
sleep 1
cap_start $NS "tcp and (host 127.0.2.1 or host 127.0.2.2 or host 127.0.2.3)" $PC/$N.pcap
SM="ip netns exec $NS timeout 60 chroot $ROOT /usr/sbin/sendmail -C /etc/mail/client.cf -O LogLevel=15"
for d in defer drop ok; do
  printf 'Subject: to %s\nFrom: alice@mx.example.test\nTo: bob@%s.example.test\n\nhello %s\n' $d $d $d | $SM -odq -f alice@mx.example.test bob@$d.example.test
done
for i in 1 2 3; do $SM -qf -v >> $PC/$N.client.txt 2>&1; sleep 2; done
cap_stop
ls -la $ROOT/var/spool/mqueue >> $PC/$N.client.txt
kill -TERM $P1 $P2 $P3 2>/dev/null; wait $P1 $P2 $P3 2>/dev/null
cat $B/run/py-defer.log $B/run/py-drop.log $B/run/py-ok.log > $PC/$N.pyservers.log
syslog_stop; ns_down $NS
views $N
