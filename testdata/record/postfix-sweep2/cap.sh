#!/bin/bash
# cap.sh NAME ADDR CMD...: capture CMD's traffic to ADDR in sw11 into caps/NAME.pcap
set -u
name=$1 addr=$2; shift 2
pcap=${SWEEP:-/tmp/postfix-sweep2}/caps/$name.pcap; err=${SWEEP:-/tmp/postfix-sweep2}/caps/$name.tcpdump.err
nsenter --net=/run/netns/sw11 tcpdump -Z root -i lo --immediate-mode -U -w "$pcap" "tcp and host $addr" 2>"$err" &
cp=$!
for _ in $(seq 1 100); do grep -qs "listening on" "$err" && break; sleep 0.1; done
timeout 120 nsenter --net=/run/netns/sw11 "$@" > ${SWEEP:-/tmp/postfix-sweep2}/caps/$name.client.log 2>&1; echo "client rc=$?" >> ${SWEEP:-/tmp/postfix-sweep2}/caps/$name.client.log
for _ in $(seq 1 200); do
  [[ -z $(nsenter --net=/run/netns/sw11 ss -Htn state connected "( src $addr or dst $addr )" | grep -v TIME-WAIT) ]] && break
  sleep 0.1
done
sleep 1
kill -TERM $cp; wait $cp
tail -2 "$err"
