set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s19; mkdir -p $D; S=127.0.0.19; C=127.0.1.19; C2=127.0.1.119
for a in $S $C $C2; do add_addr $a; done
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\nacl_smtp_connect = acl_conn\nacl_smtp_data = acl_data\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
python3 - $D/exim.conf <<'EOT'
import sys
c=open(sys.argv[1]).read()
c=c.replace('\nbegin routers\n', '\nacl_conn:\n  accept  hosts = 127.0.1.119\n          delay = 12s\n  accept\n\nacl_data:\n  accept  condition = ${if match{$h_subject:}{slow}}\n          delay = 13s\n  accept\n\nbegin routers\n',1)
open(sys.argv[1],'w').write(c)
EOT
exim -C $D/exim.conf -bV >/dev/null || { echo badconf; exit 1; }
exim_start $D $S; P1=$EXIM_PID
P=$B/caps/slow-exim.pcap
cap_start $P "tcp and host $S"
SW="timeout 60 nsenter --net=/run/netns/$NS swaks --server $S --helo client.example.org --from sender@example.org --to user@example.test --pipeline --timeout 40"
$SW --local-interface $C2 > $D/sw1.log 2>&1
$SW --local-interface $C --header 'Subject: slow scan' > $D/sw2.log 2>&1
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
