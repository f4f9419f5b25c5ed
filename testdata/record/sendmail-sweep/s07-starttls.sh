#!/bin/bash
# S7: sendmail with self-signed cert offers STARTTLS. s0 swaks -tls full delivery; s1 python: STARTTLS then plaintext EHLO (no handshake);
#     s2 python: STARTTLS then garbage-free silence until Timeout.starttls; s3 python real TLS via ssl module then QUIT
. /tmp/sw-sendmail/scripts/lib.sh
N=s07-starttls; NS=sm7; A=127.0.1.1; R=$B/scripts/rawclient.py
prep_root
mkdir -p $ROOT/etc/mail/tls
[ -f $ROOT/etc/mail/tls/sm.key ] || chroot $ROOT openssl req -x509 -newkey rsa:2048 -nodes -keyout /etc/mail/tls/sm.key -out /etc/mail/tls/sm.crt -days 30 -subj /CN=mx.example.test >/dev/null 2>&1
chown -R 0:0 $ROOT/etc/mail/tls; chmod 600 $ROOT/etc/mail/tls/sm.key; chmod 755 $ROOT/etc/mail/tls
{ mc_head; cat <<M
define(\`confCACERT_PATH', \`/etc/mail/tls')dnl
define(\`confCACERT', \`/etc/mail/tls/sm.crt')dnl
define(\`confSERVER_CERT', \`/etc/mail/tls/sm.crt')dnl
define(\`confSERVER_KEY', \`/etc/mail/tls/sm.key')dnl
define(\`confCLIENT_CERT', \`/etc/mail/tls/sm.crt')dnl
define(\`confCLIENT_KEY', \`/etc/mail/tls/sm.key')dnl
define(\`confTO_STARTTLS', \`8s')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl
M
mc_tail; } | mkcf tls
mkaliases tls
ns_up $NS $A
: > $PC/$N.log; syslog_start $PC/$N.log
sm_start $NS tls $A 25 || exit 1
cap_start $NS "tcp and host $A" $PC/$N.pcap
ip netns exec $NS timeout 30 swaks --server $A -tls --pipeline --from alice@peer.example.test --to root@mx.example.test --helo peer.example.test > $PC/$N.client.txt 2>&1
G='["read",5],["send","EHLO peer.example.test\r\n"],["read",5],["send","STARTTLS\r\n"],["read",5]'
ip netns exec $NS timeout 30 python3 $R $A 25 "[$G,[\"send\",\"EHLO peer.example.test\r\n\"],[\"readall\",6]]" >> $PC/$N.client.txt 2>&1
ip netns exec $NS timeout 30 python3 $R $A 25 "[$G,[\"readall\",15]]" >> $PC/$N.client.txt 2>&1
cap_stop; sm_stop; syslog_stop; ns_down $NS
views $N
