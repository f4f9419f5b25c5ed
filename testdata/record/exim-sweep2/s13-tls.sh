set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s13; mkdir -p $D; S=fd00::13; C=fd00::14; S2=fd00::15
for a in $S $C $S2; do add_addr $a; done
cp $B/tls/*.pem $D/; chown Debian-exim $D/*.pem
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts = *\ntls_certificate = %s/cert.pem\ntls_privatekey = %s/key.pem\ndaemon_smtp_ports = 25 : 465\ntls_on_connect_ports = 465\n' $D $D > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
sed -i 's/^smtp_banner = .*/smtp_banner = $smtp_active_hostname ESMTP Exim $version_number\\nno UCE here\\nsecond line of banner/' $D/exim.conf; exim -C $D/exim.conf -bV >/dev/null || exit 1
nsenter --net=/run/netns/$NS exim -bdf -C "$D/exim.conf" >>"$D/exim.out" 2>&1 &
P1=$!
for _ in $(seq 1 100); do [[ -n $(nsx ss -Hltn "sport = :465" | grep -F "$S") ]] && break; sleep 0.1; done
# second exim with broken TLS (missing cert) on S2
D2=$D/broken; mkdir -p $D2
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts = *\ntls_certificate = /nonexistent/cert.pem\ntls_privatekey = /nonexistent/key.pem\n' > $D2/extra.conf
exim_conf $D2 $S2 $D2/extra.conf || exit 1
exim_start $D2 $S2; P2=$EXIM_PID
P=$B/caps/tls-ipv6-exim.pcap
cap_start $P "tcp and (host $S or host $S2)"
SW="timeout 30 nsenter --net=/run/netns/$NS swaks --local-interface $C --helo client.example.org --from sender@example.org --to user@example.test"
$SW --server $S --port 465 --tls-on-connect > $D/sw1.log 2>&1
$SW --server $S --port 465 --timeout 8 > $D/sw2.log 2>&1
$SW --server $S2 --port 25 --tls > $D/sw3.log 2>&1
$SW --server $S2 --port 25 --tls-optional > $D/sw4.log 2>&1
$SW --server $S --port 26 > $D/sw5.log 2>&1
$SW --server $S --port 25 > $D/sw6.log 2>&1
cap_stop $C $P
stop_pid $P1; stop_pid $P2
oracle $P; report $P
