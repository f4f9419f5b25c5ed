#!/bin/bash
. "$(dirname "$0")/lib.sh"
sc_begin nonmail 2
: > $D/main.conf
: > $D/acls.conf
sc_server $D/main.conf $D/acls.conf
sc_cap
{ echo R; echo "S EHLO client.example.org"; echo R
  for c in NOOP NOOP "HELP" "VRFY user@example.test" "EXPN staff" "ETRN example.org" NOOP NOOP "HELP MAIL" NOOP NOOP NOOP NOOP NOOP; do echo "S $c"; echo R; done
  echo "S QUIT"; echo X; } > $D/client.script
timeout 60 nsenter --net=/run/netns/$NS python3 $B/raw.py $CADDR $SADDR $D/client.script > $D/client.txt 2>&1
# second: same storm but interleaved with a real mail transaction at the start
{ echo R; echo "S EHLO client.example.org"; echo R; echo "S MAIL FROM:<a@example.org>"; echo R; echo "S RCPT TO:<user@example.test>"; echo R; echo "S DATA"; echo R; echo "B b'Subject: t\r\n\r\nhello\r\n.\r\n'"; echo R
  for i in $(seq 1 12); do echo "S NOOP"; echo R; done; echo "S MAIL FROM:<b@example.org>"; echo R; echo "S QUIT"; echo X; } > $D/client2.script
timeout 60 nsenter --net=/run/netns/$NS python3 $B/raw.py $CADDR $SADDR $D/client2.script >> $D/client.txt 2>&1
sc_end
