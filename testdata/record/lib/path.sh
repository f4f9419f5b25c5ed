# shellcheck shell=bash
# path.sh: the routed path of testdata/record/fragments and testdata/record/pmtu, sourced by their
# record.sh: four network namespaces joined by veth pairs, the link between the two routers with a
# small MTU.
#
#   ${P}c  c0 10.7.1.2/24 mtu 1500 --- r1a 10.7.1.1/24 mtu 1500   ${P}r1
#   ${P}r1 r1b 10.7.2.1/24 mtu SMALL --- r2a 10.7.2.2/24 mtu SMALL ${P}r2
#   ${P}r2 r2b 10.7.3.1/24 mtu 1500 --- s0 10.7.3.2/24 mtu 1500   ${P}s
#
# Offloads (TSO/GSO/GRO, checksums) off on every veth, so the captures show the segments and
# fragments that really crossed the links; forwarding on in both routers, nothing else (no
# conntrack, so R2 forwards fragments as they are). The caller adds what is its own scenario
# (client sysctls, a filter on a router) after path_up. Every function is bounded; path_down
# deletes only the namespaces path_names named, and path_refuse_existing makes sure those are ours.

CLI=10.7.1.2   # the client, in ${P}c
SRV=10.7.3.2   # the server, in ${P}s

# nsx NS CMD...: run CMD in namespace NS (nsenter execs it, so a backgrounded nsx is not the
# process: background nsenter itself when the PID matters).
nsx() { local n=$1; shift; nsenter --net="/run/netns/$n" "$@"; }

# path_names PREFIX: the namespaces PREFIXc, PREFIXr1, PREFIXr2, PREFIXs (NS_C NS_R1 NS_R2 NS_S;
# NSS: all four).
path_names() {
  NS_C=${1}c; NS_R1=${1}r1; NS_R2=${1}r2; NS_S=${1}s
  NSS="$NS_C $NS_R1 $NS_R2 $NS_S"
}

# path_refuse_existing: fail if any of the namespaces exists already (not ours: not to be touched).
path_refuse_existing() {
  local n
  for n in $NSS; do
    if ip netns list | grep -qw "$n"; then echo "namespace $n exists already; not touching it" >&2; return 1; fi
  done
}

# path_up SMALL_MTU: the namespaces, links, addresses, the MTU of the R1 - R2 link, routes and
# forwarding.
path_up() {
  local small=$1 n d
  for n in $NSS; do ip netns add "$n"; nsx "$n" ip link set lo up; done
  ip link add c0 netns "$NS_C" type veth peer name r1a netns "$NS_R1"
  ip link add r1b netns "$NS_R1" type veth peer name r2a netns "$NS_R2"
  ip link add r2b netns "$NS_R2" type veth peer name s0 netns "$NS_S"
  nsx "$NS_C"  ip addr add 10.7.1.2/24 dev c0
  nsx "$NS_R1" ip addr add 10.7.1.1/24 dev r1a
  nsx "$NS_R1" ip addr add 10.7.2.1/24 dev r1b
  nsx "$NS_R2" ip addr add 10.7.2.2/24 dev r2a
  nsx "$NS_R2" ip addr add 10.7.3.1/24 dev r2b
  nsx "$NS_S"  ip addr add 10.7.3.2/24 dev s0
  nsx "$NS_R1" ip link set r1b mtu "$small"
  nsx "$NS_R2" ip link set r2a mtu "$small"
  for d in "$NS_C:c0" "$NS_R1:r1a" "$NS_R1:r1b" "$NS_R2:r2a" "$NS_R2:r2b" "$NS_S:s0"; do
    nsx "${d%%:*}" ethtool -K "${d#*:}" tso off gso off gro off tx off rx off >/dev/null 2>&1
    nsx "${d%%:*}" ip link set "${d#*:}" up
  done
  nsx "$NS_C"  ip route add default via 10.7.1.1
  nsx "$NS_R1" ip route add 10.7.3.0/24 via 10.7.2.2
  nsx "$NS_R2" ip route add 10.7.1.0/24 via 10.7.2.1
  nsx "$NS_S"  ip route add default via 10.7.3.1
  nsx "$NS_R1" sysctl -qw net.ipv4.ip_forward=1
  nsx "$NS_R2" sysctl -qw net.ipv4.ip_forward=1
}

# path_reach: the client reaches the server through both routers: read the SMTP banner on SRV:25
# once (before any capture starts); at most 20 tries of 3 s.
path_reach() {
  for _ in $(seq 1 20); do
    nsx "$NS_C" timeout 3 bash -c "exec 3<>/dev/tcp/$SRV/25 && head -1 <&3 && printf 'QUIT\r\n' >&3" 2>/dev/null \
      | grep -q '^220 ' && return 0
    sleep 0.5
  done
  echo "C cannot reach S:25" >&2; return 1
}

# path_down: delete the four namespaces (their veths go with them).
path_down() { local n; for n in $NSS; do ip netns del "$n" 2>/dev/null; done; }
