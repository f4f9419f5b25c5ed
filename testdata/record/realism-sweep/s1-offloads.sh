#!/bin/bash
# s1: veth with default offloads ON (TSO/GSO, tx checksum offload; GRO turned on at the receiver like a
# real NIC would have); multi-MB messages swaks -> Exim and python smtplib (one big sendall) -> Exim;
# capture on the sending side (v1a in rl1) and on the receiving side (v1b in rl2) at once.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
D=$R/run/s1; rm -rf "$D"; mkdir -p "$D"
ns_new rl1; ns_new rl2
veth rl1 v1a rl2 v1b
addr rl1 v1a 10.77.1.1/24; addr rl2 v1b 10.77.1.2/24
nx rl2 ethtool -K v1b gro on
nx rl1 ethtool -k v1a > "$D/offloads-v1a.txt"; nx rl2 ethtool -k v1b > "$D/offloads-v1b.txt"
server_start "$D" rl2 "10.77.1.2" 25
head -c 3000000 /dev/urandom | base64 -w 76 > "$D/body.txt"
cap_start rl1 "$P/s1-offload-sender.pcap" -i v1a 'tcp port 25'; C1=$CAP_PID
cap_start rl2 "$P/s1-offload-receiver.pcap" -i v1b 'tcp port 25'; C2=$CAP_PID
timeout 60 $NX rl1 swaks --server 10.77.1.2 --from a@example.org --to user@example.test --body @"$D/body.txt" --h-Subject big -n > "$D/swaks.out" 2>&1
echo "swaks rc=$?" >> "$D/swaks.out"
timeout 60 $NX rl1 python3 $REC/bigsend.py 10.77.1.2 25 6 > "$D/bigsend.out" 2>&1; echo "bigsend rc=$?" >> "$D/bigsend.out"
cap_stop $C1; cap_stop $C2
stop_pid $EXIM_PID
ns_del rl1 rl2
cat "$D/swaks.out" "$D/bigsend.out" "$D/log/mainlog"
