set -u
NS=sw13; W=${SWEEP:-/tmp/core-sweep}/w; mkdir -p $W
nsx() { nsenter --net=/run/netns/$NS "$@"; }
ip netns add $NS; nsx ip link set lo up; nsx ip link set lo mtu 1500; nsx ethtool -K lo tso off gso off gro off >/dev/null 2>&1
for a in 127.0.0.13 127.0.0.14 127.0.1.13 127.0.1.14 127.0.2.1 127.0.2.2 127.0.2.3 127.0.2.4 127.0.3.1 127.0.3.2 127.0.3.3 127.0.3.4; do nsx ip addr add $a/32 dev lo; done
mkdir -p $W/tls; openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=mx.example.test -keyout $W/tls/key.pem -out $W/tls/cert.pem 2>/dev/null
chown -R Debian-exim:Debian-exim $W/tls; chmod 640 $W/tls/key.pem
mkconf() { # name addr pipelining
 local d=$W/$1; mkdir -p $d/spool $d/log $d/mail; chown -R Debian-exim:Debian-exim $d
 cat > $d/exim.conf <<EOC
primary_hostname = mx.example.test
qualify_domain = example.test
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = $d/spool
log_file_path = $d/log/%slog
pid_file_path = $d/exim.pid
local_interfaces = <; $2
keep_environment =
host_lookup =
rfc1413_hosts =
message_size_limit = 10M
accept_8bitmime = true
pipelining_advertise_hosts = $3
chunking_advertise_hosts = *
tls_advertise_hosts = *
tls_certificate = $W/tls/cert.pem
tls_privatekey = $W/tls/key.pem
smtp_receive_timeout = 5s
acl_smtp_rcpt = acl_check_rcpt
begin acl
acl_check_rcpt:
  deny    local_parts = nobody
  accept  domains     = example.test
  deny    message     = relay not permitted
begin routers
local_mbox:
  driver = accept
  domains = example.test
  transport = mbox
begin transports
mbox:
  driver = appendfile
  file = $d/mail/mbox
  user = Debian-exim
  group = Debian-exim
  mode = 0600
EOC
 exim -C $d/exim.conf -bV >/dev/null || echo BADCONF $1
}
mkconf s1 127.0.0.13 ":"
mkconf s2 127.0.0.14 "*"
# client exim
CD=$W/cli; mkdir -p $CD/spool $CD/log $CD/mail; chown -R Debian-exim:Debian-exim $CD
cat > $CD/client.conf <<EOC
primary_hostname = client.example.org
qualify_domain = example.org
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = $CD/spool
log_file_path = $CD/log/%slog
pid_file_path = $CD/exim.pid
local_interfaces = <; 127.0.1.14
keep_environment =
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
begin routers
bdat:
  driver = manualroute
  domains = example.test
  local_parts = ^bdat.*
  route_data = 127.0.2.2
  self = send
  transport = remote_smtp
rst:
  driver = manualroute
  domains = example.test
  local_parts = ^rst.*
  route_data = 127.0.2.4
  self = send
  transport = remote_smtp
begin transports
remote_smtp:
  driver = smtp
  port = 25
  interface = 127.0.1.14
  helo_data = client.example.org
  allow_localhost
  hosts_try_chunking = *
  hosts_try_fastopen =
  hosts_try_prdr =
  hosts_try_dane =
  hosts_avoid_tls = *
begin retry
*   *   F,1h,1m
EOC
exim -C $CD/client.conf -bV >/dev/null || echo BADCLI
