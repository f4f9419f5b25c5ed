# ssweep lib: the postfix-sweep helpers (../postfix-sweep/lib.sh: tcpdump start/stop, maillog
# slice, tshark oracle, smtpcap reports) with this sweep's namespace, Postfix listeners, TLS
# certificate and SASL users. swaks is the only client. Bounded waits; stop only our PIDs.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../postfix-sweep/lib.sh"
NS=ssweep; B=/tmp/ssweep; RUN=$B/pfrun; CONF=$RUN/conf; MAILLOG=$RUN/log/maillog
SMTPCAP=${SMTPCAP:-$B/smtpcap}
eval "$(declare -f pf_conf | sed '1s/pf_conf/pf_conf_psweep/')"
ns_up() {
  if ! ip netns list | grep -qw "$NS"; then
    ip netns add $NS
    nsx ip link set lo up; nsx ip link set lo mtu 1500
    nsx ethtool -K lo tso off gso off gro off >/dev/null 2>&1
  fi
  for n in 81 82 83 84; do
    nsx ip addr add 127.0.0.$n/32 dev lo 2>/dev/null || true
    nsx ip addr add 127.0.1.$n/32 dev lo 2>/dev/null || true
  done
}
# pf_conf: the postfix-sweep main.cf, plus IPv6, STARTTLS, AUTH in the clear and recipient
# refusals (refused@ 550, busy@ 450); listeners:
#   127.0.0.81:25 and [::1]:25  defaults        127.0.0.81:465  TLS on connect
#   127.0.0.82:25  message_size_limit=20000    127.0.0.83:25   smtpd_timeout=5s
#   127.0.0.84:25  smtpd_forbid_bare_newline=yes (no exclusions)
pf_conf() {
  pf_conf_psweep
  [[ -s $B/tls.pem ]] || openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=mx.example.test \
    -keyout $B/tls.key -out $B/tls.pem >/dev/null 2>&1
  mkdir -p "$CONF/sasl"
  printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: %s\nmech_list: PLAIN LOGIN CRAM-MD5\n' \
    "$CONF/sasldb2" >"$CONF/sasl/smtpd.conf" # Debian: $config_directory/sasl
  echo secret | saslpasswd2 -p -f "$CONF/sasldb2" -u mx.example.test -c alice
  chown postfix "$CONF/sasldb2"
  printf 'refused@example.test 550 5.1.1 <refused@example.test>: mailbox unavailable\nbusy@example.test 450 4.2.1 <busy@example.test>: try again later\n' >"$CONF/rcpt_access"
  sed -i 's/^inet_protocols = .*/inet_protocols = all/; s|^mynetworks = .*|mynetworks = 127.0.0.1/32|' "$CONF/main.cf"
  cat >>"$CONF/main.cf" <<EOC
smtpd_recipient_restrictions = check_recipient_access texthash:$CONF/rcpt_access, permit_sasl_authenticated, reject_unauth_destination
smtpd_tls_security_level = may
smtpd_tls_cert_file = $B/tls.pem
smtpd_tls_key_file = $B/tls.key
smtpd_tls_auth_only = no
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
smtpd_sasl_local_domain = mx.example.test
EOC
  local services; services=$(grep -v ' inet ' "$CONF/master.cf")
  {
    echo "127.0.0.81:25 inet n - n - - smtpd"
    echo "[::1]:25 inet n - n - - smtpd"
    echo "127.0.0.81:465 inet n - n - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt"
    echo "127.0.0.82:25 inet n - n - - smtpd -o message_size_limit=20000"
    echo "127.0.0.83:25 inet n - n - - smtpd -o smtpd_timeout=5s"
    echo "127.0.0.84:25 inet n - n - - smtpd -o smtpd_forbid_bare_newline=yes -o smtpd_forbid_bare_newline_exclusions="
    echo "$services"
    echo "tlsmgr unix - - n 1000? 1 tlsmgr"
  } >"$CONF/master.cf"
  postconf -c "$CONF" -n >/dev/null
}
pf_up() {
  ns_up
  pf_running && return 0
  rm -rf "$RUN"; pf_conf
  nsx postfix -c "$CONF" start >"$RUN/postfix.out" 2>&1
  for _ in $(seq 1 100); do nsx ss -Hltn | grep -q 127.0.0.84:25 && break; sleep 0.1; done
  pf_running && echo "postfix up, master $(cat $RUN/queue/pid/master.pid)" >&2
}
report() { local p=$1 s
  timeout 60 $SMTPCAP analyze "$p" > "$p.analyze.txt" 2>&1; echo "rc=$?" >> "$p.analyze.txt"
  timeout 60 $SMTPCAP analyze --format json "$p" > "$p.analyze.json" 2>&1
  timeout 60 $SMTPCAP streams "$p" > "$p.streams.txt" 2>&1
  for s in $(tshark -r "$p" -T fields -e tcp.stream 2>/dev/null | sort -un); do timeout 60 $SMTPCAP follow -s $s "$p" > "$p.follow$s.txt" 2>&1; done; }
# sw LOG ARGS…: one swaks session, bounded to 60 s, its transcript appended to LOG
sw() { local log=$1; shift
  echo "### swaks $*" >>"$log"
  timeout 60 nsenter --net=/run/netns/$NS swaks --timeout 20 "$@" >>"$log" 2>&1; echo "rc=$?" >>"$log"; sleep 0.5; }
ns_down() { pf_down; ip netns del $NS; }
# cap_start: postfix-sweep's, with a 64 MiB capture buffer: at the default 2 MiB the kernel drops
# packets of the 5 MB message on loopback.
cap_start() { # PCAP FILTER
  rm -f "$1"
  nsenter --net="/run/netns/$NS" tcpdump -B 65536 -Z root -i lo --immediate-mode -U -w "$1" "$2" 2>"$1.err" &
  CAP_PID=$!
  for _ in $(seq 1 100); do grep -qs "listening on" "$1.err" && break; sleep 0.1; done
}
