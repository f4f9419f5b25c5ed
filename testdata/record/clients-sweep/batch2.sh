# concurrent captures of one load: full, -s 200, -B 64, -i any, tshark pcapng, per-port
source "$(dirname "$0")/lib.sh"; cd ${SWEEP:-/tmp/clients-sweep}; C=caps; X="ip netns exec sw12"
MS="msmtp -C /dev/null --host=$SRV --domain=msmtp.example.org --from=sender@example.org --tls-certcheck=off"
F="tcp and host $SRV"
cap_start $C/load-full.pcap -i lo --immediate-mode -U "$F"; P1=$CAP_PID
cap_start $C/load-snap200.pcap -i lo -s 200 "$F"; P2=$CAP_PID
cap_start $C/load-smallbuf.pcap -i lo -B 64 "$F"; P3=$CAP_PID
cap_start $C/load-any.pcap -i any --immediate-mode -U "$F"; P4=$CAP_PID
cap_start $C/load-p25.pcap -i lo --immediate-mode -U "tcp port 25"; P5=$CAP_PID
cap_start $C/load-p587.pcap -i lo --immediate-mode -U "tcp port 587"; P6=$CAP_PID
rm -f $C/load-tshark.pcapng; ip netns exec sw12 tshark -i lo -F pcapng -f "$F" -w $C/load-tshark.pcapng 2>$C/load-tshark.err & P7=$!
for _ in $(seq 1 50); do grep -qs "Capturing on" $C/load-tshark.err && break; sleep 0.2; done; sleep 1
pids=()
for i in 1 2 3 4; do timeout 120 $X sh -c "$MS --port=25 --tls=off u$i@example.test < msgs/big.eml" > w/load$i.log 2>&1 & pids+=($!); done
for i in 1 2 3; do timeout 60 $X swaks --server $SRV --port 587 --helo sub.example.org --from s$i@example.org --to a@example.test,nobody@example.test --pipeline > w/loadsw$i.log 2>&1 & pids+=($!); done
timeout 60 $X python3 $REC/py_utf8.py tls > w/loadpy.log 2>&1 & pids+=($!)
timeout 60 $X curl -sS --url smtp://$SRV:587 --mail-from sender@example.org --mail-rcpt grey@example.test --upload-file msgs/clean.eml > w/loadcurl.log 2>&1 & pids+=($!)
for p in "${pids[@]}"; do wait $p; echo "client rc=$?"; done
for _ in $(seq 1 300); do [[ -z $(nsx ss -Htn state connected | grep -v TIME-WAIT | grep -F "$SRV") ]] && break; sleep 0.1; done
sleep 1
for p in $P1 $P2 $P3 $P4 $P5 $P6 $P7; do kill -TERM $p; done
for p in $P1 $P2 $P3 $P4 $P5 $P6 $P7; do for _ in $(seq 1 50); do kill -0 $p 2>/dev/null || break; sleep 0.1; done; wait $p 2>/dev/null; done
grep -h "captured\|dropped" $C/load-*.err
