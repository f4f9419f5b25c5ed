#!/bin/bash
# S11: sendmail CLIENT (queue runs) -> (a) a second real sendmail with STARTTLS (self-signed) on 127.0.2.1,
#      (b) python server answering 451 after end of DATA on 127.0.2.2; two -qf runs
. /tmp/sw-sendmail/scripts/lib.sh
N=s11-sendmail-client-tls; NS=sm2; A=127.0.1.1; S=$B/scripts/pyserver.py
prep_root
# receiver cf (TLS) on 127.0.2.1 — reuse s07's key/cert
mkdir -p $ROOT/etc/mail/tls $ROOT/var/spool/mqueue2; chmod 700 $ROOT/var/spool/mqueue2
[ -f $ROOT/etc/mail/tls/sm.key ] || chroot $ROOT openssl req -x509 -newkey rsa:2048 -nodes -keyout /etc/mail/tls/sm.key -out /etc/mail/tls/sm.crt -days 30 -subj /CN=mx.example.test >/dev/null 2>&1
chown -R 0:0 $ROOT/etc/mail/tls; chmod 600 $ROOT/etc/mail/tls/sm.key
TLSDEF="define(\`confCACERT_PATH', \`/etc/mail/tls')dnl
define(\`confCACERT', \`/etc/mail/tls/sm.crt')dnl
define(\`confSERVER_CERT', \`/etc/mail/tls/sm.crt')dnl
define(\`confSERVER_KEY', \`/etc/mail/tls/sm.key')dnl
define(\`confCLIENT_CERT', \`/etc/mail/tls/sm.crt')dnl
define(\`confCLIENT_KEY', \`/etc/mail/tls/sm.key')dnl"
{ mc_head; echo "$TLSDEF"; echo "define(\`QUEUE_DIR', \`/var/spool/mqueue2')dnl"; echo "define(\`confDOMAIN_NAME', \`tls.example.test')dnl"; echo "LOCAL_DOMAIN(\`tls.example.test')dnl"; echo "DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=127.0.2.1')dnl"; mc_tail; } | mkcf recv
{ mc_head; echo "$TLSDEF"; cat <<M
FEATURE(\`mailertable', \`hash -o /etc/mail/mailertable')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl
CLIENT_OPTIONS(\`Family=inet, Addr=$A')dnl
M
mc_tail; } | mkcf client2
printf 'tls.example.test\tesmtp:[127.0.2.1]\npostdata.example.test\tesmtp:[127.0.2.2]\n' > $ROOT/etc/mail/mailertable
rm -f $ROOT/etc/mail/mailertable.db; chroot $ROOT makemap hash /etc/mail/mailertable < $ROOT/etc/mail/mailertable; chown 0:0 $ROOT/etc/mail/mailertable.db; chmod 644 $ROOT/etc/mail/mailertable.db
mkaliases client2
rm -f $ROOT/var/spool/mqueue/* $ROOT/var/spool/mqueue2/*
ns_up $NS $A 127.0.2.1 127.0.2.2
: > $PC/$N.log; syslog_start $PC/$N.log
sm_start $NS recv 127.0.2.1 25 || exit 1
ip netns exec $NS timeout 100 python3 $S 127.0.2.2 25 defer-data 90 > $B/run/py-postdata.log 2>&1 & P1=$!
sleep 1
cap_start $NS "tcp and (host 127.0.2.1 or host 127.0.2.2)" $PC/$N.pcap
SM="ip netns exec $NS timeout 60 chroot $ROOT /usr/sbin/sendmail -C /etc/mail/client2.cf -O LogLevel=15"
for d in tls postdata; do
  printf 'Subject: to %s\nFrom: alice@mx.example.test\n\nhello %s\n' $d $d | $SM -odq -f alice@mx.example.test bob@$d.example.test
done
for i in 1 2; do $SM -qf -v >> $PC/$N.client.txt 2>&1; sleep 2; done
cap_stop; sm_stop
kill -TERM $P1 2>/dev/null; wait $P1 2>/dev/null; cp $B/run/py-postdata.log $PC/$N.pyserver.log
syslog_stop; ns_down $NS
views $N
