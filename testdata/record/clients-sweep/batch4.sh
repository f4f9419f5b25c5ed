source "$(dirname "$0")/run1.sh"; cd ${SWEEP:-/tmp/clients-sweep}
SW="swaks --server $SRV --helo sw.example.org --from s@example.org --timeout 60"
$X iptables -t mangle -A POSTROUTING -o lo -p tcp -m statistic --mode random --probability 0.05 -j TEE --gateway 127.0.0.12 || exit 1
cap_start $C/dup5.pcap -i lo --immediate-mode -U -B 32768 "tcp and host $SRV"
timeout 60 $X sh -c "$MS --port=25 --tls=off a@example.test < msgs/1m.eml" > w/d1.log 2>&1; echo rc=$?
timeout 60 $X $SW --pipeline --to c@example.test,nobody@example.test > w/d2.log 2>&1; echo rc=$?
timeout 60 $X python3 $REC/py_utf8.py > w/d3.log 2>&1; echo rc=$?
timeout 60 $X curl -sS --url smtp://$SRV:25 --mail-from sender@example.org --mail-rcpt b@example.test --upload-file msgs/clean.eml > w/d4.log 2>&1; echo rc=$?
timeout 60 $X perl $REC/perl_8bit.pl msgs/8bit.eml > w/d5.log 2>&1; echo rc=$?
cap_stop $C/dup5.pcap
$X iptables -t mangle -L POSTROUTING -v -n | head -4
$X iptables -t mangle -F POSTROUTING
