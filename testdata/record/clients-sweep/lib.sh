# sweep12 lib: namespace sw12 only, Exim 4.96 server, tcpdump. Bounded waits, stop by PID.
NS=sw12; B=${SWEEP:-/tmp/clients-sweep}; W=$B/w; SRV=127.0.0.12; CLI=127.0.1.12
nsx() { ip netns exec $NS "$@"; }
ns_up() {
  ip netns list | grep -qw "^$NS" || ip netns add $NS
  nsx ip link set lo up; nsx ip link set lo mtu 1500
  nsx ethtool -K lo tso off gso off gro off >/dev/null 2>&1
  nsx ip addr add $SRV/32 dev lo 2>/dev/null; nsx ip addr add $CLI/32 dev lo 2>/dev/null; true
}
stop_pid() { local p=$1; kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; }
exim_setup() {
  mkdir -p $W/spool $W/log; chown -R Debian-exim:Debian-exim $W/spool $W/log
  [ -f $W/cert.pem ] || openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=mx.example.test -keyout $W/key.pem -out $W/cert.pem 2>/dev/null
  chmod 644 $W/key.pem $W/cert.pem
  cat > $W/exim.conf <<EOC
primary_hostname = mx.example.test
qualify_domain = example.test
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = $W/spool
log_file_path = $W/log/%slog
pid_file_path = $W/exim.pid
local_interfaces = <; $SRV.25 ; $SRV.465 ; $SRV.587
daemon_smtp_ports = 25 : 465 : 587
tls_on_connect_ports = 465
keep_environment =
host_lookup =
rfc1413_hosts =
smtp_banner = \$smtp_active_hostname ESMTP Exim \$version_number
message_size_limit = ${SIZELIMIT:-10M}
accept_8bitmime = true
pipelining_advertise_hosts = *
pipelining_connect_advertise_hosts =
chunking_advertise_hosts = *
smtputf8_advertise_hosts = *
prdr_enable = false
smtp_receive_timeout = 30s
log_selector = +smtp_connection +smtp_protocol_error +smtp_syntax_error +tls_cipher +smtp_incomplete_transaction +received_recipients +incoming_port +pipelining
tls_advertise_hosts = *
tls_certificate = $W/cert.pem
tls_privatekey = $W/key.pem
acl_smtp_rcpt = acl_check_rcpt
begin acl
acl_check_rcpt:
  deny    local_parts = nobody
          message = unknown user
  defer   local_parts = grey
          message = greylisted, try again later
  accept  domains = example.test
  deny    message = relay not permitted
begin routers
sink:
  driver = redirect
  domains = example.test
  data = :blackhole:
begin transports
EOC
  exim -C $W/exim.conf -bV >/dev/null || { echo exim conf bad; return 1; }
}
exim_start() { nsx exim -bdf -C $W/exim.conf >>$W/exim.out 2>&1 & EXIM_PID=$!
  for _ in $(seq 1 50); do nsx ss -Hltn | grep -q "$SRV:25 " && break; sleep 0.1; done; }
cap_start() { # PCAP tcpdump-opts...
  local p=$1; shift; rm -f "$p"
  ip netns exec $NS tcpdump -Z root "$@" -w "$p" 2>"$p.err" & CAP_PID=$!
  for _ in $(seq 1 100); do grep -qs "listening on" "$p.err" && break; sleep 0.1; done; }
cap_stop() { local p=$1
  for _ in $(seq 1 300); do [[ -z $(nsx ss -Htn state connected | grep -v TIME-WAIT | grep -F "$SRV") ]] && break; sleep 0.1; done
  sleep 1; kill -TERM "$CAP_PID"; wait "$CAP_PID" || true; tail -2 "$p.err"; }
report() { local p=$1
  ( time $B/smtpcap analyze "$p" ) > "$p.analyze.txt" 2>&1; echo "rc=$?" >> "$p.analyze.txt"
  $B/smtpcap analyze --format json "$p" > "$p.analyze.json" 2>&1
  $B/smtpcap streams "$p" > "$p.streams.txt" 2>&1
  tshark -r "$p" -T fields -e frame.number -e tcp.stream -e tcp.len -e smtp.req.command -e smtp.response.code -e tcp.analysis.retransmission -e tcp.analysis.out_of_order -e tcp.flags.str > "$p.oracle.txt" 2>/dev/null
  for s in $(cut -f2 "$p.oracle.txt" | sort -un | head -20); do timeout 60 $B/smtpcap follow -s $s "$p" > "$p.follow$s.txt" 2>&1; done; }
