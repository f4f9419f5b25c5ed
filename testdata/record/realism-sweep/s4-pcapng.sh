#!/bin/bash
# s4: pcapng with several interfaces. rl1 has a veth to Exim in rl2 (10.77.6.0/24) and its own loopback
# Exim on 127.0.0.1:2525. (a) dumpcap -i v6a -i lo -> s4-dumpcap-eth-lo.pcapng (two Ethernet IDBs);
# (b) tshark -i v6a -i any -> s4-tshark-eth-any.pcapng (EN10MB + LINUX_SLL2: every v6a packet twice).
# Then editcap conversions: capture comment + packet comments, nanosecond pcapng, nsec pcap.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
D=$R/run/s4; rm -rf "$D"; mkdir -p "$D/srv" "$D/lo"
ns_new rl1; ns_new rl2
veth rl1 v6a rl2 v6b
addr rl1 v6a 10.77.6.1/24; addr rl2 v6b 10.77.6.2/24
server_start "$D/srv" rl2 "10.77.6.2" 25; E1=$EXIM_PID
server_start "$D/lo" rl1 "127.0.0.1" 2525; E2=$EXIM_PID
sw() { timeout 30 $NX rl1 swaks -n --from a@example.org "$@" >> "$D/swaks.out" 2>&1; echo "swaks rc=$?" >> "$D/swaks.out"; }
run_traffic() {
  sw --server 10.77.6.2 --to user@example.test --h-Subject eth-$1
  sw --server 127.0.0.1 --port 2525 --to user@example.test,nobody@example.test --h-Subject lo-$1
  timeout 30 $NX rl1 python3 $REC/bigsend.py 10.77.6.2 25 0.5 >> "$D/swaks.out" 2>&1
}
for tool in "dumpcap-eth-lo dumpcap -i v6a -i lo" "tshark-eth-any tshark -q -i v6a -i any"; do
  set -- $tool; name=$1; shift
  f=$P/s4-$name.pcapng
  ip netns exec rl1 "$@" -f "tcp" -w "$f" > "$f.err" 2>&1 </dev/null &
  CP=$!
  for _ in $(seq 1 50); do grep -q "Capturing on" "$f.err" && break; sleep 0.1; done; sleep 0.5
  run_traffic $name
  cap_stop $CP
done
stop_pid $E1; stop_pid $E2
ns_del rl1 rl2
chmod 644 $P/s4-*.pcapng
# conversions of the dumpcap file
editcap --capture-comment "recorded on rl1: v6a + lo, by smtpcap real-traffic helper" -a "3:SYN-ACK comment" -a "10:packet comment on EHLO reply" $P/s4-dumpcap-eth-lo.pcapng $P/s4-comments.pcapng
editcap -F pcapng -T ether $P/s1-offload-receiver.pcap /dev/null 2>/dev/null
editcap -F pcapng --set-unused $P/s3-any-router.pcap $P/s4-sll2-from-pcap.pcapng 2>/dev/null || editcap -F pcapng $P/s3-any-router.pcap $P/s4-sll2-from-pcap.pcapng
editcap -F nsecpcap $P/s2-qinq.pcap $P/s4-qinq-nsec.pcap
editcap -F pcapng $P/s4-qinq-nsec.pcap $P/s4-qinq-nsec.pcapng
cat "$D/srv/log/mainlog" "$D/lo/log/mainlog" | grep -v privilege
