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
CD=$D/cli; mkdir -p $CD/spool $CD/log $CD/mail; chown -R Debian-exim:Debian-exim $CD
cat > $CD/client.conf <<EOC
primary_hostname = client.example.org
qualify_domain = example.org
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = $CD/spool
log_file_path = $CD/log/%slog
pid_file_path = $CD/exim.pid
local_interfaces = <; $C
keep_environment =
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
queue_run_in_order = true
begin routers
to_server:
  driver = manualroute
  domains = example.test
  route_data = fd00::::11
  self = send
  transport = remote_smtp
local_rest:
  driver = accept
  transport = local_mbox
begin transports
remote_smtp:
  driver = smtp
  port = 25
  interface = <; $C
  helo_data = client.example.org
  allow_localhost
  hosts_try_chunking = *
  hosts_try_fastopen =
  hosts_try_prdr =
  hosts_try_dane =
  hosts_avoid_tls = *
local_mbox:
  driver = appendfile
  file = $CD/mail/mbox
  user = Debian-exim
  group = Debian-exim
  mode = 0600
begin retry
*   *   F,1h,1m
EOC
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
