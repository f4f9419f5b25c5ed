#!/bin/bash
# s04_aiosmtpd: aiosmtpd 1.4.3 (Debian python3-aiosmtpd, clients/aiosrv.py in the chroot) as the
# server, four instances in namespace ${NSP}4: 127.0.4.1 aio-main (DATA_LIMIT=10000: SIZE 10000,
# "552 Error: Too much mail data"), 127.0.4.2 aio-timeout (TIMEOUT=12 s), 127.0.4.3 aio-auth
# (AUTH LOGIN PLAIN offered without TLS), 127.0.4.4 aio-tls (STARTTLS with the chroot's
# /etc/smtpd/mx.crt); recipients nosuch* get 550, full* 452. Clients: swaks, smtplib
# (clients/smtplib_send.py), clients/raw.py, the Go client. Argument: the letters to run (default
# all). Makes, in $SWEEP/pcaps (each with .log = that server's log lines, .client.txt):
#   a aio-swaks-rcpts   b aio-smtplib-utf8   c aio-smtplib-multi   d aio-smtplib-size
#   e aio-too-much-data f aio-long-line      g aio-timeout         h go-aio-sendmail
#   i go-aio-auth-cleartext  j go-aio-sendmail-tls-unverified  k go-aio-starttls
#   l aio-swaks-starttls     m aio-bare-lf
# Each run writes the servers' whole logs to aio-main.log, aio-timeout.log, aio-auth.log and
# aio-tls.log (so a run of "m" alone replaces the log g sliced). Run setup.sh once first (see lib.sh).
set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
NS=${NSP}4; A=127.0.4.1; T=127.0.4.2; U=127.0.4.3; S=127.0.4.4
ns_up "$NS" $A $T $U $S
chroot_prep
start_aio() { # NAME ADDR env...
  local name=$1 addr=$2; shift 2
  ip netns exec "$NS" env ADDR="$addr" "$@" chroot "$ROOT" python3 /opt/sw/aiosrv.py > "$PC/$name.log" 2>&1 &
  STARTED="$STARTED $!"; AIO_PIDS="${AIO_PIDS:-} $!"; wait_port "$NS" "$addr" 25
}
start_aio aio-main $A MODE=accept DATA_LIMIT=10000
start_aio aio-timeout $T TIMEOUT=12
start_aio aio-auth $U AUTH=1
start_aio aio-tls $S TLS=1
one() {  # NAME ADDR SRVLOGNAME CMD...  (the client bounded by timeout 90)
  local name=$1 addr=$2 srv=$3; shift 3
  local n0; n0=$(wc -l < "$PC/$srv.log")
  cap_start "$NS" "$name" "tcp and host $addr"
  ip netns exec "$NS" timeout 90 "$@" > "$PC/$name.client.txt" 2>&1
  sleep 1; cap_stop "$CAP_PID"
  [ "$srv" = "$name" ] || tail -n +$((n0+1)) "$PC/$srv.log" > "$PC/$name.log"
  analyze "$name"; log "$name done"
}
raw() { local name=$1 addr=$2; cat > "$B/run/$name.script"; one "$name" "$addr" aio-main python3 "$CL/raw.py" "$addr" 25 "$B/run/$name.script"; }
only=${1:-all}
want() { [ "$only" = all ] || [[ " $only " == *" $1 "* ]]; }

want a && one aio-swaks-rcpts $A aio-main swaks --server $A --pipeline --from s@client.test --to alice@remote.test,nosuch@remote.test,full@remote.test,bob@remote.test
want b && one aio-smtplib-utf8 $A aio-main python3 "$CL/smtplib_send.py" $A 25 utf8
want c && one aio-smtplib-multi $A aio-main python3 "$CL/smtplib_send.py" $A 25 multi
want d && one aio-smtplib-size $A aio-main python3 "$CL/smtplib_send.py" $A 25 big
want e && raw aio-too-much-data $A <<'EOS'
R
S EHLO raw.test\r\n
R
S MAIL FROM:<raw@client.test>\r\n
R
S RCPT TO:<alice@remote.test>\r\n
R
S DATA\r\n
R
S Subject: big\r\n\r\n
B 20000
S \r\n.\r\n
R
S QUIT\r\n
R
EOS
want f && raw aio-long-line $A <<'EOS'
R
S EHLO raw.test\r\n
R
S MAIL FROM:<raw@client.test>\r\n
R
S RCPT TO:<alice@remote.test>\r\n
R
S DATA\r\n
R
S Subject: long line\r\n\r\nshort line\r\n
L 1200
S \r\nafter\r\n.\r\n
R
S MAIL FROM:<raw@client.test> XX=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n
R
S QUIT\r\n
R
EOS
want g && { cat > "$B/run/aio-timeout.script" <<'EOS'
T 60
R
S EHLO raw.test\r\n
R
S MAIL FROM:<raw@client.test>\r\n
R
S RCPT TO:<alice@remote.test>\r\n
R
R
EOS
one aio-timeout $T aio-timeout python3 "$CL/raw.py" $T 25 "$B/run/aio-timeout.script"; }
GC=$GOCLIENT
want h && one go-aio-sendmail $A aio-main "$GC" -addr $A:25 -mode sendmail -to alice@remote.test,nosuch@remote.test
want i && one go-aio-auth-cleartext $U aio-auth "$GC" -addr $U:25 -mode sendmail-auth -to alice@remote.test
want j && one go-aio-sendmail-tls-unverified $S aio-tls "$GC" -addr $S:25 -mode sendmail -to alice@remote.test
want k && one go-aio-starttls $S aio-tls "$GC" -addr $S:25 -mode starttls-insecure -to alice@remote.test
want l && one aio-swaks-starttls $S aio-tls swaks --server $S --tls --from s@client.test --to alice@remote.test
want m && raw aio-bare-lf $A <<'EOS'
T 13
R
S EHLO raw.test\r\n
R
S MAIL FROM:<raw@client.test>\r\n
R
S RCPT TO:<alice@remote.test>\r\n
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
for p in $AIO_PIDS; do stop_pid "$p"; done
ns_down "$NS"
log "all done"
