# shellcheck shell=bash
# common.sh: what record.sh (Exim as the client) and record-postfix.sh (Postfix as the client) set
# up alike. The caller sets NS (its namespace's name) and TOOLS (the commands it needs besides
# these), sources this, and defines cleanup_own (what it started) before calling fallback_up.
# Checks root, the tools and that NS is not there; sets REC, LIB, OUT (the first argument, default
# testdata/pcaps/fallback), W (a fresh work directory), the three MX addresses and the client's.
# Sources ../lib/ns.sh and ../lib/capture.sh.
set -u
REC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIB=$REC/../lib
# shellcheck source=../lib/ns.sh
source "$LIB/ns.sh"
# shellcheck source=../lib/capture.sh
source "$LIB/capture.sh"
OUT=${1:-$REC/../../pcaps/fallback}
MX1=127.0.0.5   # no listener: RST
MX2=127.0.0.6   # SYNs dropped by iptables: timeout
MX3=127.0.0.7   # the server that takes the message
CLI=127.0.1.7   # the client (and record.sh's busy client)

[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
for t in ip nsenter ethtool iptables sysctl tcpdump tshark python3 ss timeout $TOOLS; do
  command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done
if ns_exists "$NS"; then echo "namespace $NS exists already; not touching it" >&2; exit 1; fi
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
W=$(mktemp -d "/tmp/$NS.XXXXXX"); chmod 755 "$W"
nsx() { nsenter --net="/run/netns/$NS" "$@"; }
log() { echo "== $(date +%T) $*" >&2; }

# fallback_cleanup: what the caller started (cleanup_own), the captures, the namespace, and the
# work directory unless FALLBACK_KEEP=1.
fallback_cleanup() {
  cleanup_own
  cap_kill_all
  ip netns del "$NS" 2>/dev/null
  if [[ ${FALLBACK_KEEP:-0} == 1 ]]; then echo "work directory kept: $W" >&2; else rm -rf "$W"; fi
}

# fallback_up: the namespace with the four addresses on its loopback, the cleanup trapped, and
# MX2's SYNs dropped. FALLBACK_SYN_RETRIES=N sets its net.ipv4.tcp_syn_retries (default: left as
# it is).
fallback_up() {
  ns_loopback_up "$NS"
  trap fallback_cleanup EXIT
  trap 'exit 1' INT TERM HUP
  local a
  for a in $MX1 $MX2 $MX3 $CLI; do ns_add_addr "$NS" "$a"; done
  [[ -n ${FALLBACK_SYN_RETRIES:-} ]] && nsx sysctl -qw net.ipv4.tcp_syn_retries="$FALLBACK_SYN_RETRIES"
  nsx sysctl net.ipv4.tcp_syn_retries net.ipv4.tcp_syn_linear_timeouts >&2
  nsx iptables -A INPUT -d $MX2 -p tcp --dport 25 -j DROP || { echo "iptables failed" >&2; exit 1; }
}

# fallback_finish NAME PCAP: copy a capture whose connections have closed to OUT/NAME.pcap and
# list its packets with tshark.
fallback_finish() {
  ns_wait_closed "$NS" $CLI; sleep 1
  cap_stop "$CAP_PID" "$2"; CAP_PIDS=()
  cp "$2" "$OUT/$1.pcap"
  log "$1: tshark"
  tshark -r "$OUT/$1.pcap" -T fields -e frame.number -e frame.time_relative -e tcp.stream -e ip.src \
    -e ip.dst -e tcp.srcport -e tcp.dstport -e tcp.flags.str -e smtp.req.command -e smtp.response.code 2>/dev/null
}
