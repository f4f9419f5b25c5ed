set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s25; mkdir -p $D; S=127.0.0.25; C=127.0.1.25
for a in $S $C; do add_addr $a; done
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\nacl_smtp_data = acl_data\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
python3 - $D/exim.conf <<'EOT'
import sys
c=open(sys.argv[1]).read()
c=c.replace('acl_check_rcpt:\n','acl_check_rcpt:\n  drop    local_parts = dropme\n          message = 5.7.1 go away\n',1)
c=c.replace('\nbegin routers\n', '\nacl_data:\n  drop    condition = ${if match{$h_subject:}{spam}}\n          message = 5.7.1 spam, go away\n  accept\n\nbegin routers\n',1)
open(sys.argv[1],'w').write(c)
EOT
exim -C $D/exim.conf -bV >/dev/null || { echo badconf; exit 1; }
exim_start $D $S; P1=$EXIM_PID
P=$B/caps/drop-exim.pcap
cap_start $P "tcp and host $S"
SW="timeout 30 nsenter --net=/run/netns/$NS swaks --server $S --local-interface $C --helo client.example.org --from sender@example.org"
$SW --to dropme@example.test > $D/sw1.log 2>&1
$SW --to user@example.test --header 'Subject: cheap spam' > $D/sw2.log 2>&1
$SW --to user@example.test,dropme@example.test --pipeline > $D/sw3.log 2>&1
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
