# sweep lib: namespace "sweep", per-scenario Exim + tcpdump. Bounded waits, stop by PID.
NS=sweep
nsx() { nsenter --net="/run/netns/$NS" "$@"; }
nsrun() { nsenter --net=/run/netns/sweep "$@"; }
log() { echo "== $*" >&2; }
ns_up() {
  if ! ip netns list | grep -qw "$NS"; then
    ip netns add $NS
    nsx ip link set lo up; nsx ip link set lo mtu 1500
    nsx ethtool -K lo tso off gso off gro off >/dev/null 2>&1
    nsx sysctl -qw net.ipv4.tcp_early_retrans=0
  fi
}
add_addr() { nsx ip addr add "$1/32" dev lo 2>/dev/null || true; }
stop_pid() { local p=$1; kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; }
# exim_conf DIR ADDR EXTRA_MAIN_FILE : writes DIR/exim.conf
exim_conf() {
  local d=$1 addr=$2 extra=${3:-/dev/null}
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
acl_smtp_helo = acl_check_helo
EOC
  cat "$extra"
  cat <<EOC

begin acl

acl_check_helo:
  deny    condition = \${if and{{eq{\$sender_host_address}{127.0.1.12}}{match{\$smtp_command}{(?i)^ehlo}}}}
          message = EHLO not supported here, use HELO
  accept

acl_check_data:
  defer   condition = \${if match{\$h_subject:}{defer me}}
          message = queue full, try later
  deny    condition = \${if match{\$h_subject:}{reject me}}
          message = content rejected
  accept

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
  sleep 1; kill -TERM "$CAP_PID"; wait "$CAP_PID" || true; cat "$2.err" | tail -2
}
oracle() { tshark -r "$1" -T fields -e frame.number -e tcp.stream -e tcp.len -e smtp.req.command -e smtp.response.code -e tcp.flags.str > "$1.oracle.txt" 2>/dev/null; }
report() { local p=$1; /tmp/sweep/smtpcap analyze "$p" > "$p.analyze.txt" 2>&1; echo "rc=$?" >> "$p.analyze.txt"
  /tmp/sweep/smtpcap analyze --format json "$p" > "$p.analyze.json" 2>&1
  /tmp/sweep/smtpcap streams "$p" > "$p.streams.txt" 2>&1
  for s in $(tshark -r "$p" -T fields -e tcp.stream 2>/dev/null | sort -un); do /tmp/sweep/smtpcap follow -s $s "$p" > "$p.follow$s.txt" 2>&1; done; }
