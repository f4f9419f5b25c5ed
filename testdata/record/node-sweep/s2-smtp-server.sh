#!/bin/bash
# s2: Node smtp-server (nodemailer's server library) as server, namespace nd2 (127.0.2.1:25)
. /tmp/sw-node/scripts/lib.sh
NS=nd2 A=127.0.2.1
setup $NS $A; certs
SRV=
trap 'cap_kill_all; [[ -n $SRV ]] && stop_pid $SRV' EXIT
one() { # NAME SERVERCASE CLIENTCMD...
  local name=$1 sc=$2; shift 2
  nsenter --net=/run/netns/$NS node $S/ss-server.js $sc $A ${SPORT:-25} > $P/$name.log 2>&1 & SRV=$!
  for _ in $(seq 50); do grep -q LISTENING $P/$name.log && break; sleep 0.1; done
  rec_start $NS $name $A
  timeout 40 nsenter --net=/run/netns/$NS "$@" > $P/$name.client.log 2>&1
  sleep 0.5
  rec_stop $NS $A $name
  stop_pid $SRV; SRV=
  { echo "---- client"; cat $P/$name.client.log; } >> $P/$name.log
}
SW="swaks --server $A --port 25 --helo client.example.org --from alice@example.org"
cases=${*:-rcpt data552 data451 size authreq nostarttls hidetls close timeout lmtp}
for c in $cases; do
  case $c in
  rcpt) one ss-rcpt rcpt node $S/nm-client.js ssrcpt $A 25 ;;
  data552|data451) one ss-$c $c $SW --to bob@example.test --pipeline ;;
  size) one ss-size size python3 $S/raw-client.py size $A 25 ;;
  sizerej) one ss-sizerej sizerej python3 $S/raw-client.py size $A 25 ;;
  authreq) one ss-authreq authreq node $S/nm-client.js plain $A 25 ;;
  nostarttls) one ss-nostarttls nostarttls python3 $S/raw-client.py nostarttls $A 25 ;;
  hidetls) one ss-hidetls hidetls python3 $S/raw-client.py hidetls $A 25 ;;
  close) one ss-close close $SW --to bob@example.test --attach-type application/octet-stream --attach @$W/big.bin ;;
  timeout) one ss-timeout timeout python3 $S/raw-client.py timeout $A 25 ;;
  lmtp) one ss-lmtp lmtp python3 $S/raw-client.py lmtp $A 25 ;;
  lmtpswaks) one ss-lmtpswaks lmtp $SW --protocol LMTP --to bob@example.test,nobody@example.test,quota@example.test,later@example.test ;;
  nmlmtp) one ss-nmlmtp lmtp node $S/nm-client.js lmtp $A 25 ;;
  smtps) SPORT=465 one ss-smtps smtps node $S/nm-client.js smtps $A 465 ;;
  smtpsfail) SPORT=465 one ss-smtpsfail smtps node $S/nm-client.js smtpsfail $A 465 ;;
  nmsize) one ss-nmsize sizerej node $S/nm-client.js sizenm $A 25 ;;
  noauth) one ss-noauth noauth node $S/nm-client.js authnm $A 25 ;;
  authbad) one ss-authbad auth node $S/nm-client.js authbad $A 25 ;;
  authok) one ss-authok auth node $S/nm-client.js authnm $A 25 ;;
  shutdown) # server stopped (SIGTERM -> srv.close()) while a pooled client idles
    name=ss-shutdown
    nsenter --net=/run/netns/$NS node $S/ss-server.js rcpt $A 25 > $P/$name.log 2>&1 & SRV=$!
    for _ in $(seq 50); do grep -q LISTENING $P/$name.log && break; sleep 0.1; done
    rec_start $NS $name $A
    timeout 40 nsenter --net=/run/netns/$NS node $S/nm-client.js poolwait $A 25 > $P/$name.client.log 2>&1 & CL=$!
    sleep 2; stop_pid $SRV; SRV=
    for _ in $(seq 200); do kill -0 $CL 2>/dev/null || break; sleep 0.1; done; wait $CL
    rec_stop $NS $A $name
    { echo "---- client"; cat $P/$name.client.log; } >> $P/$name.log ;;
  esac
done
