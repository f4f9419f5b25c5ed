#!/bin/bash
# s03-size-limit: Sendmail with MaxMessageSize=10000 (confMAX_MESSAGE_SIZE). Stream 0: MAIL with
# SIZE=50000 (552 5.2.3 at MAIL); stream 1: no SIZE=, a 30 kB body (552 5.2.3 after the end of
# data); stream 2: SIZE=5000 (a lie), the same 30 kB body; stream 3: swaks --pipeline with a
# 27 kB base64 attachment. Makes pcaps/s03-size-limit.pcap (+ .log, .client.txt) in $SWEEP.
# Run setup.sh once first (see lib.sh).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
N=s03-size-limit; NS=${NSP}3; A=127.0.1.1; R=$REC/rawclient.py
prep_root
{ mc_head; echo "define(\`confMAX_MESSAGE_SIZE', \`10000')dnl"; echo "DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl"; mc_tail; } | mkcf size
mkaliases size
python3 - > "$B/run/body30k.txt" <<'P'
import sys
out=["Subject: big one","From: alice@peer.example.test","To: root@mx.example.test",""]
for i in range(400): out.append("line %04d "%i + "x"*64)
out.append("."); sys.stdout.write("\r\n".join(out)+"\r\n")
P
ns_up "$NS" $A
: > "$PC/$N.log"; syslog_start "$PC/$N.log"
sm_start "$NS" size $A 25 || exit 1
cap_start "$NS" "tcp and host $A" "$PC/$N.pcap"
E='["read",5],["send","EHLO peer.example.test\r\n"],["read",5]'
# stream 0: SIZE=50000 declared -> 552 at MAIL
ip netns exec "$NS" timeout 30 python3 "$R" $A 25 "[$E,[\"send\",\"MAIL FROM:<alice@peer.example.test> SIZE=50000\r\n\"],[\"read\",5],[\"send\",\"QUIT\r\n\"],[\"readall\",3]]" > "$PC/$N.client.txt" 2>&1
# stream 1: no SIZE, 30KB body -> 552 after final dot
ip netns exec "$NS" timeout 30 python3 "$R" $A 25 "[$E,[\"send\",\"MAIL FROM:<alice@peer.example.test>\r\n\"],[\"read\",5],[\"send\",\"RCPT TO:<root@mx.example.test>\r\n\"],[\"read\",5],[\"send\",\"DATA\r\n\"],[\"read\",5],[\"sendfile\",\"$B/run/body30k.txt\"],[\"read\",10],[\"send\",\"QUIT\r\n\"],[\"readall\",3]]" >> "$PC/$N.client.txt" 2>&1
# stream 2: SIZE=5000 (a lie), 30KB body
ip netns exec "$NS" timeout 30 python3 "$R" $A 25 "[$E,[\"send\",\"MAIL FROM:<alice@peer.example.test> SIZE=5000\r\n\"],[\"read\",5],[\"send\",\"RCPT TO:<root@mx.example.test>\r\n\"],[\"read\",5],[\"send\",\"DATA\r\n\"],[\"read\",5],[\"sendfile\",\"$B/run/body30k.txt\"],[\"read\",10],[\"send\",\"QUIT\r\n\"],[\"readall\",3]]" >> "$PC/$N.client.txt" 2>&1
# stream 3: swaks with a 30KB attachment, pipelining
head -c 20000 /dev/urandom | base64 > "$B/run/att.txt"
ip netns exec "$NS" timeout 30 swaks --server $A --pipeline --from alice@peer.example.test --to root@mx.example.test --helo peer.example.test --attach "$B/run/att.txt" > "$B/run/swaks3.txt" 2>&1; grep -E '^(<|\*\*\*)' "$B/run/swaks3.txt" >> "$PC/$N.client.txt"
cap_stop; sm_stop; syslog_stop; ns_down "$NS"
views $N
