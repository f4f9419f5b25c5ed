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
# The path, Postfix's configuration and tcpdump come from ../lib (path.sh, postfix.sh, capture.sh).
# Run as root: bash testdata/record/fragments/record.sh [OUTDIR]   (default /tmp/fragrec)
#   SMTPCAP_NS_PREFIX=P names the namespaces Pc, Pr1, Pr2, Ps instead of fragc, fragr1, fragr2, frags.
set -u
LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)
source "$LIB/path.sh"      # nsx, path_names, path_up, path_reach, path_down; CLI, SRV
source "$LIB/postfix.sh"   # pf_write_conf, pf_daemon_start, pf_daemon_stop
source "$LIB/capture.sh"   # cap_start, cap_stop, cap_kill_all
B=${1:-/tmp/fragrec}; RUN=$B/pfrun; CONF=$RUN/conf; MAILLOG=$RUN/log/maillog
path_names "${SMTPCAP_NS_PREFIX:-frag}"   # namespaces fragc fragr1 fragr2 frags
SMALL_MTU=576

cleanup() { cap_kill_all; pf_daemon_stop "$NS_S"; path_down; }
path_refuse_existing || exit 1
trap cleanup EXIT
mkdir -p "$B"; chmod 755 "$B"

net_up() {
  path_up $SMALL_MTU
  nsx "$NS_C" sysctl -qw net.ipv4.ip_no_pmtu_disc=1   # client's TCP sockets: IP_PMTUDISC_DONT, DF clear
}
pf_up() { pf_write_conf 10.7.1.0/24 "$SRV:25 inet n - n - - smtpd" && pf_daemon_start "$NS_S" "$SRV"; }

body() { # BYTES -> deterministic text body of about that many bytes (LF lines; swaks sends CRLF)
  local n=$1 i=1 out=""
  while (( ${#out} < n )); do out+=$(printf 'line %04d: the quick brown fox jumps over the lazy dog 0123456789' "$i")$'\n'; ((i++)); done
  printf '%s' "$out"
}

swk() { # LOG ARGS...  (bounded 60 s)
  local log=$1; shift
  timeout 60 nsenter --net="/run/netns/$NS_C" swaks --server $SRV --port 25 --helo client.example.org \
    --from a@example.org "$@" </dev/null >"$log" 2>&1; echo "rc=$?" >>"$log"
}

net_up || exit 1
pf_up || exit 1
path_reach || exit 1
body 4000 >"$B/body4k.txt"; body 3000 >"$B/body3k.txt"; body 20000 >"$B/body20k.txt"

# No port filter: a BPF "port 25" would drop the non-first fragments (they carry no TCP header).
cap_start "$NS_R2" r2b "$B/frag-postfix.pcap" "ip and host $CLI and host $SRV"; P_SRV=$CAP_PID
cap_start "$NS_C" c0 "$B/frag-postfix-client.pcap" "ip and host $CLI and host $SRV"; P_CLI=$CAP_PID
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
  [[ -z $(nsx "$NS_C" ss -Htn state connected | grep -v TIME-WAIT | grep -F "$SRV:25") ]] && break; sleep 0.1; done
sleep 1
cap_stop "$P_SRV" "$B/frag-postfix.pcap"; cap_stop "$P_CLI" "$B/frag-postfix-client.pcap"
CAP_PIDS=()
sleep 1; tail -c +$((MLOG_OFF + 1)) "$MAILLOG" >"$B/maillog" 2>/dev/null
echo "== done: $B/frag-postfix.pcap $B/frag-postfix-client.pcap" >&2
# Check (two passes, so the earlier fragments get ip.reassembled_in):
#   tshark -2 -r $B/frag-postfix.pcap -T fields -e frame.number -e ip.flags.mf -e ip.frag_offset -e ip.id \
#     -e tcp.stream -e tcp.len -e smtp.req.command -e ip.reassembled_in
#   tshark -r $B/frag-postfix.pcap -q -z follow,tcp,ascii,0
