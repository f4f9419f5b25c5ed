# shellcheck shell=bash
# lib.sh for /tmp/sw-more recordings: namespaces mo1..mo9, chroot /tmp/sw-more/root, tcpdump by PID.
set -u
TOP=/tmp/sw-more
ROOT=$TOP/root
PC=$TOP/pcaps
W=$TOP/work
# The scripts of this sweep are here; the clients it shares with the older
# recordings (barelf_client.py, and rawsmtp.py it imports) one level up.
SC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REC=$(dirname "$SC")
mkdir -p "$PC" "$W"

ns_up() {
  ip netns list | grep -qw "$1" || ip netns add "$1"
  ip netns exec "$1" ip link set lo up
  ip netns exec "$1" ip link set lo mtu 1500
  ip netns exec "$1" ethtool -K lo tso off gso off gro off >/dev/null 2>&1
  local a; for a in "${@:2}"; do ip netns exec "$1" ip addr add "$a/32" dev lo 2>/dev/null || true; done
}
# in_ns NS CMD...: run in namespace (nsenter execs, so $! is the process itself)
in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }
# in_root NS CMD...: run in namespace and chroot (foreground only: in the background $! would be a subshell, not the daemon)
in_root() { local ns=$1; shift; nsenter --net="/run/netns/$ns" chroot "$ROOT" "$@"; }

proc_mount() { mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"; }

wait_listen() { # NS ADDR PORT
  for _ in $(seq 1 100); do
    in_ns "$1" ss -Hltn "sport = :$3" | grep -qF "$2" && return 0; sleep 0.1; done
  echo "nothing listening on $2:$3" >&2; return 1
}
wait_closed() { # NS ADDR
  for _ in $(seq 1 300); do
    [[ -z $(in_ns "$1" ss -Htn state connected | grep -v TIME-WAIT | grep -F "$2") ]] && return 0; sleep 0.1; done
}
stop_pid() {
  local p=$1; kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null || true
}
CAP_PID=""
cap_start() { # NS PCAP FILTER
  rm -f "$2"
  nsenter --net="/run/netns/$1" tcpdump -Z root -i lo --immediate-mode -U -w "$2" "$3" 2>"$2.err" &
  CAP_PID=$!
  for _ in $(seq 1 100); do grep -qs "listening on" "$2.err" && break; sleep 0.1; done
}
cap_stop() { stop_pid "$1"; tail -1 "$2.err" >&2; }

# analyse NAME: run smtpcap on the capture, results to $TOP/out/NAME.*
analyse() {
  local n=$1 f=$PC/$1.pcap o=$TOP/out/$1; mkdir -p "$TOP/out"
  "$TOP/smtpcap" analyze "$f" >"$o.analyze.txt" 2>&1; echo "rc=$?" >>"$o.analyze.txt"
  "$TOP/smtpcap" analyze --format json "$f" >"$o.analyze.json" 2>&1
  "$TOP/smtpcap" streams "$f" >"$o.streams.txt" 2>&1; echo "rc=$?" >>"$o.streams.txt"
  : >"$o.follow.txt"
  local s; for s in $(tshark -r "$f" -T fields -e tcp.stream 2>/dev/null | sort -nu); do
    echo "=== stream $s" >>"$o.follow.txt"; "$TOP/smtpcap" follow --stream "$s" "$f" >>"$o.follow.txt" 2>&1; echo "rc=$?" >>"$o.follow.txt"; done
  rm -rf "$o.split"; "$TOP/smtpcap" split -o "$o.split" "$f" >"$o.split.txt" 2>&1; echo "rc=$?" >>"$o.split.txt"
  tshark -r "$f" -T fields -e frame.number -e tcp.stream -e tcp.len -e tcp.flags.str -e smtp.req.command -e smtp.response.code >"$o.tshark.txt" 2>&1
}
