set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s6-barelf-wait; mkdir -p $D; S=127.0.0.6; C=127.0.1.6
for a in $S $C; do add_addr $a; done
printf 'message_size_limit = 10M\naccept_8bitmime = true\npipelining_advertise_hosts = *\nchunking_advertise_hosts = *\ntls_advertise_hosts =\nsmtp_receive_timeout = 40s\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
exim_start $D $S; P1=$EXIM_PID
cap_start $D/s6-barelf-wait.pcap "tcp and host $S"
timeout 60 nsenter --net=/run/netns/$NS python3 $REC/run.py s6_barelf_wait $S $C 2> $D/client0.log
cap_stop $C $D/s6-barelf-wait.pcap
stop_pid $P1
oracle $D/s6-barelf-wait.pcap; report $D/s6-barelf-wait.pcap
