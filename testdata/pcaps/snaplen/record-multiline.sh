#!/bin/bash
# record-multiline.sh (root): snap96-multiline.pcap, a snaplen-cut capture of a multi-line EHLO
# reply that spans three packets, each cut inside a "250-" line, then a delivered message: swaks
# 20201014 (no pipelining) to multiline_server.py, in a network namespace, tcpdump 4.99 -s 96.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../record/lib/ns.sh"
ns=smtpcap-snapml addr=127.0.0.61 out=${1:-$here/snap96-multiline.pcap}
ns_ready "$ns" "$addr"
nsx() { nsenter --net="/run/netns/$ns" "$@"; }
log=$(mktemp)
nsx tcpdump -i lo -n -s 96 -U --immediate-mode -w "$out" "tcp and host $addr" 2>"$log" &
dump=$!
for _ in $(seq 1 50); do grep -q listening "$log" && break; sleep 0.1; done
nsx python3 "$here/multiline_server.py" "$addr" 25 &
srv=$!
sleep 0.5
nsx swaks --server "$addr" --port 25 --helo client.example.org --from a@example.org --to b@example.test \
  --body 'A short message.' --timeout 20 >/dev/null || true
for _ in $(seq 1 50); do kill -0 "$srv" 2>/dev/null || break; sleep 0.1; done
kill "$srv" 2>/dev/null || true
ns_wait_closed "$ns" "$addr" || true
sleep 0.5
kill -TERM "$dump"; wait "$dump" || true
ip netns del "$ns"
rm -f "$log"
echo "wrote $out"
