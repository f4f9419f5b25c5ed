# shellcheck shell=bash
# sweep lib: namespace "sweep", per-scenario Exim + tcpdump. Bounded waits, stop by PID.
# Sources ../lib/ns.sh, ../lib/exim.sh and ../lib/capture.sh; sourced by every sN-*.sh here.
NS=sweep
B=${SWEEP:-/tmp/sweep}   # scratch: scenario dirs and the smtpcap binary for report()
REC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIB=$REC/../lib
# shellcheck source=../lib/ns.sh
source "$LIB/ns.sh"
# shellcheck source=../lib/exim.sh
source "$LIB/exim.sh"
# shellcheck source=../lib/capture.sh
source "$LIB/capture.sh"
nsx() { nsenter --net="/run/netns/$NS" "$@"; }
log() { echo "== $*" >&2; }
# ns_up: the sweep's namespace, once.
ns_up() {
  if ! ns_exists "$NS"; then
    ns_loopback_up "$NS"
    nsx sysctl -qw net.ipv4.tcp_early_retrans=0
  fi
}
add_addr() { ns_add_addr "$NS" "$1"; }
# sweep_acls: the sweep's HELO ACL (EHLO refused from 127.0.1.12) and DATA ACL (a Subject of
# "defer me" deferred, "reject me" refused), for exim_conf_server.
sweep_acls() {
  cat <<'EOC'
acl_check_helo:
  deny    condition = ${if and{{eq{$sender_host_address}{127.0.1.12}}{match{$smtp_command}{(?i)^ehlo}}}}
          message = EHLO not supported here, use HELO
  accept

acl_check_data:
  defer   condition = ${if match{$h_subject:}{defer me}}
          message = queue full, try later
  deny    condition = ${if match{$h_subject:}{reject me}}
          message = content rejected
  accept

EOC
}
# exim_conf DIR ADDR EXTRA_MAIN_FILE : writes DIR/exim.conf (lib/exim.sh's exim_conf_server with
# sweep_acls)
exim_conf() {
  local d=$1 addr=$2 extra=${3:-/dev/null}
  exim_workdir "$d"
  exim_conf_server "$d" "$addr" <(echo "acl_smtp_helo = acl_check_helo"; cat "$extra") <(sweep_acls) /dev/null > "$d/exim.conf"
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
  for s in $(tshark -r "$p" -T fields -e tcp.stream 2>/dev/null | sort -un); do $B/smtpcap follow -s $s "$p" > "$p.follow$s.txt" 2>&1; done; }
