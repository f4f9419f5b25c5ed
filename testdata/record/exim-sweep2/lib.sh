# shellcheck shell=bash
# exim-sweep2 lib: namespace sw10, per-scenario Exim + tcpdump. Bounded waits, stop by PID.
# Sources ../lib/ns.sh, ../lib/exim.sh and ../lib/capture.sh; sourced by every sN-*.sh here.
NS=sw10
B=${SWEEP:-/tmp/exim-sweep2}   # scratch: scenario dirs, caps/, the smtpcap binary for report()
REC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Every script records into $B/caps and runs report() with $B/smtpcap:
#   (cd "$REC/../../.." && go build -o "$B/smtpcap" ./cmd/smtpcap)
# Copy the captures a test needs into testdata/pcaps/exim-sweep2 by hand.
mkdir -p "$B/caps"
LIB=$REC/../lib
# shellcheck source=../lib/ns.sh
source "$LIB/ns.sh"
# shellcheck source=../lib/exim.sh
source "$LIB/exim.sh"
# shellcheck source=../lib/capture.sh
source "$LIB/capture.sh"
nsx() { nsenter --net="/run/netns/$NS" "$@"; }
log() { echo "== $*" >&2; }
# ns_up: the sweep's namespace, once; IPv6 on its loopback too (the sN scripts with fd00:: addresses).
ns_up() {
  if ! ns_exists "$NS"; then
    ns_loopback_up "$NS"
    nsx sysctl -qw net.ipv4.tcp_early_retrans=0
    nsx sysctl -qw net.ipv6.conf.lo.disable_ipv6=0 2>/dev/null
  fi
}
add_addr() { ns_add_addr "$NS" "$1"; }
# exim_conf DIR ADDR EXTRA_MAIN_FILE [EXTRA_TAIL_FILE]: writes DIR/exim.conf (lib/exim.sh's
# exim_conf_server, no ACLs but the RCPT one)
exim_conf() {
  local d=$1 addr=$2 extra=${3:-/dev/null} tail=${4:-/dev/null}
  exim_workdir "$d"
  exim_conf_server "$d" "$addr" "$extra" /dev/null "$tail" > "$d/exim.conf"
  exim_check_conf "$d/exim.conf"
}
exim_start() { exim_daemon_start "$NS" "$1/exim.conf" "$2" "${3:-25}" -oX "${3:-25}"; } # DIR ADDR PORT
# cap_start PCAP [FILTER] and cap_stop ADDR PCAP: lib/capture.sh's on the namespace's loopback;
# cap_stop first lets the connections to ADDR close.
cap_start() { tcpdump_start "$NS" "$1" "${2:-tcp}" -i lo --immediate-mode -U; }
cap_stop() { ns_wait_closed "$NS" "$1"; sleep 1; tcpdump_stop "$CAP_PID" "$2"; }
oracle() { tshark -r "$1" -T fields -e frame.number -e tcp.stream -e tcp.len -e smtp.req.command -e smtp.response.code -e tcp.flags.str > "$1.oracle.txt" 2>/dev/null; }
report() { local p=$1; $B/smtpcap analyze "$p" > "$p.analyze.txt" 2>&1; echo "rc=$?" >> "$p.analyze.txt"
  $B/smtpcap analyze --format json "$p" > "$p.analyze.json" 2>&1
  $B/smtpcap streams "$p" > "$p.streams.txt" 2>&1
  for s in $(tshark -r "$p" -T fields -e tcp.stream 2>/dev/null | sort -un); do timeout 30 $B/smtpcap follow -s $s "$p" > "$p.follow$s.txt" 2>&1; done; }
