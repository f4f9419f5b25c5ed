#!/bin/bash
# Record testdata/pcaps/fragments: real Postfix 3.7 (server) and swaks (client) across two routers, the
# link between them with a small MTU, the client sending without DF so router R1 fragments its segments.
#
#   fragc  c0 10.7.1.2/24 mtu 1500 --- r1a 10.7.1.1/24 mtu 1500   fragr1
#   fragr1 r1b 10.7.2.1/24 mtu 576 --- r2a 10.7.2.2/24 mtu 576    fragr2
#   fragr2 r2b 10.7.3.1/24 mtu 1500 --- s0 10.7.3.2/24 mtu 1500   frags (Postfix smtpd on 10.7.3.2:25)
#
# Both ends have MTU 1500, so both advertise MSS 1460; the client (net.ipv4.ip_no_pmtu_disc=1) sends
# 1500-byte datagrams without DF, R1 cuts them to fit 576, R2 forwards the fragments as they are (no
# conntrack, so no defragmentation), S reassembles. Captures: on r2b (R2 -> S link: fragments and the
# server's replies) and on c0 (the client's own, unfragmented view). Offloads off on every veth.
# Every wait bounded; stops only the PIDs it started; deletes its namespaces on exit.
# Run as root: bash testdata/record/fragments/record.sh [OUTDIR]   (default /tmp/fragrec)
set -u
B=${1:-/tmp/fragrec}; RUN=$B/pfrun; CONF=$RUN/conf; MAILLOG=$RUN/log/maillog
NSS="fragc fragr1 fragr2 frags"; SMALL_MTU=576
CLI=10.7.1.2; SRV=10.7.3.2
PIDS=()
nsx() { local n=$1; shift; nsenter --net="/run/netns/$n" "$@"; }

cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  if [[ -f $CONF/main.cf ]] && pf_running; then
    local m; m=$(tr -dc 0-9 <"$RUN/queue/pid/master.pid")
    nsx frags postfix -c "$CONF" stop >>"$RUN/postfix.out" 2>&1
    for _ in $(seq 1 100); do kill -0 "$m" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$m" 2>/dev/null && echo "WARN: postfix master $m still running" >&2
  fi
  for n in $NSS; do ip netns del "$n" 2>/dev/null; done
}
trap cleanup EXIT

for n in $NSS; do
  if ip netns list | grep -qw "$n"; then echo "namespace $n exists already; not touching it" >&2; trap - EXIT; exit 1; fi
done
mkdir -p "$B"; chmod 755 "$B"

net_up() {
  local n
  for n in $NSS; do ip netns add "$n"; nsx "$n" ip link set lo up; done
  ip link add c0 netns fragc type veth peer name r1a netns fragr1
  ip link add r1b netns fragr1 type veth peer name r2a netns fragr2
  ip link add r2b netns fragr2 type veth peer name s0 netns frags
  nsx fragc  ip addr add 10.7.1.2/24 dev c0
  nsx fragr1 ip addr add 10.7.1.1/24 dev r1a
  nsx fragr1 ip addr add 10.7.2.1/24 dev r1b
  nsx fragr2 ip addr add 10.7.2.2/24 dev r2a
  nsx fragr2 ip addr add 10.7.3.1/24 dev r2b
  nsx frags  ip addr add 10.7.3.2/24 dev s0
  nsx fragr1 ip link set r1b mtu $SMALL_MTU
  nsx fragr2 ip link set r2a mtu $SMALL_MTU
  local d
  for d in fragc:c0 fragr1:r1a fragr1:r1b fragr2:r2a fragr2:r2b frags:s0; do
    nsx "${d%%:*}" ethtool -K "${d#*:}" tso off gso off gro off tx off rx off >/dev/null 2>&1
    nsx "${d%%:*}" ip link set "${d#*:}" up
  done
  nsx fragc  ip route add default via 10.7.1.1
  nsx fragr1 ip route add 10.7.3.0/24 via 10.7.2.2
  nsx fragr2 ip route add 10.7.1.0/24 via 10.7.2.1
  nsx frags  ip route add default via 10.7.3.1
  nsx fragr1 sysctl -qw net.ipv4.ip_forward=1
  nsx fragr2 sysctl -qw net.ipv4.ip_forward=1
  nsx fragc  sysctl -qw net.ipv4.ip_no_pmtu_disc=1   # client's TCP sockets: IP_PMTUDISC_DONT, DF clear
}
reach() { # C -> S through both routers: read Postfix's banner once (before any capture starts)
  for _ in $(seq 1 20); do
    nsx fragc timeout 3 bash -c "exec 3<>/dev/tcp/$SRV/25 && head -1 <&3 && printf 'QUIT\r\n' >&3" 2>/dev/null \
      | grep -q '^220 ' && return 0
    sleep 0.5
  done
  echo "C cannot reach S:25" >&2; return 1
}

