set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s16-misc2; mkdir -p $D/max; S=127.0.0.16; S2=127.0.0.116; C=127.0.1.16
for a in $S $S2 $C; do add_addr $a; done
printf 'message_size_limit = 10M\naccept_8bitmime = true\npipelining_advertise_hosts = *\nchunking_advertise_hosts =\ntls_advertise_hosts =\nsmtp_receive_timeout = 8s\nacl_smtp_data = acl_check_data\nsmtp_accept_max_per_connection = 2\n' > $D/extra.conf
printf 'message_size_limit = 10M\naccept_8bitmime = true\npipelining_advertise_hosts = *\nchunking_advertise_hosts = *\ntls_advertise_hosts =\nsmtp_receive_timeout = 20s\nsmtp_accept_max = 1\n' > $D/max/extra.conf
exim_conf $D $S $D/extra.conf || exit 1; exim_conf $D/max $S2 $D/max/extra.conf || exit 1
exim_start $D $S; P1=$EXIM_PID; exim_start $D/max $S2; P2=$EXIM_PID
cap_start $D/s16.pcap "tcp and (host $S or host $S2)"
R="timeout 60 nsenter --net=/run/netns/$NS python3 $REC/run.py"
$R s16_pregreet $S $C 2> $D/c0-pregreet.log
$R s16_idle $S $C 2> $D/c1-idle.log
$R s16_bdat_not_offered $S $C 2> $D/c2-bdat.log
$R s16_data_defer $S $C 2> $D/c3-defer.log
$R s16_max_per_conn $S $C 2> $D/c6-maxper.log
nsenter --net=/run/netns/$NS python3 $REC/run.py s16_hold $S2 $C 2> $D/c7-hold.log &
HP=$!
for _ in $(seq 1 50); do grep -qs HOLDING $D/c7-hold.log && break; sleep 0.1; done
$R s16_second $S2 $C 2> $D/c8-second.log
for _ in $(seq 1 150); do kill -0 $HP 2>/dev/null || break; sleep 0.1; done; kill -0 $HP 2>/dev/null && kill $HP; wait $HP
cap_stop $C $D/s16.pcap
stop_pid $P1; stop_pid $P2
oracle $D/s16.pcap; report $D/s16.pcap
