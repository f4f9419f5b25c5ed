set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s7b; mkdir -p $D; S=127.0.0.7; C=127.0.1.7
for a in $S $C; do add_addr $a; done
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\nrecipients_max = 50\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
exim_start $D $S; P1=$EXIM_PID
P=$B/caps/rcpts-max-shortto-exim.pcap
cap_start $P "tcp and host $S"
TO=$(python3 -c "print(','.join('u%03d@example.test'%i for i in range(120)))")
timeout 60 nsenter --net=/run/netns/$NS swaks --server $S --local-interface $C --helo client.example.org --from sender@example.org --to "$TO" --pipeline --h-To "list@example.test" > $D/sw1.log 2>&1
# not pipelined, same 120
timeout 60 nsenter --net=/run/netns/$NS swaks --server $S --local-interface $C --helo client.example.org --from sender@example.org --to "$TO" --h-To "list@example.test" > $D/sw2.log 2>&1
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
