set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s18-pipeconnect; S=127.0.0.18; C=127.0.1.18
for a in $S $C; do add_addr $a; done
printf 'message_size_limit = 10M\naccept_8bitmime = true\npipelining_advertise_hosts = *\nchunking_advertise_hosts = *\ntls_advertise_hosts =\nsmtp_receive_timeout = 20s\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
sed -i 's/^pipelining_connect_advertise_hosts =$/pipelining_connect_advertise_hosts = */' $D/exim.conf; exim -C $D/exim.conf -bV >/dev/null || exit 1
exim_start $D $S; P1=$EXIM_PID
cap_start $D/s18.pcap "tcp and host $S"
for i in 1 2 3; do
  to=b@example.test; [[ $i == 3 ]] && to=nobody@example.test
  printf 'From: a@example.org\nTo: %s\nSubject: pipe connect %s\n\nbody %s\n' $to $i $i | timeout 30 nsenter --net=/run/netns/$NS exim -C $D/cli/exim.conf -odi -f a@example.org $to >> $D/cli-run.log 2>&1
  sleep 1
done
cap_stop $C $D/s18.pcap
stop_pid $P1
oracle $D/s18.pcap; report $D/s18.pcap
