# shellcheck shell=bash
# lib.sh: helpers for the real-traffic recordings, written into $SWEEP (default /tmp/sw-real). Namespaces rl1..rl9 only.
# Every wait bounded; processes known by PID only.
set -u
R=${SWEEP:-/tmp/sw-real}  # scratch: pcaps/, run/ (captures, logs) are written here
REC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)  # this folder: wire.py, bigsend.py, many.py
P=$R/pcaps
SMTPCAP=$R/smtpcap
# shellcheck source=../lib/exim.sh
source "$REC/../lib/exim.sh"

stop_pid() {
  local p=$1
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null || true
}

ns_del() { for n in "$@"; do ip netns del "$n" 2>/dev/null || true; done; }
ns_new() { ns_del "$1"; ip netns add "$1"; ip -n "$1" link set lo up; }
nx() { local n=$1; shift; ip netns exec "$n" "$@"; }
NX="ip netns exec"

# veth NS_A IF_A NS_B IF_B: a veth pair, IF_A in NS_A, IF_B in NS_B, both up.
veth() {
  ip link add "$2" type veth peer name "$4"
  ip link set "$2" netns "$1"; ip link set "$4" netns "$3"
  ip -n "$1" link set "$2" up; ip -n "$3" link set "$4" up
}
addr() { ip -n "$1" addr add "$3" dev "$2"; }

# server_start DIR NS ADDRS PORT: exim server (example.test), conf in DIR/exim.conf, log in DIR/log.
# ADDRS is a ';' list of addresses to listen on.
server_start() {
  local d=$1 ns=$2 addrs=$3 port=$4
  exim_workdir "$d"
  chmod 755 "$d"
  printf 'tls_advertise_hosts =\ndaemon_smtp_ports = %s\nmessage_size_limit = 100M\nsmtp_accept_max = 500\nsmtp_accept_queue_per_connection = 0\nsmtp_accept_max_per_host = 500\nsmtp_connect_backlog = 512\nqueue_only = false\n' "$port" > "$d/main.conf"
  exim_conf_server "$d" "$addrs" "$d/main.conf" /dev/null /dev/null > "$d/exim.conf"
  exim_check_conf "$d/exim.conf" || return 1
  exim_daemon_start "$ns" "$d/exim.conf" "${addrs%%;*}" "$port"
}

# cap_start NS FILE TCPDUMP_ARGS...: tcpdump in NS; sets CAP_PID. Waits for "listening".
cap_start() {
  local ns=$1 f=$2; shift 2
  ip netns exec "$ns" tcpdump --immediate-mode -U ${CAP_BUF:--B 65536} -w "$f" "$@" >/dev/null 2>"$f.tcpdump.err" </dev/null &
  CAP_PID=$!
  for _ in $(seq 1 50); do grep -q listening "$f.tcpdump.err" 2>/dev/null && break; sleep 0.1; done
}
cap_stop() { sleep 1; stop_pid "$1"; }

# check FILE: oracle and smtpcap outputs next to FILE (FILE.check/*)
check() {
  local f=$1 c="$1.check"
  rm -rf "$c" 2>/dev/null; mkdir -p "$c"
  tshark -r "$f" -T fields -e frame.number -e tcp.stream -e tcp.len -e tcp.flags.str -e smtp.req.command -e smtp.response.code > "$c/tshark-fields.txt" 2>"$c/tshark-fields.err"
  tshark -r "$f" -q -z conv,tcp > "$c/tshark-conv.txt" 2>&1
  tshark -r "$f" -q -z expert > "$c/tshark-expert.txt" 2>&1
  timeout 120 "$SMTPCAP" analyze "$f" > "$c/analyze.txt" 2>&1; echo "rc=$?" >> "$c/analyze.txt"
  timeout 120 "$SMTPCAP" analyze --format json "$f" > "$c/analyze.json" 2>"$c/analyze.json.err"; echo "rc=$?" >> "$c/analyze.json.err"
  timeout 120 "$SMTPCAP" streams "$f" > "$c/streams.txt" 2>&1; echo "rc=$?" >> "$c/streams.txt"
  timeout 120 "$SMTPCAP" streams --format json "$f" > "$c/streams.json" 2>"$c/streams.json.err"
  timeout 120 "$SMTPCAP" split -o "$c/split" "$f" > "$c/split.txt" 2>&1; echo "rc=$?" >> "$c/split.txt"
  for s in "$c"/split/*; do [ -f "$s" ] && echo "$(basename "$s") $(capinfos -c -M "$s" 2>/dev/null | awk '/Number of packets/{print $NF}')"; done > "$c/split-counts.txt"
  timeout 60 "$SMTPCAP" follow --stream 0 "$f" > "$c/follow0.txt" 2>&1; echo "rc=$?" >> "$c/follow0.txt"
}

# wire_topo CLIENT_NS WIRE1_NS WIRE2_NS SERVER_NS N: client --vNc/vNw1-- W1 ==vNt1/vNt2== W2 --vNw2/vNs-- server.
# Real offloads stay on vNt1/vNt2 (the "trunk"); client/server links get MTU 1500 and no TSO/GSO/GRO
# so frames fit the userspace wire. Addresses: client 10.77.N.1 fd77:N::1, server 10.77.N.2 fd77:N::2.
wire_topo() {
  local c=$1 w1=$2 w2=$3 s=$4 N=$5
  for ns in $c $w1 $w2 $s; do ns_new $ns; done
  veth $c v${N}c $w1 v${N}w1; veth $w1 v${N}t1 $w2 v${N}t2; veth $w2 v${N}w2 $s v${N}s
  for x in "$c v${N}c" "$w1 v${N}w1" "$w2 v${N}w2" "$s v${N}s" "$w1 v${N}t1" "$w2 v${N}t2"; do
    set -- $x; ip netns exec $1 ethtool -K $2 tso off gso off gro off tx off >/dev/null 2>&1
  done
  addr $c v${N}c 10.77.$N.1/24; addr $s v${N}s 10.77.$N.2/24
  ip -n $c addr add fd77:$N::1/64 dev v${N}c nodad; ip -n $s addr add fd77:$N::2/64 dev v${N}s nodad
}
# wire_start NS_A IF_A NS_B IF_B ARGS...: sets WIRE_PID; output in $D/wire-IF_A.out
wire_start() {
  python3 $REC/wire.py "$@" > "$D/wire-$2.out" 2>&1 &
  WIRE_PID=$!; sleep 0.5
}
