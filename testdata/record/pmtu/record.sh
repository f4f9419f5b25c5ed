#!/bin/bash
# Record testdata/pcaps/pmtu: a path-MTU black hole. Real Postfix 3.7 (server) and swaks (client) across
# two routers, the link between them with a small MTU, the client sending with DF set (the Linux default:
# path-MTU discovery on), and the ICMP "fragmentation needed" that router R1 sends back dropped on its way
# to the client, so the client never learns the smaller MTU.
#
#   pmtuc  c0 10.7.1.2/24 mtu 1500 --- r1a 10.7.1.1/24 mtu 1500   pmtur1   (ICMP out of r1a dropped)
#   pmtur1 r1b 10.7.2.1/24 mtu 1000 --- r2a 10.7.2.2/24 mtu 1000  pmtur2
#   pmtur2 r2b 10.7.3.1/24 mtu 1500 --- s0 10.7.3.2/24 mtu 1500   pmtus  (Postfix smtpd on 10.7.3.2:25)
#
# Both ends have MTU 1500, so both advertise MSS 1460 (1448 bytes of payload with timestamps). A datagram
# bigger than 1000 bytes with DF cannot cross R1 -> R2: R1 drops it and answers ICMP 3/4 (fragmentation
# needed, next-hop MTU 1000), which a tc filter on R1's client-facing interface (egress of r1a) drops.
# This kernel has no act_gact ("action drop") and there is no nft/iptables binary, so the filter is
# cls_bpf in direct-action mode on a clsact qdisc with a classic-BPF program: IPv4 protocol 1 -> TC_ACT_SHOT.
# Postfix's smtpd_timeout is 20s; swaks runs with --timeout 40.
#
# Sessions, all in the same two captures:
#   1. ~300-byte body: every segment is small, delivered.
#   2. ~8 KB body, client net.ipv4.tcp_mtu_probing=0 (default): the body's full-size segments vanish.
#      The script then waits (bounded) until the client's socket of session 2 is gone, so that switching
#      the namespace-wide sysctl for session 3 cannot change the end of session 2.
#   3. ~8 KB body, client net.ipv4.tcp_mtu_probing=1 (tcp_base_mss left at its default 1024): Linux's
#      black-hole detection lowers the MSS after some retransmission timeouts.
# Captures: on c0 (the client's own link: full-size segments and their retransmissions) and on r2b (the
# R2 -> server link: only what got through). Offloads off on every veth.
# Every wait bounded; stops only the PIDs it started; deletes its namespaces on exit.
# Run as root: bash testdata/record/pmtu/record.sh [OUTDIR]   (default /tmp/pmturec)
set -u
B=${1:-/tmp/pmturec}; RUN=$B/pfrun; CONF=$RUN/conf; MAILLOG=$RUN/log/maillog
NSS="pmtuc pmtur1 pmtur2 pmtus"; SMALL_MTU=1000
CLI=10.7.1.2; SRV=10.7.3.2
PIDS=()
nsx() { local n=$1; shift; nsenter --net="/run/netns/$n" "$@"; }

cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  if [[ -f $CONF/main.cf ]] && pf_running; then
    local m; m=$(tr -dc 0-9 <"$RUN/queue/pid/master.pid")
    nsx pmtus postfix -c "$CONF" stop >>"$RUN/postfix.out" 2>&1
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
  ip link add c0 netns pmtuc type veth peer name r1a netns pmtur1
  ip link add r1b netns pmtur1 type veth peer name r2a netns pmtur2
  ip link add r2b netns pmtur2 type veth peer name s0 netns pmtus
  nsx pmtuc  ip addr add 10.7.1.2/24 dev c0
  nsx pmtur1 ip addr add 10.7.1.1/24 dev r1a
  nsx pmtur1 ip addr add 10.7.2.1/24 dev r1b
  nsx pmtur2 ip addr add 10.7.2.2/24 dev r2a
  nsx pmtur2 ip addr add 10.7.3.1/24 dev r2b
  nsx pmtus  ip addr add 10.7.3.2/24 dev s0
  nsx pmtur1 ip link set r1b mtu $SMALL_MTU
  nsx pmtur2 ip link set r2a mtu $SMALL_MTU
  local d
  for d in pmtuc:c0 pmtur1:r1a pmtur1:r1b pmtur2:r2a pmtur2:r2b pmtus:s0; do
    nsx "${d%%:*}" ethtool -K "${d#*:}" tso off gso off gro off tx off rx off >/dev/null 2>&1
    nsx "${d%%:*}" ip link set "${d#*:}" up
  done
  nsx pmtuc  ip route add default via 10.7.1.1
  nsx pmtur1 ip route add 10.7.3.0/24 via 10.7.2.2
  nsx pmtur2 ip route add 10.7.1.0/24 via 10.7.2.1
  nsx pmtus  ip route add default via 10.7.3.1
  nsx pmtur1 sysctl -qw net.ipv4.ip_forward=1
  nsx pmtur2 sysctl -qw net.ipv4.ip_forward=1
  nsx pmtuc  sysctl -qw net.ipv4.tcp_mtu_probing=0   # the default, said explicitly (ip_no_pmtu_disc stays 0: DF set)
  # The black hole: drop every IPv4 ICMP datagram R1 sends toward the client.
  # cBPF on the Ethernet frame: ldh [12]; jeq 0x800 else ok; ldb [23]; jeq 1 else ok; ret 2 (TC_ACT_SHOT); ok: ret 0.
  nsx pmtur1 tc qdisc add dev r1a clsact || return 1
  nsx pmtur1 tc filter add dev r1a egress prio 1 protocol ip bpf \
    bytecode "6,40 0 0 12,21 0 3 2048,48 0 0 23,21 0 1 1,6 0 0 2,6 0 0 0" da || return 1
}
reach() { # C -> S through both routers: read Postfix's banner once (before any capture starts)
  for _ in $(seq 1 20); do
    nsx pmtuc timeout 3 bash -c "exec 3<>/dev/tcp/$SRV/25 && head -1 <&3 && printf 'QUIT\r\n' >&3" 2>/dev/null \
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
    echo "$SRV:25 inet n - n - - smtpd -o smtpd_timeout=20s"
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
  nsx pmtus postfix -c "$CONF" start >"$RUN/postfix.out" 2>&1
  for _ in $(seq 1 100); do nsx pmtus ss -Hltn | grep -q "$SRV:25" && break; sleep 0.1; done
  pf_running || { echo "postfix did not start" >&2; cat "$RUN/postfix.out" >&2; return 1; }
  echo "postfix up, master $(tr -dc 0-9 <"$RUN/queue/pid/master.pid")" >&2
}

