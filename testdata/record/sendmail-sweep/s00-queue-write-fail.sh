#!/bin/bash
# s00-queue-write-fail: swaks -> Sendmail with PIPELINING, three RCPTs (root, nosuchuser, postmaster),
# the queue directory made unwritable (owner 100:102, mode 2750) so that Sendmail cannot write the
# message: 421 4.3.0 "collect: Cannot write ./df... Permission denied" after the end of data.
# Makes pcaps/s00-queue-write-fail.pcap (+ .log, .client.txt) in $SWEEP. No mkaliases here: in the
# recording /etc/aliases did not exist yet, so postmaster@ was "User unknown"; a re-run after
# another script has built aliases.db gets 250 for it. Run setup.sh once first (see lib.sh).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
N=s00-queue-write-fail; NS=${NSP}1; A=127.0.1.1
prep_root; chown 100:102 "$ROOT/var/spool/mqueue"; chmod 2750 "$ROOT/var/spool/mqueue"
{ mc_head; echo "DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl"; mc_tail; } | mkcf plain
ns_up "$NS" $A 127.0.2.1
: > "$PC/$N.log"; syslog_start "$PC/$N.log"
sm_start "$NS" plain $A 25 || exit 1
cap_start "$NS" "tcp and host $A" "$PC/$N.pcap"
ip netns exec "$NS" timeout 30 swaks --server $A --pipeline --from alice@peer.example.test --to root@mx.example.test,nosuchuser@mx.example.test,postmaster@mx.example.test --helo peer.example.test --body "hello pipelining" > "$PC/$N.client.txt" 2>&1
cap_stop; sm_stop; syslog_stop; ns_down "$NS"
prep_root   # the queue directory back to root, 0700
views $N
