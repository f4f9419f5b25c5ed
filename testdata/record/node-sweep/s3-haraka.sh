#!/bin/bash
# s3: Haraka 3.3.4 as the server (127.0.3.1:25, namespace ${NSP}3; plugins early_talker (pause=3,
# reject=true), limit (3 unrecognized commands), rcpt_to.in_host_list (example.test), headers,
# queue/smtp_forward) forwarding each message to Exim 4.96 at 127.0.3.2:25 (the shared rcpt ACL:
# nobody@ 550, grey@ 451). The captures hold both legs (filter "tcp port 25"). Clients: swaks,
# raw-client.py, nodemailer (nm-client.js); 11.0.0.5 is a second source address on the loopback.
# Each case makes pcaps/h-CASE.pcap in $SWEEP:
#   deliver    swaks --pipeline, bob@ nobody@ grey@ and x@elsewhere.test
#   early early2      EHLO before the greeting (early2 from 11.0.0.5)
#   unrec unrec2      13 unknown commands (unrec2 from 11.0.0.5)
#   barelf     a body ending "\n.\n"          bdat   BDAT (not offered) with its chunk, then QUIT
#   size       swaks, a 60 kB attachment over Haraka's max bytes 20000
#   nm         nodemailer: bob@ nobody@ carol@, then grey@
#   slowbanner swaks from 11.0.0.5             eximdown  Exim stopped first (run it last)
# Haraka's log, Exim's log of the case and the client's output go to pcaps/h-CASE.log.
# Usage: s3-haraka.sh [CASE...]   (default: all of them, eximdown last)
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
NS=${NSP}3 A=127.0.3.1 X=127.0.3.2 H=$W/haraka D=$W/exim-s3
setup "$NS" "$A"; ns_add_addr "$NS" "$X"; ns_add_addr "$NS" 11.0.0.5
HPID='' HKIDS='' EXIM_PID=''
# haraka_stop: SIGTERM Haraka (the process we started, by PID), then any of its own children (its
# cluster worker) it left behind, by the PIDs read before stopping it
haraka_stop() {
  [[ -n $HPID ]] || return 0
  HKIDS=$(pgrep -P "$HPID" 2>/dev/null | tr '\n' ' ')
  stop_pid "$HPID"; HPID=''
  local k
  for k in $HKIDS; do kill -0 "$k" 2>/dev/null && { kill -TERM "$k" 2>/dev/null; sleep 1; kill -KILL "$k" 2>/dev/null; }; done
  HKIDS=''
}
trap 'cap_kill_all; haraka_stop; [[ -n $EXIM_PID ]] && stop_pid "$EXIM_PID"; ns_cleanup' EXIT
rm -rf "$H"; (cd "$W" && timeout 60 node_modules/.bin/haraka -i "$H" >/dev/null)
C=$H/config
printf '[main]\nlisten=%s:25\n[max]\nbytes=20000\n' "$A" > "$C/smtp.ini"
sed -i "s/^bytes=26214400/bytes=20000/" "$C/connection.ini"
echo mx.haraka.test > "$C/me"
echo example.test > "$C/host_list"
printf 'early_talker\nlimit\nrcpt_to.in_host_list\nheaders\nqueue/smtp_forward\n' > "$C/plugins"
printf '[main]\npause=3\nreject=true\n' > "$C/early_talker.ini"
printf '[main]\n[unrecognized_commands]\nenabled=true\nmax=3\n' > "$C/limit.ini"
printf 'host=%s\nport=25\nenable_tls=false\nenable_outbound=false\n' "$X" > "$C/smtp_forward.ini"
printf '[main]\nlevel=protocol\ntimestamps=true\n' > "$C/log.ini"
: > "$D.empty"
exim_start "$NS" "$X" 25 "$D" "$D.empty" /dev/null || exit 1
one() { # NAME CLIENTCMD...
  local name=$1; shift
  (cd "$H" && exec nsenter --net="/run/netns/$NS" node "$W/node_modules/.bin/haraka" -c "$H") > "$P/$name.log" 2>&1 & HPID=$!
  for _ in $(seq 100); do NSX "$NS" ss -Hltn "sport = :25" | grep -qF "$A:25" && break; sleep 0.1; done
  # empty the logs Exim already has (a file made here would be root's, unwritable for Exim)
  : > "$D/log/mainlog"; [[ -f $D/log/rejectlog ]] && : > "$D/log/rejectlog"
  cap_start "$NS" lo "$P/$name.pcap" "tcp port 25"; REC_PID=$CAP_PID
  timeout 40 nsenter --net="/run/netns/$NS" "$@" > "$P/$name.client.log" 2>&1
  sleep 1.5
  rec_stop "$NS" "$A" "$name"
  haraka_stop
  { echo "---- exim"; cat "$D/log/mainlog" "$D/log/rejectlog" 2>/dev/null; echo "---- client"; cat "$P/$name.client.log"; } >> "$P/$name.log"
}
SW=(swaks --server "$A" --port 25 --helo client.example.org --from alice@example.org)
cases=${*:-deliver early unrec barelf bdat size nm early2 unrec2 slowbanner eximdown}
for c in $cases; do
  case $c in
  deliver) one h-deliver "${SW[@]}" --to bob@example.test,nobody@example.test,grey@example.test,x@elsewhere.test --pipeline ;;
  early|unrec|barelf|bdat) one "h-$c" python3 "$S/raw-client.py" "$c" "$A" 25 ;;
  size) one h-size "${SW[@]}" --to bob@example.test --attach "@$W/small.bin" --attach-type application/octet-stream ;;
  early2|unrec2) SRC=11.0.0.5 one "h-$c" python3 "$S/raw-client.py" "${c%2}" "$A" 25 ;;
  slowbanner) one h-slowbanner "${SW[@]}" --local-interface 11.0.0.5 --to bob@example.test ;;
  eximdown) exim_stop; EXIM_PID=''; one h-eximdown "${SW[@]}" --to bob@example.test ;;
  nm) one h-nm node "$S/nm-client.js" hplain "$A" 25 ;;
  *) echo "unknown case $c" >&2 ;;
  esac
done
