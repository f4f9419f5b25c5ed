set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s1; mkdir -p $D; S=fd00::1; C=fd00::2
for a in $S $C; do add_addr $a; done
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts = *\ntls_certificate = %s/tls/cert.pem\ntls_privatekey = %s/tls/key.pem\n' $B $B > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
sleep 1
exim_start $D $S; P1=$EXIM_PID
cap_start $B/caps/ipv6-exim.pcap "tcp and host $S"
SW="timeout 30 nsenter --net=/run/netns/$NS swaks --server $S --port 25 --local-interface $C --helo client.example.org --from sender@example.org"
$SW --to user@example.test --pipeline > $D/sw1.log 2>&1
$SW --to a@example.test,nobody@example.test,b@example.test --pipeline > $D/sw2.log 2>&1
$SW --to c@example.test --pipeline --tls > $D/sw3.log 2>&1
cap_stop $C $B/caps/ipv6-exim.pcap
stop_pid $P1
oracle $B/caps/ipv6-exim.pcap; report $B/caps/ipv6-exim.pcap
