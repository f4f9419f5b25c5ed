set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s21; mkdir -p $D; S=127.0.0.21; C=127.0.1.21
for a in $S $C; do add_addr $a; done
chmod 755 $D
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\nmessage_size_limit = 10K\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
mkcli() { # NAME CHUNKING SIZEADD
local CD=$D/cli-$1; mkdir -p $CD/spool $CD/log $CD/mail; chown -R Debian-exim:Debian-exim $CD
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
  route_list = * $S
  self = send
  transport = remote_smtp
local_rest:
  driver = accept
  transport = local_mbox
begin transports
remote_smtp:
  driver = smtp
  port = 25
  interface = $C
  helo_data = client.example.org
  allow_localhost
  hosts_try_chunking = $2
  size_addition = $3
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
exim -C $CD/client.conf -bV >/dev/null || { echo badcconf; exit 1; }
}
mkcli bdat-size '*' 1024
mkcli bdat-nosize '*' -1
mkcli data-nosize '' -1
exim_start $D $S; P1=$EXIM_PID
P=$B/caps/eximclient-size.pcap
cap_start $P "tcp and host $S"
python3 -c "
print('Subject: big via exim client\nMessage-Id: <big-1@example.org>\n')
print('\n'.join('exim client body line %05d qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq'%i for i in range(600)))" > $D/big.msg
for n in bdat-size bdat-nosize data-nosize; do
  exim -C $D/cli-$n/client.conf -odq -f sender@example.org user@example.test < $D/big.msg
  timeout 60 nsenter --net=/run/netns/$NS exim -C $D/cli-$n/client.conf -qqff -v > $D/cli-$n/qrun.log 2>&1
  sleep 1
done
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
