# shellcheck shell=bash
# capture.sh: tcpdump in a network namespace, started and stopped by PID. Sourced by
# testdata/record/fragments/record.sh and testdata/record/pmtu/record.sh (cap_start, cap_stop,
# cap_kill_all), and by testdata/record/exim-sweep/lib.sh, testdata/record/exim-sweep2/lib.sh and
# testdata/record/clients-sweep/lib.sh (tcpdump_start, tcpdump_stop, under their own cap_start and
# cap_stop, which stand for these on the sweep's one loopback). Every wait bounded.

CAP_PIDS=()   # every tcpdump cap_start started and cap_stop has not been asked to end yet
CAP_PID=""    # the last one started

# tcpdump_start NS PCAP FILTER [TCPDUMP_OPTION...]: tcpdump in namespace NS with the options given
# (the interface among them), writing PCAP (its stderr in PCAP.err); sets CAP_PID. Returns once it
# is listening (max 10 s).
tcpdump_start() {
  local ns=$1 pcap=$2 filter=$3; shift 3
  rm -f "$pcap"
  # nsenter execs tcpdump, so $! is tcpdump's PID (a shell function in the background would not be).
  nsenter --net="/run/netns/$ns" tcpdump -Z root "$@" -w "$pcap" "$filter" 2>"$pcap.err" &
  CAP_PID=$!; CAP_PIDS+=("$CAP_PID")
  for _ in $(seq 1 100); do grep -qs "listening on" "$pcap.err" && break; sleep 0.1; done
}

# tcpdump_stop PID PCAP: SIGTERM the tcpdump tcpdump_start started, wait (max 5 s) for it, show
# its counts.
tcpdump_stop() {
  kill -TERM "$1"
  for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  wait "$1" 2>/dev/null; tail -2 "$2.err" >&2
}

# cap_start NS IFACE PCAP FILTER: tcpdump on IFACE in namespace NS, packet-buffered (tcpdump_start).
cap_start() { tcpdump_start "$1" "$3" "$4" -i "$2" --immediate-mode -U; }

# cap_stop PID PCAP: tcpdump_stop.
cap_stop() { tcpdump_stop "$1" "$2"; }

# cap_kill_all: SIGTERM every tcpdump still in CAP_PIDS (for the EXIT trap).
cap_kill_all() { local p; for p in "${CAP_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done; }
