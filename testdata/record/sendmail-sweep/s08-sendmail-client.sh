#!/bin/bash
# s08-sendmail-client: Sendmail as the CLIENT, three queued messages sent by queue runs (-qf, three
# times, 2 s apart) through a mailertable to pyserver.py: defer.example.test -> [127.0.2.1]
# (defer451lenient: 451 to RCPT, yet 354 to DATA), drop.example.test -> [127.0.2.2] (drop: closes
# after the first body line), ok.example.test -> [127.0.2.3] (ok). Captures only the client's
# side towards the three servers. Makes pcaps/s08-sendmail-client.pcap (+ .log, .client.txt,
# .pyservers.log) in $SWEEP. Run setup.sh once first (see lib.sh).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# s08b-sendmail-client-greylist.sh runs this with N and DEFER_MODE set.
N=${N:-s08-sendmail-client}; NS=${NSP}8; A=127.0.1.1; S=$REC/pyserver.py
prep_root
{ mc_head; cat <<M
FEATURE(\`mailertable', \`hash -o /etc/mail/mailertable')dnl
define(\`confTO_CONNECT', \`10s')dnl
define(\`SMTP_MAILER_FLAGS', \`')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl
CLIENT_OPTIONS(\`Family=inet, Addr=$A')dnl
M
mc_tail; } | mkcf client
printf 'defer.example.test\tesmtp:[127.0.2.1]\ndrop.example.test\tesmtp:[127.0.2.2]\nok.example.test\tesmtp:[127.0.2.3]\n' > "$ROOT/etc/mail/mailertable"
mkmap mailertable
mkaliases client
rm -f "$ROOT"/var/spool/mqueue/*
ns_up "$NS" $A 127.0.2.1 127.0.2.2 127.0.2.3
: > "$PC/$N.log"; syslog_start "$PC/$N.log"
# the servers end by themselves after 140 s (timeout 150 if not); stopped below by PID
ip netns exec "$NS" timeout 150 python3 "$S" 127.0.2.1 25 "${DEFER_MODE:-defer451lenient}" 140 > "$B/run/py-defer.log" 2>&1 & P1=$!
ip netns exec "$NS" timeout 150 python3 "$S" 127.0.2.2 25 drop 140 > "$B/run/py-drop.log" 2>&1 & P2=$!
ip netns exec "$NS" timeout 150 python3 "$S" 127.0.2.3 25 ok 140 > "$B/run/py-ok.log" 2>&1 & P3=$!
sleep 1
cap_start "$NS" "tcp and (host 127.0.2.1 or host 127.0.2.2 or host 127.0.2.3)" "$PC/$N.pcap"
SM=(ip netns exec "$NS" timeout 60 chroot "$ROOT" /usr/sbin/sendmail -C /etc/mail/client.cf -O LogLevel=15)
for d in defer drop ok; do
  printf 'Subject: to %s\nFrom: alice@mx.example.test\nTo: bob@%s.example.test\n\nhello %s\n' $d $d $d | "${SM[@]}" -odq -f alice@mx.example.test bob@$d.example.test
done
for _ in 1 2 3; do "${SM[@]}" -qf -v >> "$PC/$N.client.txt" 2>&1; sleep 2; done
cap_stop
ls -la "$ROOT/var/spool/mqueue" >> "$PC/$N.client.txt"
stop_pid $P1 $P2 $P3
cat "$B/run/py-defer.log" "$B/run/py-drop.log" "$B/run/py-ok.log" > "$PC/$N.pyservers.log"
syslog_stop; ns_down "$NS"
views "$N"
