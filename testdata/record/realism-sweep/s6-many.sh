#!/bin/bash
# s6: 200 concurrent SMTP sessions (python threads, smtplib, released by a barrier) from rl1 to Exim in rl2
# over veth (default offloads), plus 10 swaks in parallel. Recipients: accepted / 550 / 451 / relay denied.
# Capture on the client side v8a: s6-many.pcap.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
D=$R/run/s6; rm -rf "$D"; mkdir -p "$D"
ns_new rl1; ns_new rl2
veth rl1 v8a rl2 v8b
addr rl1 v8a 10.77.8.1/24; addr rl2 v8b 10.77.8.2/24
server_start "$D" rl2 "10.77.8.2" 25
cap_start rl1 "$P/s6-many.pcap" -i v8a 'tcp'; C1=$CAP_PID
pids=()
for i in $(seq 1 10); do
  timeout 50 $NX rl1 swaks -n --server 10.77.8.2 --from sw$i@example.org --to user@example.test,nobody@example.test > "$D/swaks-$i.out" 2>&1 &
  pids+=($!)
done
timeout 55 $NX rl1 python3 $REC/many.py 10.77.8.2 25 200 > "$D/many.out" 2>&1
for p in "${pids[@]}"; do wait $p; echo "swaks pid $p rc=$?" >> "$D/swaks-rc.txt"; done
cap_stop $C1
stop_pid $EXIM_PID
ns_del rl1 rl2
tail -1 "$D/many.out"; cat "$D/swaks-rc.txt"; grep -c "<=" "$D/log/mainlog"; grep -c rejected "$D/log/mainlog"
