# exim-sweep2 lib: namespace sw10, per-scenario Exim + tcpdump. Bounded waits, stop by PID.
NS=sw10
B=${SWEEP:-/tmp/exim-sweep2}   # scratch: scenario dirs, caps/, the smtpcap binary for report()
REC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Every script records into $B/caps and runs report() with $B/smtpcap:
#   (cd "$REC/../../.." && go build -o "$B/smtpcap" ./cmd/smtpcap)
# Copy the captures a test needs into testdata/pcaps/exim-sweep2 by hand.
mkdir -p "$B/caps"
nsx() { nsenter --net="/run/netns/$NS" "$@"; }
log() { echo "== $*" >&2; }
ns_up() {
  if ! ip netns list | grep -qw "$NS"; then
    ip netns add $NS
    nsx ip link set lo up; nsx ip link set lo mtu 1500
    nsx ethtool -K lo tso off gso off gro off >/dev/null 2>&1
    nsx sysctl -qw net.ipv4.tcp_early_retrans=0
    nsx sysctl -qw net.ipv6.conf.lo.disable_ipv6=0 2>/dev/null
  fi
}
add_addr() { case $1 in *:*) nsx ip -6 addr add "$1/128" dev lo nodad 2>/dev/null || true;; *) nsx ip addr add "$1/32" dev lo 2>/dev/null || true;; esac; }
stop_pid() { local p=$1; kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; }
# exim_conf DIR ADDR EXTRA_MAIN_FILE [EXTRA_TAIL_FILE]: writes DIR/exim.conf
exim_conf() {
  local d=$1 addr=$2 extra=${3:-/dev/null} tail=${4:-/dev/null}
  mkdir -p "$d/spool" "$d/log" "$d/mail"; chown -R Debian-exim:Debian-exim "$d/spool" "$d/log" "$d/mail"
  { cat <<EOC
primary_hostname = mx.example.test
qualify_domain = example.test
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = $d/spool
log_file_path = $d/log/%slog
pid_file_path = $d/exim.pid
local_interfaces = <; $addr
keep_environment =
host_lookup =
rfc1413_hosts =
smtp_banner = \$smtp_active_hostname ESMTP Exim \$version_number
pipelining_connect_advertise_hosts =
prdr_enable = false
acl_smtp_rcpt = acl_check_rcpt
EOC
  cat "$extra"
  cat <<EOC

begin acl

acl_check_rcpt:
  deny    local_parts = nobody
          message     = unknown user
  defer   local_parts = grey
          message     = greylisted, try again later
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
  cat "$tail"
  } > "$d/exim.conf"
  exim -C "$d/exim.conf" -bV > "$d/exim-bV.log" 2>&1 || { cat "$d/exim-bV.log"; return 1; }
}
exim_start() { # DIR ADDR PORT
  local d=$1 addr=$2 port=${3:-25}
  nsenter --net="/run/netns/$NS" exim -bdf -oX "$port" -C "$d/exim.conf" >>"$d/exim.out" 2>&1 &
  EXIM_PID=$!
  for _ in $(seq 1 100); do
    [[ -n $(nsx ss -Hltn "sport = :$port" | grep -F "$addr") ]] && break; sleep 0.1; done
  [[ $(cat /proc/$EXIM_PID/comm) == exim ]] || echo "exim not running"
}
cap_start() { # PCAP [FILTER]
  rm -f "$1"
  nsenter --net="/run/netns/$NS" tcpdump -Z root -i lo --immediate-mode -U -w "$1" "${2:-tcp}" 2>"$1.err" &
  CAP_PID=$!
  for _ in $(seq 1 100); do grep -qs "listening on" "$1.err" && break; sleep 0.1; done
}
cap_stop() { # ADDR PCAP
  for _ in $(seq 1 300); do
    [[ -z $(nsx ss -Htn state connected | grep -v TIME-WAIT | grep -F "$1") ]] && break; sleep 0.1; done
  sleep 1; kill -TERM "$CAP_PID"; wait "$CAP_PID" || true; tail -2 "$2.err"
}
oracle() { tshark -r "$1" -T fields -e frame.number -e tcp.stream -e tcp.len -e smtp.req.command -e smtp.response.code -e tcp.flags.str > "$1.oracle.txt" 2>/dev/null; }
report() { local p=$1; $B/smtpcap analyze "$p" > "$p.analyze.txt" 2>&1; echo "rc=$?" >> "$p.analyze.txt"
  $B/smtpcap analyze --format json "$p" > "$p.analyze.json" 2>&1
  $B/smtpcap streams "$p" > "$p.streams.txt" 2>&1
  for s in $(tshark -r "$p" -T fields -e tcp.stream 2>/dev/null | sort -un); do timeout 30 $B/smtpcap follow -s $s "$p" > "$p.follow$s.txt" 2>&1; done; }
