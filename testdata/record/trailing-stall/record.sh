#!/bin/bash
# record.sh [OUTDIR]: record cut-while-waiting.pcap and idle-after-delivery.pcap (see README.md) into
# OUTDIR (default testdata/pcaps/trailing-stall). Run as root. Uses its own network namespace
# `trailing-stall` (refuses to run if it exists; deletes it at exit) and a fresh work directory
# (mktemp; removed at exit unless TRAILING_KEEP=1). Sources ../lib/ns.sh, ../lib/exim.sh and
# ../lib/capture.sh. Every wait and loop bounded; only processes started here are stopped, by PID.
set -u
NS=trailing-stall
REC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIB=$REC/../lib
# shellcheck source=../lib/ns.sh
source "$LIB/ns.sh"
# shellcheck source=../lib/exim.sh
source "$LIB/exim.sh"
# shellcheck source=../lib/capture.sh
source "$LIB/capture.sh"
OUT=${1:-$REC/../../pcaps/trailing-stall}
SRV=127.0.0.9   # Exim server
A=127.0.1.1     # cut-while-waiting: the client whose end of data is "%%EOF\n.\r\n"
C=127.0.1.3     # cut-while-waiting: EHLO, then silent
B=127.0.1.2     # idle-after-delivery: delivers, then silent
D=127.0.1.4     # idle-after-delivery: delivers, QUIT, 221, socket left open
SW=127.0.1.5    # swaks, three ordinary deliveries in both captures
HOLD=120        # the most any idle client holds its connection (it is stopped well before)

