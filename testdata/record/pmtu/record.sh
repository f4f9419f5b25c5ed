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
# The path, Postfix's configuration and tcpdump come from ../lib (path.sh, postfix.sh, capture.sh).
# Run as root: bash testdata/record/pmtu/record.sh [OUTDIR]   (default /tmp/pmturec)
#   SMTPCAP_NS_PREFIX=P names the namespaces Pc, Pr1, Pr2, Ps instead of pmtuc, pmtur1, pmtur2, pmtus.
set -u
LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)
source "$LIB/path.sh"      # nsx, path_names, path_up, path_reach, path_down; CLI, SRV
source "$LIB/postfix.sh"   # pf_write_conf, pf_daemon_start, pf_daemon_stop
source "$LIB/capture.sh"   # cap_start, cap_stop, cap_kill_all
B=${1:-/tmp/pmturec}; RUN=$B/pfrun; CONF=$RUN/conf; MAILLOG=$RUN/log/maillog
path_names "${SMTPCAP_NS_PREFIX:-pmtu}"   # namespaces pmtuc pmtur1 pmtur2 pmtus
SMALL_MTU=1000

cleanup() { cap_kill_all; pf_daemon_stop "$NS_S"; path_down; }
path_refuse_existing || exit 1
trap cleanup EXIT
mkdir -p "$B"; chmod 755 "$B"

net_up() {
  path_up $SMALL_MTU
  nsx "$NS_C" sysctl -qw net.ipv4.tcp_mtu_probing=0   # the default, said explicitly (ip_no_pmtu_disc stays 0: DF set)
  # The black hole: drop every IPv4 ICMP datagram R1 sends toward the client.
  # cBPF on the Ethernet frame: ldh [12]; jeq 0x800 else ok; ldb [23]; jeq 1 else ok; ret 2 (TC_ACT_SHOT); ok: ret 0.
  nsx "$NS_R1" tc qdisc add dev r1a clsact || return 1
  nsx "$NS_R1" tc filter add dev r1a egress prio 1 protocol ip bpf \
    bytecode "6,40 0 0 12,21 0 3 2048,48 0 0 23,21 0 1 1,6 0 0 2,6 0 0 0" da || return 1
}
pf_up() { pf_write_conf 10.7.1.0/24 "$SRV:25 inet n - n - - smtpd -o smtpd_timeout=20s" && pf_daemon_start "$NS_S" "$SRV"; }

body() { # BYTES -> deterministic text body of about that many bytes (LF lines; swaks sends CRLF)
  local n=$1 i=1 out=""
  while (( ${#out} < n )); do out+=$(printf 'line %04d: the quick brown fox jumps over the lazy dog 0123456789' "$i")$'\n'; ((i++)); done
  printf '%s' "$out"
}

swk() { # LOG ARGS...  (swaks --timeout 40 per read; the whole run bounded at 120 s)
  local log=$1; shift
  date +%T.%N >"$log"
  timeout 120 nsenter --net="/run/netns/$NS_C" swaks --server $SRV --port 25 --helo client.example.org \
    --from a@example.org --timeout 40 "$@" </dev/null >>"$log" 2>&1; echo "rc=$? end $(date +%T.%N)" >>"$log"
}
cli_conns() { nsx "$NS_C" ss -Htnoi state connected | grep -v TIME-WAIT | grep -F "$SRV:25"; }
wait_cli_gone() { # MAXSECONDS: until the client namespace holds no connection to S:25 but TIME-WAIT
  local i
  for i in $(seq 1 "$1"); do [[ -z $(cli_conns) ]] && { echo "client sockets gone after ~${i}s" >&2; return 0; }; sleep 1; done
  echo "WARN: client socket still there after $1 s:" >&2; cli_conns >&2; return 1
}
stats() { # LABEL: counters that show the black hole (appended to $B/stats.txt)
  {
    echo "== $1 $(date +%T.%N)"
    echo "-- R1 clsact on r1a (dropped = ICMP dropped):"; nsx "$NS_R1" tc -s qdisc show dev r1a | grep -A1 clsact
    echo "-- R1 Icmp Out*:"; nsx "$NS_R1" nstat -saz IcmpOutMsgs IcmpOutDestUnreachs IcmpMsgOutType3 2>/dev/null
    echo "-- R1 forwarding drops (IpFragFails = DF set, too big):"; nsx "$NS_R1" nstat -saz IpFragFails IpForwDatagrams 2>/dev/null
    echo "-- C Icmp In*, TCP retransmissions:"; nsx "$NS_C" nstat -saz IcmpInMsgs IcmpInDestUnreachs TcpRetransSegs TcpExtTCPTimeouts 2>/dev/null
    echo "-- C route to S (no learned PMTU exception expected):"; nsx "$NS_C" ip route get $SRV
    echo "-- C sockets to S:25:"; cli_conns
  } >>"$B/stats.txt" 2>&1
}

net_up || exit 1
pf_up || exit 1
path_reach || exit 1
rm -f "$B/stats.txt"
body 300 >"$B/body300.txt"; body 8000 >"$B/body8k.txt"

# "or icmp": R1's ICMP (from 10.7.1.1) would be captured too, had it got through.
cap_start "$NS_R2" r2b "$B/pmtu-server-side.pcap" "ip and ((host $CLI and host $SRV) or icmp)"; P_SRV=$CAP_PID
cap_start "$NS_C" c0 "$B/pmtu-client-side.pcap" "ip and ((host $CLI and host $SRV) or icmp)"; P_CLI=$CAP_PID
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
nsx "$NS_C" sysctl -w net.ipv4.tcp_mtu_probing=1 >>"$B/stats.txt"
nsx "$NS_C" sysctl net.ipv4.tcp_base_mss >>"$B/stats.txt"
swk "$B/s3.swaks.txt" --to d@example.test --header "Subject: pmtu 3, 8 KB, tcp_mtu_probing=1" --body "@$B/body8k.txt"
stats "session 3 swaks ended"
wait_cli_gone 240; sleep 1; stats "session 3 client socket gone"

cap_stop "$P_SRV" "$B/pmtu-server-side.pcap"; cap_stop "$P_CLI" "$B/pmtu-client-side.pcap"
CAP_PIDS=()
sleep 1; tail -c +$((MLOG_OFF + 1)) "$MAILLOG" >"$B/maillog" 2>/dev/null
echo "== done: $B/pmtu-client-side.pcap $B/pmtu-server-side.pcap" >&2
# Check:
#   tshark -r $B/pmtu-client-side.pcap -T fields -e frame.number -e frame.time_relative -e tcp.stream -e tcp.len \
#     -e tcp.analysis.retransmission -e ip.flags.df -e tcp.seq -e tcp.ack -e smtp.req.command -e smtp.response.code
#   tshark -r $B/pmtu-client-side.pcap -Y icmp     (must print nothing)
