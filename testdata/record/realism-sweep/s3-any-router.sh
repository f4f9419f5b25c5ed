#!/bin/bash
# s3: tcpdump -i any (SLL2) in a router namespace rl5 with IP forwarding between client rl1 (10.77.4.0/24,
# fd77:4::/64) and Exim in rl2 (10.77.5.0/24, fd77:5::/64); default veth offloads. Every packet is captured
# twice (in on v4r, out on v5r). Deliveries: swaks v4, swaks v6, swaks with refused+deferred rcpt, python
# 1 MB message. Also a second capture -i any in the client rl1 (lo + v4c) with one local loopback SMTP
# session to a tiny Exim in rl1 on 127.0.0.1:2525 -> s3-any-client.pcap.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
D=$R/run/s3; rm -rf "$D"; mkdir -p "$D/srv" "$D/lo"
ns_new rl1; ns_new rl5; ns_new rl2
veth rl1 v4c rl5 v4r; veth rl5 v5r rl2 v5s
addr rl1 v4c 10.77.4.1/24; addr rl5 v4r 10.77.4.254/24; addr rl5 v5r 10.77.5.254/24; addr rl2 v5s 10.77.5.2/24
ip -n rl1 addr add fd77:4::1/64 dev v4c nodad; ip -n rl5 addr add fd77:4::fe/64 dev v4r nodad
ip -n rl5 addr add fd77:5::fe/64 dev v5r nodad; ip -n rl2 addr add fd77:5::2/64 dev v5s nodad
ip -n rl1 route add default via 10.77.4.254; ip -n rl2 route add default via 10.77.5.254
ip -n rl1 -6 route add default via fd77:4::fe; ip -n rl2 -6 route add default via fd77:5::fe
nx rl5 sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
server_start "$D/srv" rl2 "10.77.5.2;fd77:5::2" 25; E1=$EXIM_PID
server_start "$D/lo" rl1 "127.0.0.1" 2525; E2=$EXIM_PID
cap_start rl5 "$P/s3-any-router.pcap" -i any 'tcp'; C1=$CAP_PID
cap_start rl1 "$P/s3-any-client.pcap" -i any 'tcp'; C2=$CAP_PID
sw() { timeout 30 $NX rl1 swaks -n --from a@example.org "$@" >> "$D/swaks.out" 2>&1; echo "swaks rc=$?" >> "$D/swaks.out"; }
sw --server 10.77.5.2 --to user@example.test --h-Subject any-v4
sw --server fd77:5::2 -6 --to user@example.test --h-Subject any-v6
sw --server 10.77.5.2 --to user@example.test,nobody@example.test,grey@example.test --h-Subject any-mixed
timeout 30 $NX rl1 python3 $REC/bigsend.py 10.77.5.2 25 1 >> "$D/swaks.out" 2>&1
sw --server 127.0.0.1 --port 2525 --to user@example.test --h-Subject loopback
cap_stop $C1; cap_stop $C2
stop_pid $E1; stop_pid $E2
ns_del rl1 rl2 rl5
cat "$D/srv/log/mainlog" "$D/lo/log/mainlog"
