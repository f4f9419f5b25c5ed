#!/bin/bash
# s07-starttls: Sendmail offering STARTTLS with a self-signed certificate, Timeout.starttls=8s.
# Stream 0: swaks -tls --pipeline, a delivery over TLS 1.3; stream 1: STARTTLS, 220, then a clear
# text EHLO (Sendmail: "wrong version number", RST); stream 2: STARTTLS, 220, then silence until
# Sendmail gives up after 8 s. Makes pcaps/s07-starttls.pcap (+ .log, .client.txt) in $SWEEP.
# Run setup.sh once first (see lib.sh).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
N=s07-starttls; NS=${NSP}7; A=127.0.1.1; R=$REC/rawclient.py
prep_root
mkcert
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
ns_up "$NS" $A
: > "$PC/$N.log"; syslog_start "$PC/$N.log"
sm_start "$NS" tls $A 25 || exit 1
cap_start "$NS" "tcp and host $A" "$PC/$N.pcap"
ip netns exec "$NS" timeout 30 swaks --server $A -tls --pipeline --from alice@peer.example.test --to root@mx.example.test --helo peer.example.test > "$PC/$N.client.txt" 2>&1
G='["read",5],["send","EHLO peer.example.test\r\n"],["read",5],["send","STARTTLS\r\n"],["read",5]'
ip netns exec "$NS" timeout 30 python3 "$R" $A 25 "[$G,[\"send\",\"EHLO peer.example.test\r\n\"],[\"readall\",6]]" >> "$PC/$N.client.txt" 2>&1
ip netns exec "$NS" timeout 30 python3 "$R" $A 25 "[$G,[\"readall\",15]]" >> "$PC/$N.client.txt" 2>&1
cap_stop; sm_stop; syslog_stop; ns_down "$NS"
views $N
