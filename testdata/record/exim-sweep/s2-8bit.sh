set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s2-8bit; mkdir -p $D $D/no8; S=127.0.0.2; S2=127.0.0.102; C=127.0.1.2
for a in $S $S2 $C; do add_addr $a; done
printf 'message_size_limit = 10M\naccept_8bitmime = true\npipelining_advertise_hosts = *\nchunking_advertise_hosts =\ntls_advertise_hosts =\nsmtp_receive_timeout = 20s\n' > $D/extra.conf
printf 'message_size_limit = 10M\naccept_8bitmime = false\npipelining_advertise_hosts = *\nchunking_advertise_hosts =\ntls_advertise_hosts =\nsmtp_receive_timeout = 20s\n' > $D/no8/extra.conf
exim_conf $D $S $D/extra.conf || exit 1; exim_conf $D/no8 $S2 $D/no8/extra.conf || exit 1
exim_start $D $S; P1=$EXIM_PID; exim_start $D/no8 $S2; P2=$EXIM_PID
cap_start $D/8bit.pcap "tcp and (host $S or host $S2)"
# stream 0: swaks, 8-bit body, no BODY= (server offers 8BITMIME)
timeout 30 nsenter --net=/run/netns/$NS swaks --server $S --local-interface $C --from a@example.org --to b@example.test --data @$REC/8bit.eml > $D/swaks0.log 2>&1
# stream 1: python, BODY=8BITMIME
timeout 30 nsenter --net=/run/netns/$NS python3 $REC/run.py s2_8bit_body $S $C 2> $D/client1.log
# stream 2: swaks to server without 8BITMIME, 8-bit body
timeout 30 nsenter --net=/run/netns/$NS swaks --server $S2 --local-interface $C --from a@example.org --to b@example.test --data @$REC/8bit.eml > $D/swaks2.log 2>&1
# stream 3: python BODY=8BITMIME to server without 8BITMIME
timeout 30 nsenter --net=/run/netns/$NS python3 $REC/run.py s2_8bit_body $S2 $C 2> $D/client3.log
cap_stop $C $D/8bit.pcap
stop_pid $P1; stop_pid $P2
oracle $D/8bit.pcap; report $D/8bit.pcap
