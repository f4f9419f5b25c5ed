set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s24; mkdir -p $D/a $D/b; SA=127.0.0.23; SB=127.0.0.24; C=127.0.1.23
for a in $SA $SB $C; do add_addr $a; done
chmod 755 $D $D/a $D/b
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\n' > $D/b/extra.conf
exim_conf $D/b $SB $D/b/extra.conf || exit 1
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\n' > $D/a/extra.conf
exim_conf $D/a $SA $D/a/extra.conf || exit 1
python3 - $D/a/exim.conf $SB <<'EOT'
import sys
c=open(sys.argv[1]).read(); sb=sys.argv[2]
c=c.replace('acl_check_rcpt:\n  deny    local_parts = nobody\n          message     = unknown user\n','acl_check_rcpt:\n  require verify = recipient/callout=10s,no_cache\n',1)
c=c.replace('begin routers\n','begin routers\n\nto_b:\n  driver = manualroute\n  domains = example.test\n  route_list = * %s\n  self = send\n  transport = remote_smtp\n'%sb,1)
c=c.replace('begin transports\n','begin transports\n\nremote_smtp:\n  driver = smtp\n  interface = 127.0.0.23\n  allow_localhost\n  hosts_try_chunking =\n  hosts_try_fastopen =\n  hosts_try_prdr =\n  hosts_try_dane =\n  hosts_avoid_tls = *\n\n',1)
open(sys.argv[1],'w').write(c)
EOT
exim -C $D/a/exim.conf -bV >/dev/null || { echo badconf; exim -C $D/a/exim.conf -bV | head -3; exit 1; }
exim_start $D/b $SB; PB=$EXIM_PID
exim_start $D/a $SA; PA=$EXIM_PID
P=$B/caps/callout-exim.pcap
cap_start $P "tcp and (host $SA or host $SB)"
SW="timeout 30 nsenter --net=/run/netns/$NS swaks --server $SA --local-interface $C --helo client.example.org --from sender@example.org"
for i in 1 2 3; do $SW --to nobody@example.test > $D/sw$i.log 2>&1; sleep 1; done
$SW --to user@example.test > $D/sw4.log 2>&1
cap_stop $C $P
sleep 1
stop_pid $PA; stop_pid $PB
oracle $P; report $P
