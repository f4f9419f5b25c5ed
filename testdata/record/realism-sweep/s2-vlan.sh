#!/bin/bash
# s2: 802.1Q and QinQ. This kernel has no 8021q module, no bridge VLAN filtering and no tc actions, so the
# tags are put on by a userspace wire (scripts/wire.py, AF_PACKET) on a "trunk" veth between two wire
# namespaces: rl1 (client) -- rl3 [wire: push tags] == trunk v2t1/v2t2 == rl4 [wire: pop tags] -- rl2 (Exim).
# Pass 1: 802.1Q VLAN 100, capture on trunk v2t1 in rl3 -> s2-vlan8021q.pcap.
# Pass 2: QinQ 802.1ad outer 200 + 802.1Q inner 300 -> s2-qinq.pcap. Both passes: swaks IPv4, swaks IPv6,
# swaks IPv4 with one refused recipient (nobody@).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
D=$R/run/s2; rm -rf "$D"; mkdir -p "$D"
wire_topo rl1 rl3 rl4 rl2 2
server_start "$D" rl2 "10.77.2.2;fd77:2::2" 25
sw() { timeout 30 $NX rl1 swaks -n --from a@example.org "$@" >> "$D/swaks.out" 2>&1; echo "swaks rc=$?" >> "$D/swaks.out"; }
for pass in "vlan8021q 8100:100" "qinq 88a8:200,8100:300"; do
  set -- $pass
  echo "=== pass $1" >> "$D/swaks.out"
  wire_start rl3 v2w1 rl3 v2t1 --tag $2; W1=$WIRE_PID
  wire_start rl4 v2w2 rl4 v2t2 --tag $2; W2=$WIRE_PID
  cap_start rl3 "$P/s2-$1.pcap" -i v2t1; C1=$CAP_PID
  sw --server 10.77.2.2 --to user@example.test --h-Subject "$1-v4"
  sw --server fd77:2::2 -6 --to user@example.test --h-Subject "$1-v6"
  sw --server 10.77.2.2 --to user@example.test,nobody@example.test --h-Subject "$1-refused"
  cap_stop $C1; stop_pid $W1; stop_pid $W2
  cat "$D/wire-v2w1.out" "$D/wire-v2w2.out" >> "$D/swaks.out"
done
stop_pid $EXIM_PID
ns_del rl1 rl2 rl3 rl4
cat "$D/log/mainlog"
