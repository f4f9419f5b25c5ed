#!/bin/bash
# s06-relay-tempfail: Sendmail with delay_checks, access_db, ratecontrol and conncontrol, swaks
# --pipeline from several source addresses. Stream 0: relaying denied (550 5.7.1); stream 1: an
# access entry for the sender (451 4.7.1 Greylisted, at RCPT under delay_checks); stream 2: two
# recipients, one with an access entry "452 4.2.2 Mailbox full" (both got 250 in the recording);
# stream 3: Connect:127.0.2.3 REJECT (550 5.7.1 Access denied at RCPT); streams 4-6: three
# connections from 127.0.2.4 with ClientRate 2 (the third: 421 4.3.2 Connection rate limit
# exceeded); streams 7-8: two at once from 127.0.2.5 with ClientConn 1 (the second: 421 4.3.2 Too
# many open connections). Makes pcaps/s06-relay-tempfail.pcap (+ .log, .client.txt) in $SWEEP.
# Run setup.sh once first (see lib.sh).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
N=s06-relay-tempfail; NS=${NSP}6; A=127.0.1.1
prep_root
{ mc_head; cat <<M
FEATURE(\`delay_checks')dnl
FEATURE(\`access_db', \`hash -T<TMPF> -o /etc/mail/access')dnl
FEATURE(\`ratecontrol', \`nodelay', \`terminate')dnl
FEATURE(\`conncontrol', \`nodelay', \`terminate')dnl
define(\`confCONNECTION_RATE_WINDOW_SIZE', \`60s')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl
M
mc_tail; } | mkcf access
cat > "$ROOT/etc/mail/access" <<M
From:spammer@peer.example.test	ERROR:"451 4.7.1 Greylisted, please try again later"
To:tempuser@mx.example.test	ERROR:"452 4.2.2 Mailbox full, try later"
Connect:127.0.2.3	REJECT
ClientRate:127.0.2.4	2
ClientConn:127.0.2.5	1
M
mkmap access
mkaliases access
ns_up "$NS" $A 127.0.2.1 127.0.2.3 127.0.2.4 127.0.2.5
: > "$PC/$N.log"; syslog_start "$PC/$N.log"
sm_start "$NS" access $A 25 || exit 1
cap_start "$NS" "tcp and host $A" "$PC/$N.pcap"
S=(ip netns exec "$NS" timeout 30 swaks --server "$A" --pipeline --helo peer.example.test)
{
# stream 0: relay denied
"${S[@]}" --local-interface 127.0.2.1 --from alice@peer.example.test --to bob@elsewhere.example.test 2>&1
# stream 1: MAIL FROM 451
"${S[@]}" --local-interface 127.0.2.1 --from spammer@peer.example.test --to root@mx.example.test 2>&1
# stream 2: RCPT 452 for one of two recipients
"${S[@]}" --local-interface 127.0.2.1 --from alice@peer.example.test --to tempuser@mx.example.test,root@mx.example.test 2>&1
# stream 3: Connect REJECT
"${S[@]}" --local-interface 127.0.2.3 --from alice@peer.example.test --to root@mx.example.test 2>&1
# streams 4-6: rate limit
for _ in 1 2 3; do "${S[@]}" --local-interface 127.0.2.4 --from alice@peer.example.test --to root@mx.example.test 2>&1; done
# streams 7-8: concurrency limit: hold one connection open, open a 2nd
ip netns exec "$NS" timeout 30 python3 - $A <<'P' 2>&1
import socket,sys,time
a=socket.create_connection((sys.argv[1],25),source_address=('127.0.2.5',0),timeout=8); print(a.recv(1000))
b=socket.create_connection((sys.argv[1],25),source_address=('127.0.2.5',0),timeout=8)
try:
  print(b.recv(1000)); b.sendall(b"EHLO two.example.test\r\n"); print(b.recv(1000)); print(b.recv(1000))
except Exception as e: print("b:",e)
b.close(); a.sendall(b"QUIT\r\n"); print(a.recv(1000)); a.close()
P
} > "$PC/$N.client.txt"
cap_stop; sm_stop; syslog_stop; ns_down "$NS"
views $N
