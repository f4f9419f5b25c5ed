NS=sw17
W=/tmp/sweep17/w
nsx() { nsenter --net="/run/netns/$NS" "$@"; }
setup_ns() {
  ip netns list | grep -qw $NS && return 0
  ip netns add $NS
  nsx ip link set lo up; nsx ip link set lo mtu 1500
  nsx ethtool -K lo tso off gso off gro off 2>/dev/null
  for n in 1 2 3 4 5 6 7 8 9 10 11 12; do for k in 0 1 2 3; do nsx ip addr add 127.0.$k.$n/32 dev lo; done; done
}
# exim_conf NAME ADDR EXTRA_MAIN [ACL_RCPT_BODY]
exim_conf() {
  local name=$1 addr=$2 extra=$3
  mkdir -p $W/$name/spool $W/$name/log $W/$name/mail; chown -R Debian-exim:Debian-exim $W/$name
  cat > $W/$name/exim.conf <<EOC
primary_hostname = mx-$name.example.test
qualify_domain = example.test
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = $W/$name/spool
log_file_path = $W/$name/log/%slog
pid_file_path = $W/$name/exim.pid
local_interfaces = <; $addr
keep_environment =
host_lookup =
rfc1413_hosts =
smtp_banner = \$smtp_active_hostname ESMTP Exim \$version_number
message_size_limit = 10M
accept_8bitmime = true
pipelining_advertise_hosts = *
chunking_advertise_hosts = *
tls_advertise_hosts = *
tls_certificate = $W/tls/cert.pem
tls_privatekey = $W/tls/key.pem
smtp_receive_timeout = 30s
log_selector = +smtp_connection +smtp_protocol_error +smtp_syntax_error +tls_cipher +smtp_incomplete_transaction +received_recipients +pipelining
$extra
acl_smtp_rcpt = acl_check_rcpt
acl_smtp_helo = acl_check_helo
begin acl
acl_check_helo:
$HELO_ACL
  accept
acl_check_rcpt:
  deny    local_parts = nobody
          message     = unknown user
$RCPT_ACL
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
  file = $W/$name/mail/mbox
  user = Debian-exim
  group = Debian-exim
  mode = 0600
EOC
  exim -C $W/$name/exim.conf -bV >/dev/null || echo CONF BAD
}
start_exim() { # name addr
  nsenter --net=/run/netns/$NS exim -bdf -oX 25 -C $W/$1/exim.conf > $W/$1/daemon.out 2>&1 &
  echo $! > $W/$1/daemon.pid
  for i in $(seq 1 50); do nsx ss -Hltn "src $2 and sport = :25" | grep -q . && return 0; sleep 0.1; done; echo NOT LISTENING
}
stop_pid() { local p=$1; kill -TERM $p 2>/dev/null; for i in $(seq 1 30); do kill -0 $p 2>/dev/null || break; sleep 0.1; done; kill -0 $p 2>/dev/null && kill -KILL $p; }
start_cap() { # file filter
  nsenter --net=/run/netns/$NS tcpdump -Z root -i lo --immediate-mode -U -w $1 "$2" 2> $1.tcpdump.log &
  echo $! > $1.pid
  for i in $(seq 1 50); do grep -q listening $1.tcpdump.log 2>/dev/null && return 0; sleep 0.1; done
}
stop_cap() { sleep 1; stop_pid $(cat $1.pid); cat $1.tcpdump.log | tail -2; }
client_conf() { # ROUTE hosts, TEXTRA transport lines
  mkdir -p $W/cl/spool $W/cl/log; chown -R Debian-exim:Debian-exim $W/cl/spool $W/cl/log
  cat > $W/cl/exim.conf <<EOC
primary_hostname = client.example.org
qualify_domain = example.org
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = $W/cl/spool
log_file_path = $W/cl/log/%slog
keep_environment =
host_lookup =
tls_verify_certificates =
log_selector = +smtp_connection +outgoing_port +tls_cipher +delivery_size +deliver_time
begin routers
out:
  driver = manualroute
  domains = *
  transport = remote
  route_list = * $1 byname
  self = send
begin transports
remote:
  driver = smtp
  interface = 127.0.1.7
  connect_timeout = 4s
  hosts_randomize = false
$2
begin retry
* * F,1h,1m
EOC
  exim -C $W/cl/exim.conf -bV >/dev/null || echo CLIENT CONF BAD
}
send_cl() { # rcpt subject [bodyfile]
  printf 'From: s@example.org\nTo: %s\nSubject: %s\n\n%s\n' "$1" "$2" "${3:-test body line}" | nsenter --net=/run/netns/$NS exim -C $W/cl/exim.conf -odi -f s@example.org "$1"
}
