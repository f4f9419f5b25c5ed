# psweep lib: namespace "psweep", one Postfix 3.7 (many smtpd listeners, -o per scenario), tcpdump, oracle.
# Bounded waits; stop only our PIDs.
NS=psweep; B=/tmp/psweep; RUN=$B/pfrun; CONF=$RUN/conf; MAILLOG=$RUN/log/maillog
nsx() { nsenter --net="/run/netns/$NS" "$@"; }
ns_up() {
  if ! ip netns list | grep -qw "$NS"; then
    ip netns add $NS
    nsx ip link set lo up; nsx ip link set lo mtu 1500
    nsx ethtool -K lo tso off gso off gro off >/dev/null 2>&1
  fi
  for n in 61 62 63 64 65 75 66 76 67 77 68 69; do
    nsx ip addr add 127.0.0.$n/32 dev lo 2>/dev/null || true
    nsx ip addr add 127.0.1.$n/32 dev lo 2>/dev/null || true
  done
}
pf_conf() {
  mkdir -p "$CONF" "$RUN/queue" "$RUN/data" "$RUN/log"; chown postfix "$RUN/data"; chmod 755 $B $RUN
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
mynetworks = 127.0.0.1/32
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
EOC
  printf 'root OK\npostmaster OK\nb OK\nc OK\nd OK\n' >"$CONF/recipients"
  {
    echo "127.0.0.61:25 inet n - n - - smtpd"
    echo "127.0.0.62:25 inet n - n - - smtpd -o smtpd_timeout=10s"
    echo "127.0.0.63:25 inet n - n - - smtpd"
    echo "127.0.0.64:25 inet n - n - - smtpd"
    echo "127.0.0.65:25 inet n - n - - smtpd -o smtpd_discard_ehlo_keywords=pipelining -o smtpd_forbid_unauth_pipelining=no"
    echo "127.0.0.75:25 inet n - n - - smtpd -o smtpd_forbid_unauth_pipelining=yes"
    echo "127.0.0.66:25 inet n - n - - smtpd -o smtpd_recipient_limit=2"
    echo "127.0.0.76:25 inet n - n - - smtpd -o smtpd_hard_error_limit=3"
    echo "127.0.0.67:25 inet n - n - - smtpd -o smtpd_delay_reject=no -o { smtpd_client_restrictions = sleep 1 }"
    echo "127.0.0.77:25 inet n - n - - smtpd -o smtpd_delay_reject=no -o { smtpd_client_restrictions = sleep 1, reject_unauth_pipelining }"
    echo "127.0.0.68:25 inet n - n - - smtpd"
    echo "127.0.0.69:25 inet n - n - - smtpd -o smtpd_timeout=5s"
    for s in "pickup unix n - n 60 1 pickup" "cleanup unix n - n - 0 cleanup" "qmgr unix n - n 300 1 qmgr" \
      "rewrite unix - - n - - trivial-rewrite" "bounce unix - - n - 0 bounce" "defer unix - - n - 0 bounce" \
      "trace unix - - n - 0 bounce" "verify unix - - n - 1 verify" "flush unix n - n 1000? 0 flush" \
      "proxymap unix - - n - - proxymap" "showq unix n - n - - showq" "error unix - - n - - error" \
      "retry unix - - n - - error" "discard unix - - n - - discard" "anvil unix - - n - 1 anvil" \
      "scache unix - - n - 1 scache" "postlog unix-dgram n - n - 1 postlogd"; do echo "$s"; done
  } >"$CONF/master.cf"
  postconf -c "$CONF" -n >/dev/null
}
pf_running() { local p; p=$(tr -dc 0-9 <"$RUN/queue/pid/master.pid" 2>/dev/null); [[ -n $p ]] && [[ $(cat /proc/$p/comm 2>/dev/null) == master ]]; }
pf_up() {
  ns_up
  pf_running && return 0
  rm -rf "$RUN"; pf_conf
  nsx postfix -c "$CONF" start >"$RUN/postfix.out" 2>&1
  for _ in $(seq 1 100); do nsx ss -Hltn | grep -q 127.0.0.69:25 && break; sleep 0.1; done
  pf_running && echo "postfix up, master $(cat $RUN/queue/pid/master.pid)" >&2
}
pf_down() { nsx postfix -c "$CONF" stop >>"$RUN/postfix.out" 2>&1; }
cap_start() { # PCAP FILTER
  rm -f "$1"
  # nsenter itself, not the nsx function: a function run with & is a subshell, and SIGTERM to its
  # PID would leave tcpdump running (nsenter execs tcpdump, so $! is tcpdump's PID).
  nsenter --net="/run/netns/$NS" tcpdump -Z root -i lo --immediate-mode -U -w "$1" "$2" 2>"$1.err" &
  CAP_PID=$!
  for _ in $(seq 1 100); do grep -qs "listening on" "$1.err" && break; sleep 0.1; done
}
cap_stop() { # CLIENT-ADDR-REGEX PCAP
  for _ in $(seq 1 300); do
    [[ -z $(nsx ss -Htn state connected | grep -v TIME-WAIT | grep -E "$1") ]] && break; sleep 0.1; done
  sleep 1; kill -TERM "$CAP_PID"
  for _ in $(seq 1 50); do kill -0 "$CAP_PID" 2>/dev/null || break; sleep 0.1; done
  wait "$CAP_PID" 2>/dev/null; tail -2 "$2.err"
}
mlog_mark() { MLOG_OFF=$(stat -c %s "$MAILLOG"); }
mlog_save() { sleep 1; tail -c +$((MLOG_OFF + 1)) "$MAILLOG" > "$1"; }
oracle() { tshark -r "$1" -T fields -e frame.number -e tcp.stream -e tcp.len -e smtp.req.command -e smtp.response.code -e tcp.flags.str > "$1.oracle.txt" 2>/dev/null; }
report() { local p=$1
  timeout 60 $B/smtpcap analyze "$p" > "$p.analyze.txt" 2>&1; echo "rc=$?" >> "$p.analyze.txt"
  timeout 60 $B/smtpcap analyze --format json "$p" > "$p.analyze.json" 2>&1
  timeout 60 $B/smtpcap streams "$p" > "$p.streams.txt" 2>&1
  for s in $(tshark -r "$p" -T fields -e tcp.stream 2>/dev/null | sort -un); do timeout 60 $B/smtpcap follow -s $s "$p" > "$p.follow$s.txt" 2>&1; done; }
runc() { # FUNC SRV CLI LOG  (bounded 90s)
  timeout 90 nsenter --net=/run/netns/$NS python3 $B/run.py "$1" "$2" "$3" 2>"$4"; echo "rc=$?" >> "$4"; }
