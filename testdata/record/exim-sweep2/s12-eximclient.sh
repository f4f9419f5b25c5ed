set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s12; mkdir -p $D; S=fd00::11; C=fd00::12
for a in $S $C; do add_addr $a; done
chmod 755 $D
rm -f $D/pass
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
python3 - $D/exim.conf $D <<'EOT'
import sys
c=open(sys.argv[1]).read()
c=c.replace('acl_check_rcpt:\n','acl_check_rcpt:\n  defer   local_parts = greypass\n          condition = ${if exists{%s/pass}{no}{yes}}\n          message = 4.7.1 greylisted, come back later\n'%sys.argv[2],1)
open(sys.argv[1],'w').write(c)
EOT
exim -C $D/exim.conf -bV >/dev/null || { echo badconf; exit 1; }
# client exim
CD=$D/cli; exim_workdir $CD; chown Debian-exim:Debian-exim $CD
exim_conf_client $CD $C 'route_data = fd00::::11' "<; $C" 'hosts_try_chunking = *' > $CD/client.conf
exim -C $CD/client.conf -bV >/dev/null || { echo badcconf; exim -C $CD/client.conf -bV; exit 1; }
exim_start $D $S; P1=$EXIM_PID
P=$B/caps/eximclient-grey-ipv6.pcap
cap_start $P "tcp and host $S"
printf 'Subject: greylisted via exim client\nMessage-Id: <exim-grey-1@example.org>\n\nhello\n' | exim -C $CD/client.conf -odq -f sender@example.org greypass@example.test user@example.test
for i in 1 2 3 4; do
  [[ $i == 4 ]] && touch $D/pass
  timeout 60 nsenter --net=/run/netns/$NS exim -C $CD/client.conf -qqff -v > $CD/qrun$i.log 2>&1
  sleep 2
done
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
exim -C $CD/client.conf -bp | head
