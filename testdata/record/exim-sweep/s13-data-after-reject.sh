set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s13-data-after-reject; mkdir -p $D; S=127.0.0.13; C=127.0.1.13
for a in $S $C; do add_addr $a; done
printf 'message_size_limit = 10M\naccept_8bitmime = true\npipelining_advertise_hosts = *\nchunking_advertise_hosts = *\ntls_advertise_hosts =\nsmtp_receive_timeout = 20s\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
exim_start $D $S; P1=$EXIM_PID
cap_start $D/s13-data-after-reject.pcap "tcp and host $S"
timeout 60 nsenter --net=/run/netns/$NS python3 $REC/run.py s13_all_rcpt_rejected_pipelined $S $C 2> $D/client0.log
cap_stop $C $D/s13-data-after-reject.pcap
stop_pid $P1
oracle $D/s13-data-after-reject.pcap; report $D/s13-data-after-reject.pcap