cap_start() { # NS IFACE PCAP  -> CAP_PID
  rm -f "$3"
  # "or icmp": R1's ICMP (from 10.7.1.1) would be captured too, had it got through.
  # nsenter execs tcpdump, so $! is tcpdump's PID (a shell function in the background would not be).
  nsenter --net="/run/netns/$1" tcpdump -Z root -i "$2" --immediate-mode -U -w "$3" "ip and ((host $CLI and host $SRV) or icmp)" 2>"$3.err" &
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

swk() { # LOG ARGS...  (swaks --timeout 40 per read; the whole run bounded at 120 s)
  local log=$1; shift
  date +%T.%N >"$log"
  timeout 120 nsenter --net=/run/netns/pmtuc swaks --server $SRV --port 25 --helo client.example.org \
    --from a@example.org --timeout 40 "$@" </dev/null >>"$log" 2>&1; echo "rc=$? end $(date +%T.%N)" >>"$log"
}
cli_conns() { nsx pmtuc ss -Htnoi state connected | grep -v TIME-WAIT | grep -F "$SRV:25"; }
wait_cli_gone() { # MAXSECONDS: until the client namespace holds no connection to S:25 but TIME-WAIT
  local i
  for i in $(seq 1 "$1"); do [[ -z $(cli_conns) ]] && { echo "client sockets gone after ~${i}s" >&2; return 0; }; sleep 1; done
  echo "WARN: client socket still there after $1 s:" >&2; cli_conns >&2; return 1
}
stats() { # LABEL: counters that show the black hole (appended to $B/stats.txt)
  {
    echo "== $1 $(date +%T.%N)"
    echo "-- R1 clsact on r1a (dropped = ICMP dropped):"; nsx pmtur1 tc -s qdisc show dev r1a | grep -A1 clsact
    echo "-- R1 Icmp Out*:"; nsx pmtur1 nstat -saz IcmpOutMsgs IcmpOutDestUnreachs IcmpMsgOutType3 2>/dev/null
    echo "-- R1 forwarding drops (IpFragFails = DF set, too big):"; nsx pmtur1 nstat -saz IpFragFails IpForwDatagrams 2>/dev/null
    echo "-- C Icmp In*, TCP retransmissions:"; nsx pmtuc nstat -saz IcmpInMsgs IcmpInDestUnreachs TcpRetransSegs TcpExtTCPTimeouts 2>/dev/null
    echo "-- C route to S (no learned PMTU exception expected):"; nsx pmtuc ip route get $SRV
    echo "-- C sockets to S:25:"; cli_conns
  } >>"$B/stats.txt" 2>&1
}

net_up || exit 1
pf_up || exit 1
reach || exit 1
rm -f "$B/stats.txt"
body 300 >"$B/body300.txt"; body 8000 >"$B/body8k.txt"

cap_start pmtur2 r2b "$B/pmtu-server-side.pcap"; P_SRV=$CAP_PID
cap_start pmtuc c0 "$B/pmtu-client-side.pcap"; P_CLI=$CAP_PID
MLOG_OFF=$(stat -c %s "$MAILLOG" 2>/dev/null || echo 0)
stats start

# 1: ~300-byte body: small segments only, delivered
swk "$B/s1.swaks.txt" --to b@example.test --header "Subject: pmtu 1, small" --body "@$B/body300.txt"
sleep 1; stats "after session 1"
# 2: ~8 KB body, tcp_mtu_probing=0
swk "$B/s2.swaks.txt" --to c@example.test --header "Subject: pmtu 2, 8 KB, no MTU probing" --body "@$B/body8k.txt"
stats "session 2 swaks ended"
wait_cli_gone 240; sleep 1; stats "session 2 client socket gone"
# 3: ~8 KB body, tcp_mtu_probing=1
nsx pmtuc sysctl -w net.ipv4.tcp_mtu_probing=1 >>"$B/stats.txt"
nsx pmtuc sysctl net.ipv4.tcp_base_mss >>"$B/stats.txt"
swk "$B/s3.swaks.txt" --to d@example.test --header "Subject: pmtu 3, 8 KB, tcp_mtu_probing=1" --body "@$B/body8k.txt"
stats "session 3 swaks ended"
wait_cli_gone 240; sleep 1; stats "session 3 client socket gone"

cap_stop "$P_SRV" "$B/pmtu-server-side.pcap"; cap_stop "$P_CLI" "$B/pmtu-client-side.pcap"
PIDS=()
sleep 1; tail -c +$((MLOG_OFF + 1)) "$MAILLOG" >"$B/maillog" 2>/dev/null
echo "== done: $B/pmtu-client-side.pcap $B/pmtu-server-side.pcap" >&2
# Check:
#   tshark -r $B/pmtu-client-side.pcap -T fields -e frame.number -e frame.time_relative -e tcp.stream -e tcp.len \
#     -e tcp.analysis.retransmission -e ip.flags.df -e tcp.seq -e tcp.ack -e smtp.req.command -e smtp.response.code
#   tshark -r $B/pmtu-client-side.pcap -Y icmp     (must print nothing)
