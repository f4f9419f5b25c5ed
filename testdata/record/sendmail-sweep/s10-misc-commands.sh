#!/bin/bash
# s10-misc-commands: Sendmail listening on 127.0.1.1 and [fd00::25]. Stream 0: HELO, then VRFY root,
# VRFY nosuchuser, EXPN postmaster, ETRN, HELP, HELP RCPT, NOOP, MAIL, RSET, VERB, EHLO, QUIT one at
# a time; stream 1: EHLO, then unknown commands "XFOOn bar" until Sendmail's 421 4.7.0 "Too many bad
# commands"; stream 2: swaks -6 --pipeline over IPv6, one RCPT refused. Makes
# pcaps/s10-misc-commands.pcap (+ .log, .client.txt) in $SWEEP. Run setup.sh once first (see lib.sh).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
N=s10-misc-commands; NS=${NSP}1; A=127.0.1.1; A6=fd00::25; R=$REC/rawclient.py
prep_root
{ mc_head; echo "DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl"; echo "DAEMON_OPTIONS(\`Family=inet6, Name=MTA6, Port=25, Addr=$A6')dnl"; mc_tail; } | mkcf misc
mkaliases misc
ns_up "$NS" $A $A6
: > "$PC/$N.log"; syslog_start "$PC/$N.log"
sm_start "$NS" misc $A 25 || exit 1
cap_start "$NS" "tcp port 25" "$PC/$N.pcap"
steps='["read",5],["send","HELO peer.example.test\r\n"],["read",5]'
for c in "VRFY root" "VRFY nosuchuser" "EXPN postmaster" "ETRN mx.example.test" "HELP" "HELP RCPT" "NOOP" "MAIL FROM:<alice@peer.example.test>" "RSET" "VERB" "EHLO again.example.test" "QUIT"; do
  steps="$steps,[\"send\",\"$c\\r\\n\"],[\"read\",5]"
done
ip netns exec "$NS" timeout 60 python3 "$R" $A 25 "[$steps,[\"readall\",3]]" > "$PC/$N.client.txt" 2>&1
steps='["read",5],["send","EHLO peer.example.test\r\n"],["read",5]'
for i in $(seq 1 30); do steps="$steps,[\"send\",\"XFOO$i bar\\r\\n\"],[\"read\",3]"; done
ip netns exec "$NS" timeout 60 python3 "$R" $A 25 "[$steps,[\"readall\",3]]" >> "$PC/$N.client.txt" 2>&1
ip netns exec "$NS" timeout 30 swaks --server $A6 --pipeline -6 --from alice@peer.example.test --to root@mx.example.test,nosuchuser@mx.example.test --helo peer6.example.test >> "$PC/$N.client.txt" 2>&1
cap_stop; sm_stop; syslog_stop; ns_down "$NS"
views $N
