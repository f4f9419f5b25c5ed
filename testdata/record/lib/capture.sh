# shellcheck shell=bash
# capture.sh: tcpdump in a network namespace, started and stopped by PID, sourced by
# testdata/record/fragments/record.sh and testdata/record/pmtu/record.sh. Every wait bounded.

CAP_PIDS=()   # every tcpdump cap_start started and cap_stop has not been asked to end yet
CAP_PID=""    # the last one started

# cap_start NS IFACE PCAP FILTER: tcpdump on IFACE in namespace NS, packet-buffered, writing PCAP
# (its stderr in PCAP.err); sets CAP_PID. Returns once it is listening (max 10 s).
cap_start() {
  rm -f "$3"
  # nsenter execs tcpdump, so $! is tcpdump's PID (a shell function in the background would not be).
  nsenter --net="/run/netns/$1" tcpdump -Z root -i "$2" --immediate-mode -U -w "$3" "$4" 2>"$3.err" &
  CAP_PID=$!; CAP_PIDS+=("$CAP_PID")
  for _ in $(seq 1 100); do grep -qs "listening on" "$3.err" && break; sleep 0.1; done
}

# cap_stop PID PCAP: SIGTERM the tcpdump cap_start started, wait (max 5 s) for it, show its counts.
cap_stop() {
  kill -TERM "$1"
  for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  wait "$1" 2>/dev/null; tail -2 "$2.err" >&2
}

# cap_kill_all: SIGTERM every tcpdump still in CAP_PIDS (for the EXIT trap).
cap_kill_all() { local p; for p in "${CAP_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done; }
