#!/bin/bash
# s02_osd_server: OpenSMTPD 6.8 as the server on 127.0.1.1 (conf_osd.sh: max-message-size 20K,
# STARTTLS offered, local delivery for mx.test), many short scenarios, one capture each, the
# server's log sliced per capture (NAME.log; the whole one is osd-server-$OSD_KEY.log), namespace
# ${NSP}1. Argument: the letters to run (default all); OSD_KEY=mx (RSA, default) or mx-ec (ECDSA)
# picks the certificate, OSD_EXTRA adds configuration (run_all.sh: "y" with
# "smtp limit max-mails 1 max-rcpt 2"). Makes, in $SWEEP/pcaps (each with .log and .client.txt):
#   a osd-pipelining-rcpts   b osd-relay-refused      c osd-size-nosize       d osd-size-declared
#   e osd-size-lie           f osd-data-abort         g osd-errors            h osd-starttls-swaks
#   i osd-starttls-plaintext j osd-bare-lf            k osd-binary-data       l osd-bdat
#   m osd-pipelined-raw      n osd-errors-many        o osd-bdat-ok-size      p osd-starttls-ecdsa
#   q osd-starttls-tls12     r go-osd-sendmail        s go-osd-manual         t go-osd-manual-auth
#   u go-osd-auth-localhost  v go-osd-starttls        w osd-smtputf8-not-offered
#   w1 osd-latin1-address    x osd-data-after-all-rcpts-rejected             y osd-limits
#   z osd-data-abort-rst
# (w1 was recorded by an earlier text of w with Latin-1 bytes; added back here from its client
# transcript.) Clients: swaks, clients/raw.py (script on stdin), the Go client (goclient/).
# Run setup.sh once first (see lib.sh).
set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=conf_osd.sh
source "$REC/conf_osd.sh"
NS=${NSP}1; A=127.0.1.1
ns_up "$NS" $A
smtpd_start "$NS" "osd-server-${OSD_KEY:-mx}" "$(osd_conf $A)"
wait_port "$NS" $A 25 || exit 1
SRVLOG=$PC/osd-server-${OSD_KEY:-mx}.log

# one NAME CLIENT-COMMAND... : capture one scenario (the client bounded by timeout 90)
one() {
  local name=$1; shift
  local n0; n0=$(wc -l < "$SRVLOG")
  cap_start "$NS" "$name" "tcp and host $A"
  ip netns exec "$NS" timeout 90 "$@" > "$PC/$name.client.txt" 2>&1
  sleep 1
  cap_stop "$CAP_PID"
  tail -n +$((n0+1)) "$SRVLOG" > "$PC/$name.log"
  analyze "$name"
  log "$name done"
}
# raw NAME : one NAME with clients/raw.py and the script on stdin
raw() { local name=$1; cat > "$B/run/$name.script"; one "$name" python3 "$CL/raw.py" $A 25 "$B/run/$name.script"; }

only=${1:-all}
want() { [ "$only" = all ] || [[ " $only " == *" $1 "* ]]; }

