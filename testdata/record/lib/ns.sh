# shellcheck shell=bash
# ns.sh: a network namespace with a loopback fit for recording, its addresses, and stopping a
# process we started, by its PID. Sourced by testdata/record/exim-sweep/lib.sh,
# testdata/record/exim-sweep2/lib.sh, testdata/record/clients-sweep/lib.sh and
# testdata/record/core-sweep/setup.sh. Every wait bounded; nothing here looks processes up by name.

# ns_exists NS: namespace NS is there already.
ns_exists() { ip netns list | grep -qw "$1"; }

# ns_loopback_up NS: add namespace NS and bring its loopback up as the captures want it: MTU 1500
# (so segments are the size a real link gives) and TSO/GSO/GRO off (so tcpdump sees the segments
# that were sent, not one merged super-segment).
ns_loopback_up() {
  ip netns add "$1"
  nsenter --net="/run/netns/$1" ip link set lo up
  nsenter --net="/run/netns/$1" ip link set lo mtu 1500
  nsenter --net="/run/netns/$1" ethtool -K lo tso off gso off gro off >/dev/null 2>&1
}

# ns_add_addr NS ADDR: ADDR (IPv4 as /32, IPv6 as /128 without duplicate address detection, so it
# is usable at once) on NS's loopback; an address already there is no error.
ns_add_addr() {
  case $2 in
  *:*) nsenter --net="/run/netns/$1" ip -6 addr add "$2/128" dev lo nodad 2>/dev/null || true ;;
  *) nsenter --net="/run/netns/$1" ip addr add "$2/32" dev lo 2>/dev/null || true ;;
  esac
}

# ns_ready NS ADDR...: namespace NS as ns_loopback_up makes it (if it is not there yet), with
# each ADDR on its loopback (ns_add_addr).
ns_ready() {
  local ns=$1 a; shift
  ns_exists "$ns" || ns_loopback_up "$ns"
  for a in "$@"; do ns_add_addr "$ns" "$a"; done
}

# ns_wait_closed NS ADDR: wait (max 30 s) until no connection in NS, but those in TIME-WAIT, has
# ADDR as an end, so a capture stopped next holds every FIN and RST.
ns_wait_closed() {
  for _ in $(seq 1 300); do
    [[ -z $(nsenter --net="/run/netns/$1" ss -Htn state connected | grep -v TIME-WAIT | grep -F "$2") ]] && return 0
    sleep 0.1
  done
}

# stop_pid PID: SIGTERM a process we started, wait (max 5 s) for it to end, SIGKILL it if it has
# not, and reap it.
stop_pid() {
  local p=$1
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null || true
}
