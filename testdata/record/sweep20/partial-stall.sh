#!/bin/bash
. "$(dirname "$0")/lib.sh"
sc_begin partial-stall 12
echo 'smtp_receive_timeout = 3s' > $D/main.conf; : > $D/acls.conf
sc_server $D/main.conf $D/acls.conf || exit 1
sc_cap
cat > $D/a.script <<'E'
R
S EHLO client.example.org
R
B b'MAIL FROM:<alice@exa'
W 6
B b'mple.org>\r\n'
R
S QUIT
X
E
cat > $D/b.script <<'E'
R
S EHLO client.example.org
R
S MAIL FROM:<alice@example.org>
R
S RCPT TO:<user@example.test>
R
S DATA
R
B b'Subject: partial\r\n\r\nfirst line\r\nthe second line is cut he'
W 6
B b're\r\n.\r\n'
R
S QUIT
X
E
timeout 60 nsenter --net=/run/netns/$NS python3 $B/raw.py $CADDR $SADDR $D/a.script > $D/client-a.txt 2>&1
timeout 60 nsenter --net=/run/netns/$NS python3 $B/raw.py $CADDR $SADDR $D/b.script > $D/client-b.txt 2>&1
sc_end
