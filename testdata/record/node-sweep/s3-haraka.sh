#!/bin/bash
# s3/s4: Haraka 3 as server (127.0.3.1:25, namespace nd3) forwarding with queue/smtp_forward to
# Exim 4.96 (127.0.3.2:25). Captures hold both legs (tcp port 25).
. /tmp/sw-node/scripts/lib.sh
NS=nd3 A=127.0.3.1 X=127.0.3.2 H=$W/haraka D=$W/exim-s3
setup $NS $A; ns_add_addr $NS $X; ns_add_addr $NS 11.0.0.5
HPID=
trap 'cap_kill_all; [[ -n $HPID ]] && stop_pid $HPID; [[ -n ${EXIM_PID:-} ]] && stop_pid $EXIM_PID' EXIT
rm -rf $H; (cd $W && node_modules/.bin/haraka -i $H >/dev/null)
C=$H/config
printf '[main]\nlisten=%s:25\n[max]\nbytes=20000\n' $A > $C/smtp.ini
sed -i "s/^bytes=26214400/bytes=20000/" $C/connection.ini
echo mx.haraka.test > $C/me
echo example.test > $C/host_list
printf 'early_talker\nlimit\nrcpt_to.in_host_list\nheaders\nqueue/smtp_forward\n' > $C/plugins
printf '[main]\npause=3\nreject=true\n' > $C/early_talker.ini
printf '[main]\n[unrecognized_commands]\nenabled=true\nmax=3\n' > $C/limit.ini
printf 'host=%s\nport=25\nenable_tls=false\nenable_outbound=false\n' $X > $C/smtp_forward.ini
printf '[main]\nlevel=protocol\ntimestamps=true\n' > $C/log.ini
: > $D.empty
exim_start $NS $X 25 $D $D.empty /dev/null || exit 1
one() { # NAME CLIENTCMD...
  local name=$1; shift
  (cd $H && exec nsenter --net=/run/netns/$NS node $W/node_modules/.bin/haraka -c $H) > $P/$name.log 2>&1 & HPID=$!
  for _ in $(seq 100); do [[ -n $(NSX $NS ss -Hltn "sport = :25" | grep -F "$A:25") ]] && break; sleep 0.1; done
  : > $D/log/mainlog
  cap_start $NS lo $P/$name.pcap "tcp port 25"; REC_PID=$CAP_PID
  timeout 40 nsenter --net=/run/netns/$NS "$@" > $P/$name.client.log 2>&1
  sleep 1.5
  rec_stop $NS $A $name
  stop_pid $HPID; HPID=
  { echo "---- exim"; cat $D/log/mainlog $D/log/rejectlog 2>/dev/null; echo "---- client"; cat $P/$name.client.log; } >> $P/$name.log
}
SW="swaks --server $A --port 25 --helo client.example.org --from alice@example.org"
cases=${*:-deliver early unrec barelf bdat size nm}
for c in $cases; do
  case $c in
  deliver) one h-deliver $SW --to bob@example.test,nobody@example.test,grey@example.test,x@elsewhere.test --pipeline ;;
  early|unrec|barelf|bdat) one h-$c python3 $S/raw-client.py $c $A 25 ;;
  size) one h-size $SW --to bob@example.test --attach @$W/small.bin --attach-type application/octet-stream ;;
  early2|unrec2) SRC=11.0.0.5 one h-$c python3 $S/raw-client.py ${c%2} $A 25 ;;
  slowbanner) one h-slowbanner $SW --local-interface 11.0.0.5 --to bob@example.test ;;
  eximdown) exim_stop; EXIM_PID=; one h-eximdown $SW --to bob@example.test ;;
  nm) one h-nm node $S/nm-client.js hplain $A 25 ;;
  esac
done
