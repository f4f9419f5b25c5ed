set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s9-kill; mkdir -p $D; S=127.0.0.9; C=127.0.1.9
for a in $S $C; do add_addr $a; done
printf 'message_size_limit = 10M\naccept_8bitmime = true\npipelining_advertise_hosts = *\nchunking_advertise_hosts = *\ntls_advertise_hosts =\nsmtp_receive_timeout = 20s\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
exim_start $D $S; P1=$EXIM_PID
cap_start $D/s9-kill.pcap "tcp and host $S"
waitlog() { for _ in $(seq 1 100); do grep -qs SENT-HALF "$1" && return 0; sleep 0.1; done; return 1; }
nsenter --net=/run/netns/$NS python3 $REC/run.py s9_client_kill $S $C 2> $D/client0.log &
CP=$!; waitlog $D/client0.log && sleep 1; [[ $(cat /proc/$CP/comm) == python3 ]] && kill -9 $CP; wait $CP; echo "client killed rc=$?" >> $D/client0.log
sleep 2
nsenter --net=/run/netns/$NS python3 $REC/run.py s9_server_kill $S $C 2> $D/client1.log &
CP=$!; waitlog $D/client1.log && sleep 1
KIDS=$(pgrep -P $P1); echo "exim children of $P1: $KIDS" >> $D/kill.log
for k in $KIDS; do [[ $(cat /proc/$k/comm) == exim ]] && kill -9 $k && echo killed $k >> $D/kill.log; done
for _ in $(seq 1 150); do kill -0 $CP 2>/dev/null || break; sleep 0.1; done; kill -0 $CP 2>/dev/null && kill $CP; wait $CP
cap_stop $C $D/s9-kill.pcap
stop_pid $P1
oracle $D/s9-kill.pcap; report $D/s9-kill.pcap
