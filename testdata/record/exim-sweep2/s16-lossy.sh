set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s16; mkdir -p $D; S=127.0.0.16; C=127.0.1.16
for a in $S $C; do add_addr $a; done
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
exim_start $D $S; P1=$EXIM_PID
nsx iptables -A INPUT -p tcp -d $S --dport 25 -m statistic --mode random --probability 0.08 -j DROP
nsx iptables -A INPUT -p tcp -d $C --sport 25 -m statistic --mode random --probability 0.08 -j DROP
python3 -c "print('\n'.join('lossy body line %05d zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz'%i for i in range(500)))" > $D/big.txt
P=$B/caps/lossy-exim.pcap
cap_start $P "tcp and host $S"
for i in 1 2 3 4 5; do
timeout 60 nsenter --net=/run/netns/$NS swaks --server $S --local-interface $C --helo client.example.org --from sender@example.org --to user@example.test --pipeline --body @$D/big.txt > $D/sw$i.log 2>&1
done
cap_stop $C $P
nsx iptables -F INPUT
stop_pid $P1
oracle $P; report $P
