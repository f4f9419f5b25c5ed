set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s1-bdat; mkdir -p $D; S=127.0.0.1; add_addr 127.0.0.11; add_addr 127.0.1.11; S=127.0.0.11; C=127.0.1.11
cat > $D/extra.conf <<EOC
message_size_limit = 10M
accept_8bitmime = true
pipelining_advertise_hosts = *
chunking_advertise_hosts = *
tls_advertise_hosts =
smtp_receive_timeout = 20s
EOC
exim_conf $D $S $D/extra.conf || exit 1
exim_start $D $S
cap_start $D/bdat.pcap
timeout 60 nsenter --net=/run/netns/$NS python3 $REC/run.py s1_under $S $C 2> $D/client-under.log
timeout 30 nsenter --net=/run/netns/$NS python3 $REC/run.py s1_over $S $C 2> $D/client-over.log
cap_stop $S $D/bdat.pcap
stop_pid $EXIM_PID
oracle $D/bdat.pcap; report $D/bdat.pcap
