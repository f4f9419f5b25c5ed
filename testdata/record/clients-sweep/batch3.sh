source "$(dirname "$0")/run1.sh"; cd ${SWEEP:-/tmp/clients-sweep}
SW="swaks --server $SRV --helo sw.example.org --from s@example.org --timeout 60"
# rate 1mbit
$X tc qdisc add dev lo root tbf rate 1mbit burst 8k latency 200ms
nsx ip link show lo | head -1; nsx ethtool -k lo | grep -E "^(tcp-seg|generic-seg|generic-rec)"
cap_start $C/rate1mbit.pcap -i lo --immediate-mode -U "tcp and host $SRV"
timeout 150 $X sh -c "$MS --port=25 --tls=off a@example.test < msgs/1m.eml" > w/r1.log 2>&1 & a=$!
timeout 150 $X curl -sS --url smtp://$SRV:25 --mail-from sender@example.org --mail-rcpt b@example.test --mail-rcpt nobody@example.test --mail-rcpt-allowfails --upload-file msgs/1m.eml > w/r2.log 2>&1 & b=$!
sleep 2; timeout 60 $X $SW --pipeline --to c@example.test,nobody@example.test > w/r3.log 2>&1
timeout 60 $X python3 $REC/py_utf8.py tls > w/r4.log 2>&1
wait $a; echo rc=$?; wait $b; echo rc=$?
cap_stop $C/rate1mbit.pcap
$X tc -s qdisc show dev lo | head -3
$X tc qdisc del dev lo root
# loss 3% both ways via iptables
$X iptables -A INPUT -p tcp -m statistic --mode random --probability 0.03 -j DROP
cap_start $C/loss3.pcap -i lo --immediate-mode -U "tcp and host $SRV"
timeout 150 $X sh -c "$MS --port=25 --tls=off a@example.test < msgs/big.eml" > w/l1.log 2>&1; echo rc=$?
timeout 150 $X python3 $REC/py_refuse.py > w/l2.log 2>&1; echo rc=$?
timeout 60 $X $SW --pipeline --to c@example.test > w/l3.log 2>&1; echo rc=$?
timeout 60 $X perl $REC/perl_8bit.pl msgs/8bit.eml > w/l4.log 2>&1; echo rc=$?
timeout 60 $X sh -c "$MS --port=25 --tls=on --tls-starttls=on user@example.test < msgs/8bit.eml" > w/l5.log 2>&1; echo rc=$?
cap_stop $C/loss3.pcap
$X iptables -L INPUT -v -n | head -4
$X iptables -F INPUT
