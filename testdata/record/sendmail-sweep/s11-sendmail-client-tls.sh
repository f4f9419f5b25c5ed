#!/bin/bash
# s11-sendmail-client-tls: Sendmail as the CLIENT (two queue runs, -qf, 2 s apart) through a
# mailertable: tls.example.test -> [127.0.2.1], a second real Sendmail (own queue mqueue2) offering
# STARTTLS with the self-signed certificate, which has no user bob (550 5.1.1 inside TLS, then
# Sendmail's bounce); postdata.example.test -> [127.0.2.2], pyserver.py defer-data (451 after the
# end of data). Captures only the client's side towards the two servers. Makes
# pcaps/s11-sendmail-client-tls.pcap (+ .log, .client.txt, .pyserver.log) in $SWEEP.
# Run setup.sh once first (see lib.sh).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
N=s11-sendmail-client-tls; NS=${NSP}2; A=127.0.1.1; S=$REC/pyserver.py
prep_root
# receiver cf (TLS) on 127.0.2.1 — the key/cert s07 uses
mkcert
mkdir -p "$ROOT/var/spool/mqueue2"; chmod 700 "$ROOT/var/spool/mqueue2"
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
printf 'tls.example.test\tesmtp:[127.0.2.1]\npostdata.example.test\tesmtp:[127.0.2.2]\n' > "$ROOT/etc/mail/mailertable"
mkmap mailertable
mkaliases client2
rm -f "$ROOT"/var/spool/mqueue/* "$ROOT"/var/spool/mqueue2/*
ns_up "$NS" $A 127.0.2.1 127.0.2.2
: > "$PC/$N.log"; syslog_start "$PC/$N.log"
sm_start "$NS" recv 127.0.2.1 25 || exit 1
# the server ends by itself after 90 s (timeout 100 if not); stopped below by PID
ip netns exec "$NS" timeout 100 python3 "$S" 127.0.2.2 25 defer-data 90 > "$B/run/py-postdata.log" 2>&1 & P1=$!
sleep 1
cap_start "$NS" "tcp and (host 127.0.2.1 or host 127.0.2.2)" "$PC/$N.pcap"
SM=(ip netns exec "$NS" timeout 60 chroot "$ROOT" /usr/sbin/sendmail -C /etc/mail/client2.cf -O LogLevel=15)
for d in tls postdata; do
  printf 'Subject: to %s\nFrom: alice@mx.example.test\n\nhello %s\n' $d $d | "${SM[@]}" -odq -f alice@mx.example.test bob@$d.example.test
done
for _ in 1 2; do "${SM[@]}" -qf -v >> "$PC/$N.client.txt" 2>&1; sleep 2; done
cap_stop; sm_stop
stop_pid $P1; cp "$B/run/py-postdata.log" "$PC/$N.pyserver.log"
syslog_stop; ns_down "$NS"
views $N