want a && one osd-pipelining-rcpts swaks --server $A --pipeline --from sender@client.test --to alice@mx.test,nosuch@mx.test,bob@mx.test --h-Subject pipelining-test
want b && one osd-relay-refused swaks --server $A --from sender@client.test --to victim@elsewhere.test
want c && raw osd-size-nosize <<'EOS'
R
S EHLO client.test\r\n
R
S MAIL FROM:<sender@client.test>\r\n
R
S RCPT TO:<alice@mx.test>\r\n
R
S DATA\r\n
R
S Subject: big\r\n\r\n
B 30000
S \r\n.\r\n
R
S QUIT\r\n
R
EOS
want d && raw osd-size-declared <<'EOS'
R
S EHLO client.test\r\n
R
S MAIL FROM:<sender@client.test> SIZE=30000\r\n
R
S QUIT\r\n
R
EOS
want e && raw osd-size-lie <<'EOS'
R
S EHLO client.test\r\n
R
S MAIL FROM:<sender@client.test> SIZE=1000\r\n
R
S RCPT TO:<alice@mx.test>\r\n
R
S DATA\r\n
R
S Subject: big\r\n\r\n
B 30000
S \r\n.\r\n
R
S QUIT\r\n
R
EOS
want f && raw osd-data-abort <<'EOS'
R
S EHLO client.test\r\n
R
S MAIL FROM:<sender@client.test>\r\n
R
S RCPT TO:<alice@mx.test>\r\n
R
S DATA\r\n
R
S Subject: cut\r\n\r\n
B 800
W 1
C
EOS
want g && raw osd-errors <<'EOS'
R
S EHLO client.test\r\n
R
S FOO\r\n
R
S BAR baz\r\n
R
S RCPT TO:<alice@mx.test>\r\n
R
S XYZZY\r\n
R
S FROB\r\n
R
S HELO\r\n
R
S MAIL FROM:bad\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
EOS
want h && one osd-starttls-swaks swaks --server $A --tls --from sender@client.test --to alice@mx.test --h-Subject tls-test
want i && raw osd-starttls-plaintext <<'EOS'
T 20
R
S EHLO client.test\r\n
R
S STARTTLS\r\n
R
S MAIL FROM:<sender@client.test>\r\n
R
R
EOS
want j && raw osd-bare-lf <<'EOS'
T 15
R
S EHLO client.test\r\n
R
S MAIL FROM:<sender@client.test>\r\n
R
S RCPT TO:<alice@mx.test>\r\n
R
S DATA\r\n
R
S Subject: bare lf\r\n\r\nline one\r\nlast line ends in bare LF\n.\r\n
R
S \r\n.\r\n
R
S QUIT\r\n
R
EOS
want k && raw osd-binary-data <<'EOS'
R
S EHLO client.test\r\n
R
S MAIL FROM:<sender@client.test> BODY=8BITMIME\r\n
R
S RCPT TO:<alice@mx.test>\r\n
R
S DATA\r\n
R
S Subject: binary\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\x02\xff\xfe\r\x80\x81\nabc\x00def\r\n
S \r\n.\r\n
R
S QUIT\r\n
R
EOS
want l && raw osd-bdat <<'EOS'
T 15
R
S EHLO client.test\r\n
R
S MAIL FROM:<sender@client.test>\r\n
R
S RCPT TO:<alice@mx.test>\r\n
R
S BDAT 22 LAST\r\nSubject: bdat\r\n\r\nhi\r\n
R
R
S QUIT\r\n
R
EOS
want m && raw osd-pipelined-raw <<'EOS'
R
S EHLO client.test\r\n
R
S MAIL FROM:<sender@client.test>\r\nRCPT TO:<alice@mx.test>\r\nRCPT TO:<bob@mx.test>\r\nDATA\r\n
R
R
R
R
EOS
want n && raw osd-errors-many <<'EOS'
T 20
R
S EHLO client.test\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
S NOPE\r\n
R
EOS
want o && raw osd-bdat-ok-size <<'EOS'
T 15
R
S EHLO client.test\r\n
R
S MAIL FROM:<sender@client.test>\r\n
R
S RCPT TO:<alice@mx.test>\r\n
R
S BDAT 21 LAST\r\n
R
S Subject: bdat\r\n\r\nhi\r\n
R
S QUIT\r\n
R
EOS
want p && one osd-starttls-ecdsa swaks --server $A --tls --from sender@client.test --to alice@mx.test,nosuch@mx.test --h-Subject tls-test
want q && one osd-starttls-tls12 swaks --server $A --tls --tls-protocol tlsv1_2 --from sender@client.test --to alice@mx.test --h-Subject tls12-test
GC=$GOCLIENT
want r && one go-osd-sendmail "$GC" -addr $A:25 -mode sendmail -to alice@mx.test,bob@mx.test
want s && one go-osd-manual "$GC" -addr $A:25 -mode manual -to alice@mx.test,nosuch@mx.test,bob@mx.test
want t && one go-osd-manual-auth "$GC" -addr $A:25 -mode manual-auth
want u && one go-osd-auth-localhost "$GC" -addr $A:25 -mode auth-localhost
want v && one go-osd-starttls "$GC" -addr $A:25 -mode starttls-insecure -to alice@mx.test
want w && raw osd-smtputf8-not-offered <<'EOS'
R
S EHLO client.test\r\n
R
S MAIL FROM:<j\xc3\xb6rg@client.test> SMTPUTF8\r\n
R
S MAIL FROM:<j\xc3\xb6rg@client.test>\r\n
R
S RCPT TO:<zo\xc3\xab@mx.test>\r\n
R
S RCPT TO:<alice@mx.test>\r\n
R
S DATA\r\n
R
S Subject: =?utf-8?q?x?=\r\n\r\nna\xc3\xafve 8-bit body\r\n.\r\n
R
S QUIT\r\n
R
EOS
want w1 && raw osd-latin1-address <<'EOS'
R
S EHLO client.test\r\n
R
S MAIL FROM:<j\xf6rg@client.test> SMTPUTF8\r\n
R
S MAIL FROM:<j\xf6rg@client.test>\r\n
R
S RCPT TO:<zo\xeb@mx.test>\r\n
R
S RCPT TO:<alice@mx.test>\r\n
R
S DATA\r\n
R
S Subject: =?utf-8?q?x?=\r\n\r\nna\xefve 8-bit body\r\n.\r\n
R
S QUIT\r\n
R
EOS
want x && raw osd-data-after-all-rcpts-rejected <<'EOS'
T 10
R
S EHLO client.test\r\n
R
S MAIL FROM:<sender@client.test>\r\n
R
S RCPT TO:<nosuch@mx.test>\r\n
R
S DATA\r\n
R
S Subject: blind client\r\n
R
S \r\n
R
S Hello: this line looks like a header\r\n
R
S MAIL FROM:<injected@evil.test>\r\n
R
S .\r\n
R
S QUIT\r\n
R
EOS
want y && raw osd-limits <<'EOS'
R
S EHLO client.test\r\n
R
S MAIL FROM:<sender@client.test>\r\n
R
S RCPT TO:<alice@mx.test>\r\n
R
S RCPT TO:<bob@mx.test>\r\n
R
S RCPT TO:<root@mx.test>\r\n
R
S DATA\r\n
R
S Subject: limits\r\n\r\nhello\r\n.\r\n
R
S MAIL FROM:<sender@client.test>\r\n
R
S RCPT TO:<alice@mx.test>\r\n
R
S QUIT\r\n
R
EOS
want z && raw osd-data-abort-rst <<'EOS'
R
S EHLO client.test\r\n
R
S MAIL FROM:<sender@client.test>\r\n
R
S RCPT TO:<alice@mx.test>\r\n
R
S DATA\r\n
R
S Subject: cut\r\n\r\n
B 800
W 1
X
EOS
stop_pid "$SMTPD_PID"
ns_down "$NS"
log "all done"