[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
if ns_exists "$NS"; then echo "namespace $NS exists already; not touching it" >&2; exit 1; fi
for t in exim swaks tcpdump tshark ethtool python3; do
  command -v $t >/dev/null || { echo "$t missing (apt-get install -y exim4-daemon-light swaks ethtool)" >&2; exit 1; }
done
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
W=$(mktemp -d /tmp/trailing-stall.XXXXXX); chmod 755 "$W"
nsx() { nsenter --net="/run/netns/$NS" "$@"; }
log() { echo "== $*" >&2; }

STARTED=()   # PIDs of the Exim daemon and the idle clients started here
cleanup() {
  local p
  for p in "${STARTED[@]}"; do stop_pid "$p"; done
  cap_kill_all
  ip netns del "$NS" 2>/dev/null
  if [[ ${TRAILING_KEEP:-0} == 1 ]]; then echo "work directory kept: $W" >&2; else rm -rf "$W"; fi
}
ns_loopback_up "$NS"
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

for a in $SRV $A $B $C $D $SW; do ns_add_addr "$NS" "$a"; done
nsx ip -d link show lo | head -2 >&2
nsx ethtool -k lo | grep -E '^(tcp-segmentation|generic-segmentation|generic-receive)-offload' >&2

# The server: strict about <CRLF>.<CRLF> (Exim 4.96 as Debian ships it), no TLS offered, and a
# long smtp_receive_timeout (10 min; Exim's one timeout for a silent client, in commands and in
# DATA alike), so it waits through the whole capture.
SD=$W/srv; exim_workdir "$SD"
printf 'tls_advertise_hosts =\nsmtp_receive_timeout = 10m\n' >"$W/srv-main.conf"
exim_conf_server "$SD" $SRV "$W/srv-main.conf" /dev/null /dev/null >"$SD/exim.conf"
exim_check_conf "$SD/exim.conf" || exit 1
exim_daemon_start "$NS" "$SD/exim.conf" $SRV 25 -oX 25
STARTED+=("$EXIM_PID")
[[ $(cat "/proc/$EXIM_PID/comm" 2>/dev/null) == exim ]] || exit 1

# client MODE ADDR LOG: idle_client.py in the background; its PID in CLIENT_PID (and STARTED).
client() {
  nsenter --net="/run/netns/$NS" python3 "$REC/idle_client.py" "$1" $SRV "$2" $HOLD >"$3" 2>&1 &
  CLIENT_PID=$!; STARTED+=("$CLIENT_PID")
}
# wait_mark LOG WHAT PID: wait (max 30 s) for LOG's "MARK <epoch> WHAT" line; print the epoch.
wait_mark() {
  local m
  for _ in $(seq 1 300); do
    m=$(awk -v w="$2" '$2 == "MARK" && $4 == w { print $3; exit }' "$1")
    [[ -n $m ]] && { echo "$m"; return 0; }
    kill -0 "$3" 2>/dev/null || break
    sleep 0.1
  done
  echo "no '$2' mark in $1:" >&2; cat "$1" >&2; return 1
}
# at T0 OFFSET: sleep until OFFSET seconds after epoch T0 (at most OFFSET seconds).
at() {
  local s; s=$(awk -v t0="$1" -v o="$2" -v now="$(date +%s.%N)" 'BEGIN { d = t0 + o - now; if (d > o) d = o; if (d < 0) d = 0; printf("%.3f", d) }')
  sleep "$s"
}
# swaks_one N NAME: one ordinary delivery from SW, QUIT and all (20 s at most).
swaks_one() {
  log "$2: swaks $1"
  timeout 20 nsenter --net="/run/netns/$NS" swaks --server $SRV --port 25 --local-interface $SW \
    --helo swaks.example.org --from "routine$1@example.org" --to user@example.test \
    --header "Subject: routine delivery $1" --header "Message-Id: <$2-routine-$1@example.org>" \
    --body "routine delivery $1 while another client waits" >"$W/$2.swaks$1.log" 2>&1
  local rc=$?; [[ $rc == 0 ]] || { log "swaks $1 exit $rc"; cat "$W/$2.swaks$1.log" >&2; }
}
# connected ADDR: the namespace's connections (but TIME-WAIT) with ADDR at one end.
connected() { nsx ss -Htn state connected | grep -v TIME-WAIT | grep -F "$1:"; }

# record NAME FIRST_MODE FIRST_ADDR FIRST_MARK SECOND_MODE SECOND_ADDR SECOND_MARK: one capture.
# The first client's mark is T0; the second client starts at T0+3 s and the record waits for its
# mark; swaks delivers at T0+5, +15 and +28 s; tcpdump is stopped at T0+32 s with both clients
# still connected; only then are the two clients stopped (SIGTERM: they close).
record() {
  local name=$1 m1=$2 a1=$3 k1=$4 m2=$5 a2=$6 k2=$7 p=$W/$1.pcap t0 p1 p2 ok=1
  cap_start "$NS" lo "$p" "tcp and host $SRV"
  log "$name: $m1 client from $a1"
  client "$m1" "$a1" "$W/$name.$m1.log"; p1=$CLIENT_PID
  t0=$(wait_mark "$W/$name.$m1.log" "$k1" "$p1") || { cap_stop "$CAP_PID" "$p"; CAP_PIDS=(); return 1; }
  log "$name: T0 = $t0 ($k1)"
  at "$t0" 3
  log "$name: $m2 client from $a2"
  client "$m2" "$a2" "$W/$name.$m2.log"; p2=$CLIENT_PID
  wait_mark "$W/$name.$m2.log" "$k2" "$p2" >/dev/null || ok=0
  at "$t0" 5;  swaks_one 1 "$name"
  at "$t0" 15; swaks_one 2 "$name"
  at "$t0" 28; swaks_one 3 "$name"
  ns_wait_closed "$NS" $SW
  at "$t0" 32
  log "$name: connections of $a1 and $a2 before tcpdump stops:"
  connected "$a1" >&2 || { log "$a1 not connected"; ok=0; }
  connected "$a2" >&2 || { log "$a2 not connected"; ok=0; }
  log "$name: stopping tcpdump at T0+$(awk -v t0="$t0" -v now="$(date +%s.%N)" 'BEGIN { printf "%.1f", now - t0 }') s"
  cap_stop "$CAP_PID" "$p"; CAP_PIDS=()
  stop_pid "$p1"; stop_pid "$p2"
  ns_wait_closed "$NS" "$a1"; ns_wait_closed "$NS" "$a2"
  cp "$p" "$OUT/$name.pcap"
  # A held client that heard anything from the server while holding (A: a reply to its bare-LF
  # "end") is not what the capture is for.
  grep -q '(while holding)' "$W/$name.$m1.log" "$W/$name.$m2.log" && { log "server spoke during the hold"; ok=0; }
  log "$name: $m1 client:"; cat "$W/$name.$m1.log" >&2
  log "$name: $m2 client:"; cat "$W/$name.$m2.log" >&2
  log "$name: tshark"
  tshark -r "$OUT/$name.pcap" -T fields -e frame.number -e frame.time_relative -e tcp.stream -e ip.src \
    -e tcp.srcport -e tcp.len -e tcp.flags.str -e smtp.req.command -e smtp.response.code 2>/dev/null
  [[ $ok == 1 ]] || { log "$name: NOT as intended (see above)"; return 1; }
}

rc=0
record cut-while-waiting stuck $A end-of-data ehlo $C ehlo-250 || rc=1
record idle-after-delivery cached $B data-250 quit-open $D quit-221 || rc=1
log "server mainlog"; cat "$SD/log/mainlog" >&2
ls -l "$OUT" >&2
exit $rc
