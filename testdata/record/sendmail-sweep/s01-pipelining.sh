#!/bin/bash
# s01-pipelining: swaks -> Sendmail with PIPELINING: MAIL, three RCPTs (root, nosuchuser, postmaster)
# and DATA in one segment, one RCPT refused (550 User unknown), the message accepted.
# Makes pcaps/s01-pipelining.pcap (+ .log, .client.txt) in $SWEEP. In the recording the aliases
# database did not exist yet, so postmaster@ was refused too; a re-run accepts it.
# Run setup.sh once first (see lib.sh).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
N=s01-pipelining; NS=${NSP}1; A=127.0.1.1
prep_root
{ mc_head; echo "DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl"; mc_tail; } | mkcf plain
mkaliases plain
ns_up "$NS" $A 127.0.2.1
: > "$PC/$N.log"; syslog_start "$PC/$N.log"
sm_start "$NS" plain $A 25 || exit 1
cap_start "$NS" "tcp and host $A" "$PC/$N.pcap"
ip netns exec "$NS" timeout 30 swaks --server $A --pipeline --from alice@peer.example.test --to root@mx.example.test,nosuchuser@mx.example.test,postmaster@mx.example.test --helo peer.example.test --body "hello pipelining" > "$PC/$N.client.txt" 2>&1
cap_stop; sm_stop; syslog_stop; ns_down "$NS"
views $N
