set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s15-misc; mkdir -p $D; S=127.0.0.15; C=127.0.1.15
for a in $S $C; do add_addr $a; done
printf 'message_size_limit = 10M\naccept_8bitmime = true\npipelining_advertise_hosts = *\nchunking_advertise_hosts = *\ntls_advertise_hosts =\nsmtp_receive_timeout = 20s\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
exim_start $D $S; P1=$EXIM_PID
cap_start $D/s15-misc.pcap "tcp and host $S"
timeout 90 nsenter --net=/run/netns/$NS python3 $REC/run.py s15_misc $S $C 2> $D/client.log
cap_stop $C $D/s15-misc.pcap
stop_pid $P1
oracle $D/s15-misc.pcap; report $D/s15-misc.pcap