pf_conf() {
  mkdir -p "$CONF" "$RUN/queue" "$RUN/data" "$RUN/log"; chown postfix "$RUN/data"; chmod 755 "$RUN"
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
mynetworks = 10.7.1.0/24
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
    echo "$SRV:25 inet n - n - - smtpd"
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
  rm -rf "$RUN"; pf_conf
  nsx frags postfix -c "$CONF" start >"$RUN/postfix.out" 2>&1
  for _ in $(seq 1 100); do nsx frags ss -Hltn | grep -q "$SRV:25" && break; sleep 0.1; done
  pf_running || { echo "postfix did not start" >&2; cat "$RUN/postfix.out" >&2; return 1; }
  echo "postfix up, master $(tr -dc 0-9 <"$RUN/queue/pid/master.pid")" >&2
}

cap_start() { # NS IFACE PCAP  -> CAP_PID
  rm -f "$3"
  # No port filter: a BPF "port 25" would drop the non-first fragments (they carry no TCP header).
  # nsenter execs tcpdump, so $! is tcpdump's PID (a shell function in the background would not be).
  nsenter --net="/run/netns/$1" tcpdump -Z root -i "$2" --immediate-mode -U -w "$3" "ip and host $CLI and host $SRV" 2>"$3.err" &
  CAP_PID=$!; PIDS+=("$CAP_PID")
  for _ in $(seq 1 100); do grep -qs "listening on" "$3.err" && break; sleep 0.1; done
}
cap_stop() { # PID PCAP
  kill -TERM "$1"
  for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  wait "$1" 2>/dev/null; tail -2 "$2.err" >&2
}

body() { # BYTES -> deterministic text body of about that many bytes (LF lines; swaks sends CRLF)
  local n=$1 i=1 out=""
  while (( ${#out} < n )); do out+=$(printf 'line %04d: the quick brown fox jumps over the lazy dog 0123456789' "$i")$'\n'; ((i++)); done
  printf '%s' "$out"
}

swk() { # LOG ARGS...  (bounded 60 s)
  local log=$1; shift
  timeout 60 nsenter --net=/run/netns/fragc swaks --server $SRV --port 25 --helo client.example.org \
    --from a@example.org "$@" </dev/null >"$log" 2>&1; echo "rc=$?" >>"$log"
}

net_up || exit 1
pf_up || exit 1
reach || exit 1
body 4000 >"$B/body4k.txt"; body 3000 >"$B/body3k.txt"; body 20000 >"$B/body20k.txt"

cap_start fragr2 r2b "$B/frag-postfix.pcap"; P_SRV=$CAP_PID
cap_start fragc c0 "$B/frag-postfix-client.pcap"; P_CLI=$CAP_PID
MLOG_OFF=$(stat -c %s "$MAILLOG" 2>/dev/null || echo 0)

# 1: one message, ~4 KB body
swk "$B/s1.swaks.txt" --to b@example.test --header "Subject: fragments 1, 4 KB" --body "@$B/body4k.txt"
sleep 0.5
# 2: PIPELINING (offered by Postfix), three recipients, ~3 KB body. (In swaks 20201014 --pipe is the
#    pipe-to-a-command transport, not pipelining: the option is --pipeline.)
swk "$B/s2.swaks.txt" --pipeline --to b@example.test,c@example.test,d@example.test \
  --header "Subject: fragments 2, pipelined, 3 KB" --body "@$B/body3k.txt"
sleep 0.5
# 3: one message, ~20 KB body
swk "$B/s3.swaks.txt" --to b@example.test --header "Subject: fragments 3, 20 KB" --body "@$B/body20k.txt"

for _ in $(seq 1 300); do
  [[ -z $(nsx fragc ss -Htn state connected | grep -v TIME-WAIT | grep -F "$SRV:25") ]] && break; sleep 0.1; done
sleep 1
cap_stop "$P_SRV" "$B/frag-postfix.pcap"; cap_stop "$P_CLI" "$B/frag-postfix-client.pcap"
PIDS=()
sleep 1; tail -c +$((MLOG_OFF + 1)) "$MAILLOG" >"$B/maillog" 2>/dev/null
echo "== done: $B/frag-postfix.pcap $B/frag-postfix-client.pcap" >&2
# Check (two passes, so the earlier fragments get ip.reassembled_in):
#   tshark -2 -r $B/frag-postfix.pcap -T fields -e frame.number -e ip.flags.mf -e ip.frag_offset -e ip.id \
#     -e tcp.stream -e tcp.len -e smtp.req.command -e ip.reassembled_in
#   tshark -r $B/frag-postfix.pcap -q -z follow,tcp,ascii,0
