#!/bin/bash
# s7: client rl1 -- router rl5 (forwarding) -- Exim rl2.
# Pass A, IPv4 fragments: rl1 has net.ipv4.ip_no_pmtu_disc=1 (TCP without DF); the router's side of the
# router-server link has MTU 576 (server side 1500, so the server still advertises MSS 1460); the router
# fragments. Capture on the server's interface v10s: s7-ipv4-fragments.pcap.
# Pass B, IPv6 Segment Routing Header (routing extension header): rl1 sends to the server via
# "encap seg6 mode inline segs fd77:9::fe" so client->server packets carry an SRH; the router is the
# segment endpoint. Capture on v10s: s7-ipv6-srh.pcap (also captured on the client side in the snaplen files).
# Snaplen: tcpdump -s 200 and -s 60 on the client's v9c for the whole run: s7-snap200.pcap, s7-snap60.pcap.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
D=$R/run/s7; rm -rf "$D"; mkdir -p "$D"
for n in 20000 30000; do head -c $n /dev/urandom | base64 > "$D/body$n.txt"; done
ns_new rl1; ns_new rl5; ns_new rl2
veth rl1 v9c rl5 v9r; veth rl5 v10r rl2 v10s
addr rl1 v9c 10.77.9.1/24; addr rl5 v9r 10.77.9.254/24; addr rl5 v10r 10.77.10.254/24; addr rl2 v10s 10.77.10.2/24
ip -n rl1 route add default via 10.77.9.254; ip -n rl2 route add default via 10.77.10.254
nx rl5 sysctl -qw net.ipv4.ip_forward=1
nx rl1 sysctl -qw net.ipv4.ip_no_pmtu_disc=1
ip -n rl5 link set v10r mtu 576
server_start "$D" rl2 "10.77.10.2" 25; E1=$EXIM_PID
cap_start rl1 "$P/s7-snap200.pcap" -s 200 -i v9c 'tcp'; S1=$CAP_PID
cap_start rl1 "$P/s7-snap60.pcap" -s 60 -i v9c 'tcp'; S2=$CAP_PID
cap_start rl2 "$P/s7-ipv4-fragments.pcap" -i v10s; C1=$CAP_PID
sw() { timeout 30 $NX rl1 swaks -n --from a@example.org "$@" >> "$D/swaks.out" 2>&1; echo "swaks rc=$?" >> "$D/swaks.out"; }
sw --server 10.77.10.2 --to user@example.test,nobody@example.test --h-Subject frag --body @"$D/body30000.txt"
timeout 30 $NX rl1 python3 $REC/bigsend.py 10.77.10.2 25 0.3 >> "$D/swaks.out" 2>&1
cap_stop $C1
# pass B
stop_pid $E1
ip -n rl5 link set v10r mtu 1500
ip -n rl1 addr add fd77:9::1/64 dev v9c nodad; ip -n rl5 addr add fd77:9::fe/64 dev v9r nodad
ip -n rl5 addr add fd77:10::fe/64 dev v10r nodad; ip -n rl2 addr add fd77:10::2/64 dev v10s nodad
ip -n rl2 -6 route add default via fd77:10::fe
nx rl2 sysctl -qw net.ipv6.conf.all.seg6_enabled=1 net.ipv6.conf.v10s.seg6_enabled=1
nx rl5 sysctl -qw net.ipv6.conf.all.forwarding=1 net.ipv6.conf.all.seg6_enabled=1 net.ipv6.conf.v9r.seg6_enabled=1
ip -n rl1 -6 route add fd77:10::/64 via fd77:9::fe encap seg6 mode inline segs fd77:9::fe dev v9c
mkdir -p "$D/b"; server_start "$D/b" rl2 "fd77:10::2" 25; E2=$EXIM_PID
cap_start rl2 "$P/s7-ipv6-srh.pcap" -i v10s; C2=$CAP_PID
sw --server fd77:10::2 -6 --to user@example.test,grey@example.test --h-Subject srh --body @"$D/body30000.txt"
timeout 30 $NX rl1 python3 $REC/bigsend.py fd77:10::2 25 0.3 >> "$D/swaks.out" 2>&1
cap_stop $C2; cap_stop $S1; cap_stop $S2
stop_pid $E2
ns_del rl1 rl2 rl5
grep rc= "$D/swaks.out"; grep -v privilege "$D/log/mainlog" "$D/b/log/mainlog" | cut -c1-160
