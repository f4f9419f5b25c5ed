#!/bin/bash
# s5: lossy/impaired path. tc netem is not in this kernel (tc says "Specified qdisc kind is unknown"), so the
# impairment is done by the userspace wire (scripts/wire.py) in rl3 between client rl1 and Exim rl2:
# loss 5%, delay 50 ms, reorder 10% (held back an extra 105 ms), duplicate 2%, both directions, seed 7.
# Capture on the client side (v7c in rl1): s5-lossy-client.pcap (whole run). A second tcpdump started
# 2 s after a 2 MB python message began: s5-midstart.pcap. Then s5-cut-mid-data.pcap = editcap -r of the
# full capture cut in the middle of that DATA, and s5-count-cut.pcap = tcpdump -c 150 from the start.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
D=$R/run/s5; rm -rf "$D"; mkdir -p "$D"
for n in 20000 30000; do head -c $n /dev/urandom | base64 > "$D/body$n.txt"; done
wire_topo rl1 rl3 rl4 rl2 7
server_start "$D" rl2 "10.77.7.2;fd77:7::2" 25
wire_start rl3 v7w1 rl3 v7t1 --loss 0.05 --delay 50 --reorder 0.10 --dup 0.02 --seed 7; W1=$WIRE_PID
wire_start rl4 v7w2 rl4 v7t2; W2=$WIRE_PID
cap_start rl1 "$P/s5-lossy-client.pcap" -i v7c 'tcp'; C1=$CAP_PID
cap_start rl1 "$P/s5-count-cut.pcap" -c 150 -i v7c 'tcp'; C3=$CAP_PID
sw() { timeout 60 $NX rl1 swaks -n --from a@example.org "$@" >> "$D/swaks.out" 2>&1; echo "swaks rc=$?" >> "$D/swaks.out"; }
for i in 1 2 3; do sw --server 10.77.7.2 --to user@example.test --h-Subject "lossy-$i" --body @"$D/body20000.txt"; done
sw --server fd77:7::2 -6 --to user@example.test,nobody@example.test --h-Subject lossy-v6
timeout 90 $NX rl1 python3 $REC/bigsend.py 10.77.7.2 25 2 > "$D/bigsend.out" 2>&1 &
BP=$!
sleep 2
cap_start rl1 "$P/s5-midstart.pcap" -i v7c 'tcp'; C2=$CAP_PID
for _ in $(seq 1 90); do kill -0 $BP 2>/dev/null || break; sleep 1; done
wait $BP; echo "bigsend rc=$?" >> "$D/bigsend.out"
sw --server 10.77.7.2 --to user@example.test --h-Subject lossy-after
cap_stop $C1; cap_stop $C2; stop_pid $C3
stop_pid $W1; stop_pid $W2
stop_pid $EXIM_PID
ns_del rl1 rl2 rl3 rl4
f=$P/s5-lossy-client.pcap; st=$(tshark -r $f -T fields -e tcp.stream -Y 'smtp.req.parameter contains "big@"' 2>/dev/null|head -1); fr=$(tshark -r $f -Y "tcp.stream==$st && tcp.len>1000" -T fields -e frame.number 2>/dev/null | awk '{a[NR]=$1} END{print a[int(NR/2)]}'); editcap -r $f $P/s5-cut-mid-data.pcap 1-$fr; echo "cut at frame $fr of stream $st" > "$D/cut.txt"
cat "$D"/wire-*.out "$D/bigsend.out"; grep -v privilege "$D/log/mainlog"
