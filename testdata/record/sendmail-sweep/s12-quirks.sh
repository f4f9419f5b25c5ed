#!/bin/bash
# s12-quirks: Sendmail with MaxRecipientsPerMessage=2 and MaxHeadersLength=2000. Stream 0: MAIL with
# RET=/ENVID=, four RCPTs (the first with NOTIFY=/ORCPT=) and DATA pipelined (452 4.5.3 Too many
# recipients for the 3rd and 4th), then the message, a second MAIL, two RCPTs and DATA in one
# write, then the second message and QUIT in one write; stream 1: AUTH PLAIN when AUTH offers only
# DIGEST-MD5 CRAM-MD5 (504 5.3.3), then lower-case "mail from: <...>" with a space, delivered;
# stream 2: 60 header lines over MaxHeadersLength (552 5.6.0 Headers too large).
# Makes pcaps/s12-quirks.pcap (+ .log, .client.txt) in $SWEEP. Run setup.sh once first (see lib.sh).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
N=s12-quirks; NS=${NSP}3; A=127.0.1.1; R=$REC/rawclient.py
prep_root
{ mc_head; echo "define(\`confMAX_RCPTS_PER_MESSAGE', \`2')dnl"; echo "define(\`confMAX_HEADERS_LENGTH', \`2000')dnl"; echo "DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=25, Addr=$A')dnl"; mc_tail; } | mkcf quirks
mkaliases quirks
ns_up "$NS" $A
: > "$PC/$N.log"; syslog_start "$PC/$N.log"
sm_start "$NS" quirks $A 25 || exit 1
cap_start "$NS" "tcp and host $A" "$PC/$N.pcap"
E='["read",5],["send","EHLO peer.example.test\r\n"],["read",5]'
# s0: 4 RCPTs pipelined, limit 2 -> 452 for 3rd and 4th, then second transaction for the rest
ip netns exec "$NS" timeout 30 python3 "$R" $A 25 "[$E,[\"send\",\"MAIL FROM:<alice@peer.example.test> RET=HDRS ENVID=abc123\r\nRCPT TO:<root@mx.example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;root@mx.example.test\r\nRCPT TO:<postmaster@mx.example.test>\r\nRCPT TO:<abuse@mx.example.test>\r\nRCPT TO:<mailer-daemon@mx.example.test>\r\nDATA\r\n\"],[\"readall\",2],[\"send\",\"Subject: t\r\n\r\nbody\r\n.\r\nMAIL FROM:<alice@peer.example.test>\r\nRCPT TO:<abuse@mx.example.test>\r\nRCPT TO:<mailer-daemon@mx.example.test>\r\nDATA\r\n\"],[\"readall\",2],[\"send\",\"Subject: t2\r\n\r\nbody2\r\n.\r\nQUIT\r\n\"],[\"readall\",3]]" > "$PC/$N.client.txt" 2>&1
# s1: AUTH PLAIN not offered; lower-case commands with space after colon
ip netns exec "$NS" timeout 30 python3 "$R" $A 25 "[$E,[\"send\",\"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n\"],[\"read\",5],[\"send\",\"mail from: <alice@peer.example.test>\r\n\"],[\"read\",5],[\"send\",\"rcpt to: <root@mx.example.test>\r\n\"],[\"read\",5],[\"send\",\"data\r\n\"],[\"read\",5],[\"send\",\"Subject: lower\r\n\r\nbody\r\n.\r\n\"],[\"read\",5],[\"send\",\"quit\r\n\"],[\"readall\",3]]" >> "$PC/$N.client.txt" 2>&1
# s2: headers longer than MaxHeadersLength
H=$(python3 -c 'print("".join("X-Filler-%03d: %s\\r\\n"%(i,"y"*60) for i in range(60)))')
ip netns exec "$NS" timeout 30 python3 "$R" $A 25 "[$E,[\"send\",\"MAIL FROM:<alice@peer.example.test>\r\n\"],[\"read\",5],[\"send\",\"RCPT TO:<root@mx.example.test>\r\n\"],[\"read\",5],[\"send\",\"DATA\r\n\"],[\"read\",5],[\"send\",\"Subject: many headers\r\n$H\r\nbody\r\n.\r\n\"],[\"read\",5],[\"send\",\"QUIT\r\n\"],[\"readall\",3]]" >> "$PC/$N.client.txt" 2>&1
cap_stop; sm_stop; syslog_stop; ns_down "$NS"
views $N
