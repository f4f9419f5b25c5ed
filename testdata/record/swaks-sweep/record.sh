#!/bin/bash
# record.sh [healthy|big|broken]: one capture per argument under /tmp/ssweep/NAME/NAME.pcap (+ the
# postfix-sweep reports: .oracle.txt, .analyze.txt/.json, .streams.txt, .follow*.txt, maillog,
# swaks.log with every swaks transcript). Run as root; stop Postfix and drop the namespace after
# with: source lib.sh; ns_down
set -u; HERE=$(cd "$(dirname "$0")" && pwd); source "$HERE/lib.sh"; pf_up
S4="-4 -s 127.0.0.81 -li 127.0.1.81 -f a@example.org"
healthy() {
  local L=$D/swaks.log long8 x
  long8=$(printf 'Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln, \xc2\xbfqu\xc3\xa9 tal? \xe2\x82\xac 5\\n')
  x=$(head -c 998 /dev/zero | tr '\0' x)
  sw $L $S4 -t b@example.test                                            # 0 plain ESMTP
  sw $L $S4 --pipeline -t b@example.test,refused@example.test,busy@example.test,nobody@example.test,c@example.test # 1
  sw $L $S4 --helo '[127.0.1.81]' -t b@example.test                      # 2 address literal
  sw $L $S4 --helo 'odd_name.example' -t b@example.test                  # 3 underscore
  sw $L $S4 --protocol SMTP -t b@example.test                            # 4 HELO only
  sw $L $S4 --quit-after EHLO -t b@example.test                          # 5
  sw $L $S4 --quit-after MAIL -t b@example.test                          # 6
  sw $L $S4 --quit-after RCPT -t b@example.test                          # 7
  sw $L $S4 -t b@example.test -ndf --data $'x\r\n.'                     # 8 one byte (swaks adds CRLF)
  sw $L $S4 -t b@example.test --body "$x\\n$x"                           # 9 998-char lines
  sw $L $S4 -t b@example.test --body "$long8"                            # 10 8-bit body
  sw $L $S4 -t b@example.test -a PLAIN -au alice -ap secret              # 11
  sw $L $S4 -t b@example.test -a LOGIN -au alice -ap secret              # 12
  sw $L $S4 -t b@example.test -a CRAM-MD5 -au alice -ap secret           # 13
  sw $L $S4 -t b@example.test -a PLAIN -au alice -ap wrong               # 14 535
  sw $L $S4 -t b@example.test --tls                                      # 15 STARTTLS
  sw $L $S4 -t b@example.test,c@example.test --tls -a PLAIN -au alice -ap secret --pipeline # 16
  sw $L -6 -s ::1 -f a@example.org --helo '[IPv6:::1]' -t b@example.test # 17 IPv6
  sw $L $S4 -p 465 --tls-on-connect -t b@example.test                    # 18 TLS on connect
  sw $L $S4 --pipeline -t refused@example.test,nobody@example.test      # 19 no recipient taken
  sw $L $S4 --tls --quit-after TLS -t b@example.test                     # 20
}
big() {
  head -c 5000000 /dev/urandom >$D/5mb.bin
  sw $D/swaks.log $S4 -t b@example.test --attach $D/5mb.bin
}
broken() {
  local L=$D/swaks.log
  head -c 30000 /dev/urandom >$D/30k.bin
  sw $L -4 -s 127.0.0.82 -li 127.0.1.82 -f a@example.org -t b@example.test --attach $D/30k.bin # 0 552
  sw $L -4 -s 127.0.0.83 -li 127.0.1.83 -f a@example.org -t b@example.test -ndf \
    --data $'Subject: no end\r\n\r\nthe client never sends the final dot\r\n'          # 1 421 after 5 s
  sw $L -4 -s 127.0.0.84 -li 127.0.1.84 -f a@example.org -t b@example.test -ndf \
    --data $'Subject: bare\n\nbare LF lines\n.\n'                                    # 2 bare LF refused
  sw $L $S4 -t b@example.test -ndf --data $'Subject: bare\n\nbare LF lines\n.\n'     # 3 bare LF taken
  sw $L $S4 -t b@example.test --drop-after RCPT                                      # 4 client drops
  sw $L $S4 -t b@example.test --drop-after-send DATA                                 # 5
}
mkdir -p $B
for NAME in "$@"; do
  D=$B/$NAME; mkdir -p $D; P=$D/$NAME.pcap; rm -f $D/swaks.log
  cap_start $P "tcp and (host 127.0.0.81 or host 127.0.0.82 or host 127.0.0.83 or host 127.0.0.84 or host ::1)"
  mlog_mark; $NAME
  cap_stop "127\.0\.1\.8|::1" $P
  mlog_save $D/maillog; oracle $P; report $P
  echo "== $NAME done" >&2
done
