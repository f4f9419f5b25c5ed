# msweep lib: namespace "msweep", Postfix 3.7 (own config), tcpdump, reports. Bounded waits; stop only our PIDs.
NS=msweep; B=/tmp/msweep; RUN=$B/pfrun; CONF=$RUN/conf; MAILLOG=$RUN/log/maillog
nsx() { nsenter --net="/run/netns/$NS" "$@"; }
ns_up() {
  if ! ip netns list | grep -qw "$NS"; then
    ip netns add $NS
    nsx ip link set lo up; nsx ip link set lo mtu 1500
    nsx ethtool -K lo tso off gso off gro off >/dev/null 2>&1
  fi
  for n in 31 32 41 42 43 51 52 53 54 55 56 57 58 59; do
    nsx ip addr add 127.0.0.$n/32 dev lo 2>/dev/null || true
    nsx ip addr add 127.0.1.$n/32 dev lo 2>/dev/null || true
  done
}
pf_conf() {
  mkdir -p "$CONF" "$RUN/queue" "$RUN/data" "$RUN/log" "$CONF/sasl"; chown postfix "$RUN/data"; chmod 755 $B $RUN
  [[ -f $CONF/cert.pem ]] || openssl req -x509 -newkey rsa:2048 -nodes -keyout $CONF/key.pem -out $CONF/cert.pem -days 30 -subj /CN=mx.example.test >/dev/null 2>&1
  printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: %s/sasldb2\n' "$CONF" > "$CONF/sasl/smtpd.conf"
  cat >"$CONF/main.cf" <<EOC
compatibility_level = 3.6
queue_directory = $RUN/queue
data_directory = $RUN/data
maillog_file = $MAILLOG
maillog_file_prefixes = $RUN/log
myhostname = mx.example.test
mydomain = example.test
myorigin = example.test
mydestination = example.test
inet_interfaces = all
inet_protocols = ipv4
smtpd_banner = \$myhostname ESMTP Postfix
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
biff = no
alias_maps =
alias_database =
local_recipient_maps = texthash:$CONF/recipients
local_transport = discard:
virtual_transport = discard:
relay_transport = discard:
default_transport = discard:
smtpd_tls_cert_file = $CONF/cert.pem
smtpd_tls_key_file = $CONF/key.pem
smtpd_tls_security_level = may
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
cyrus_sasl_config_path = $CONF/sasl
smtpd_sasl_security_options = noanonymous
EOC
  printf 'root OK\npostmaster OK\nb OK\nc OK\nd OK\n' >"$CONF/recipients"
  {
    echo "127.0.0.31:25 inet n - n - - smtpd"
    echo "127.0.0.32:25 inet n - n - - smtpd -o smtpd_forbid_bare_newline=yes -o smtpd_forbid_bare_newline_exclusions="
    for s in "pickup unix n - n 60 1 pickup" "cleanup unix n - n - 0 cleanup" "qmgr unix n - n 300 1 qmgr" \
      "rewrite unix - - n - - trivial-rewrite" "bounce unix - - n - 0 bounce" "defer unix - - n - 0 bounce" \
      "trace unix - - n - 0 bounce" "verify unix - - n - 1 verify" "flush unix n - n 1000? 0 flush" \
      "proxymap unix - - n - - proxymap" "showq unix n - n - - showq" "error unix - - n - - error" \
      "retry unix - - n - - error" "discard unix - - n - - discard" "anvil unix - - n - 1 anvil" \
      "scache unix - - n - 1 scache" "postlog unix-dgram n - n - 1 postlogd" "tlsmgr unix - - n 1000? 1 tlsmgr"; do echo "$s"; done
  } >"$CONF/master.cf"
  postconf -c "$CONF" -n >/dev/null
}
pf_running() { local p; p=$(tr -dc 0-9 <"$RUN/queue/pid/master.pid" 2>/dev/null); [[ -n $p ]] && [[ $(cat /proc/$p/comm 2>/dev/null) == master ]]; }
pf_up() {
  ns_up
  pf_running && return 0
  rm -rf "$RUN/queue" "$RUN/data"; pf_conf
  nsx postfix -c "$CONF" start >"$RUN/postfix.out" 2>&1
  for _ in $(seq 1 100); do nsx ss -Hltn | grep -q 127.0.0.32:25 && break; sleep 0.1; done
  pf_running && echo "postfix up, master $(cat $RUN/queue/pid/master.pid)" >&2
}
pf_down() { nsx postfix -c "$CONF" stop >>"$RUN/postfix.out" 2>&1; }
cap_start() { # PCAP
  rm -f "$1"
  nsenter --net="/run/netns/$NS" tcpdump -Z root -i lo --immediate-mode -U -w "$1" 'tcp' 2>"$1.err" &
  CAP_PID=$!
  for _ in $(seq 1 100); do grep -qs "listening on" "$1.err" && break; sleep 0.1; done
}
cap_stop() { # ADDR-REGEX PCAP
  for _ in $(seq 1 400); do
    [[ -z $(nsx ss -Htn state connected | grep -v TIME-WAIT | grep -E "$1") ]] && break; sleep 0.1; done
  sleep 1; kill -TERM "$CAP_PID"
  for _ in $(seq 1 50); do kill -0 "$CAP_PID" 2>/dev/null || break; sleep 0.1; done
  wait "$CAP_PID" 2>/dev/null; tail -2 "$2.err"
}
mlog_mark() { MLOG_OFF=$(stat -c %s "$MAILLOG" 2>/dev/null || echo 0); }
mlog_save() { sleep 1; tail -c +$((MLOG_OFF + 1)) "$MAILLOG" > "$1"; }
oracle() { tshark -r "$1" -T fields -e frame.number -e tcp.stream -e tcp.srcport -e tcp.dstport -e tcp.len -e smtp.req.command -e smtp.response.code -e tcp.flags.str > "$1.oracle.txt" 2>/dev/null; }
report() { local p=$1
  timeout 60 $B/smtpcap analyze "$p" > "$p.analyze.txt" 2>&1; echo "rc=$?" >> "$p.analyze.txt"
  timeout 60 $B/smtpcap analyze --format json "$p" > "$p.analyze.json" 2>&1
  timeout 60 $B/smtpcap streams "$p" > "$p.streams.txt" 2>&1
  for s in $(tshark -r "$p" -T fields -e tcp.stream 2>/dev/null | sort -un); do timeout 60 $B/smtpcap follow -s $s "$p" > "$p.follow$s.txt" 2>&1; done; }
# start a proxy (python file, args...) in the namespace; PROXY_PID
proxy_start() { local log=$1; shift; nsenter --net="/run/netns/$NS" timeout 300 python3 -u "$@" >"$log" 2>&1 & PROXY_PID=$!; sleep 0.5; }
proxy_stop() { kill -TERM "$PROXY_PID" 2>/dev/null; for _ in $(seq 1 30); do kill -0 "$PROXY_PID" 2>/dev/null || break; sleep 0.1; done; wait "$PROXY_PID" 2>/dev/null; }
