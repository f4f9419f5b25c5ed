#!/bin/bash
# s2: Node smtp-server 3.21.6 (ss-server.js, nodemailer's server library) as the server, namespace
# ${NSP}2, 127.0.2.1:25 (465 for implicit TLS); clients: nodemailer 10.6.1 (nm-client.js), swaks and
# the scripted raw-client.py. One server per case; each case makes pcaps/ss-CASE.pcap in $SWEEP:
#   rcpt       nodemailer, 4 recipients (nobody@ 550, full@ 452), then a message to those two only
#   data552 data451   swaks --pipeline, the server refuses after the end of data
#   size       SIZE 2000: SIZE=50000 refused, SIZE=500 and a 4 kB body accepted
#   sizerej    the same with rejectOversized: 552 after the end of data
#   authreq    authentication required, nodemailer without credentials
#   nostarttls STARTTLS disabled (500), the client goes on in clear text
#   hidetls    STARTTLS not offered but accepted, TLS 1.3, delivered inside TLS
#   close      the server destroys the socket during a 2 MB swaks attachment
#   timeout    socketTimeout 3 s, the client stalls in DATA
#   lmtp lmtpswaks nmlmtp   LMTP with raw-client.py, swaks and nodemailer; per-recipient replies
#   smtps smtpsfail   implicit TLS on 465, nodemailer not checking / checking the certificate
#   nmsize     SIZE 2000 with rejectOversized, nodemailer sends 6 kB without SIZE=
#   noauth authbad authok   nodemailer with credentials: AUTH not offered, wrong password, right one
#   shutdown   the server stopped (SIGTERM, srv.close()) while nodemailer's pool idles between messages
# Usage: s2-smtp-server.sh [CASE...]   (default: all of them)
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
NS=${NSP}2 A=127.0.2.1
setup "$NS" "$A"; certs
SRV=''; CL=''
trap 'cap_kill_all; [[ -n $CL ]] && stop_pid "$CL"; [[ -n $SRV ]] && stop_pid "$SRV"; ns_cleanup' EXIT
# srv_start NAME SERVERCASE PORT: ss-server.js in the namespace (nsenter execs node: $! is node's
# PID), its log pcaps/NAME.log; wait (max 5 s) until it says LISTENING
srv_start() {
  nsenter --net="/run/netns/$NS" node "$S/ss-server.js" "$2" "$A" "$3" > "$P/$1.log" 2>&1 & SRV=$!
  for _ in $(seq 50); do grep -q LISTENING "$P/$1.log" && break; sleep 0.1; done
}
one() { # NAME SERVERCASE CLIENTCMD...
  local name=$1 sc=$2; shift 2
  srv_start "$name" "$sc" "${SPORT:-25}"
  rec_start "$NS" "$name" "$A"
  timeout 40 nsenter --net="/run/netns/$NS" "$@" > "$P/$name.client.log" 2>&1
  sleep 0.5
  rec_stop "$NS" "$A" "$name"
  stop_pid "$SRV"; SRV=
  { echo "---- client"; cat "$P/$name.client.log"; } >> "$P/$name.log"
}
SW=(swaks --server "$A" --port 25 --helo client.example.org --from alice@example.org)
cases=${*:-rcpt data552 data451 size sizerej authreq nostarttls hidetls close timeout lmtp lmtpswaks nmlmtp smtps smtpsfail nmsize noauth authbad authok shutdown}
for c in $cases; do
  case $c in
  rcpt) one ss-rcpt rcpt node "$S/nm-client.js" ssrcpt "$A" 25 ;;
  data552|data451) one "ss-$c" "$c" "${SW[@]}" --to bob@example.test --pipeline ;;
  size) one ss-size size python3 "$S/raw-client.py" size "$A" 25 ;;
  sizerej) one ss-sizerej sizerej python3 "$S/raw-client.py" size "$A" 25 ;;
  authreq) one ss-authreq authreq node "$S/nm-client.js" plain "$A" 25 ;;
  nostarttls) one ss-nostarttls nostarttls python3 "$S/raw-client.py" nostarttls "$A" 25 ;;
  hidetls) one ss-hidetls hidetls python3 "$S/raw-client.py" hidetls "$A" 25 ;;
  close) one ss-close close "${SW[@]}" --to bob@example.test --attach-type application/octet-stream --attach "@$W/big.bin" ;;
  timeout) one ss-timeout timeout python3 "$S/raw-client.py" timeout "$A" 25 ;;
  lmtp) one ss-lmtp lmtp python3 "$S/raw-client.py" lmtp "$A" 25 ;;
  lmtpswaks) one ss-lmtpswaks lmtp "${SW[@]}" --protocol LMTP --to bob@example.test,nobody@example.test,quota@example.test,later@example.test ;;
  nmlmtp) one ss-nmlmtp lmtp node "$S/nm-client.js" lmtp "$A" 25 ;;
  smtps) SPORT=465 one ss-smtps smtps node "$S/nm-client.js" smtps "$A" 465 ;;
  smtpsfail) SPORT=465 one ss-smtpsfail smtps node "$S/nm-client.js" smtpsfail "$A" 465 ;;
  nmsize) one ss-nmsize sizerej node "$S/nm-client.js" sizenm "$A" 25 ;;
  noauth) one ss-noauth noauth node "$S/nm-client.js" authnm "$A" 25 ;;
  authbad) one ss-authbad auth node "$S/nm-client.js" authbad "$A" 25 ;;
  authok) one ss-authok auth node "$S/nm-client.js" authnm "$A" 25 ;;
  shutdown) # the server stopped (SIGTERM -> srv.close(), exit 1.5 s later) while a pooled client idles
    name=ss-shutdown
    srv_start "$name" rcpt 25
    rec_start "$NS" "$name" "$A"
    timeout 40 nsenter --net="/run/netns/$NS" node "$S/nm-client.js" poolwait "$A" 25 > "$P/$name.client.log" 2>&1 & CL=$!
    sleep 2; stop_pid "$SRV"; SRV=
    for _ in $(seq 200); do kill -0 "$CL" 2>/dev/null || break; sleep 0.1; done
    stop_pid "$CL"; CL=
    rec_stop "$NS" "$A" "$name"
    { echo "---- client"; cat "$P/$name.client.log"; } >> "$P/$name.log" ;;
  *) echo "unknown case $c" >&2 ;;
  esac
done
