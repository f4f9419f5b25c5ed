# shellcheck shell=bash
# netns.sh: shell functions for recording one SMTP/LMTP server's captures in a
# private network namespace, sourced by the record.sh of testdata/pcaps/sendmail,
# testdata/pcaps/lmtp and testdata/pcaps/opensmtpd. Each script keeps its own
# server set-up, scenarios and checks; what they all did alike is here.
#
# The caller runs under `set -euo pipefail` and, in this order:
#   ns_install PKG...          only if something is missing
#   ns_traps                   before anything that must be undone
#   ns_setup NAME ADDR...      the namespace (sets NS, used by nsx and ns_cleanup)
#   start its server with nsenter ... &, then NS_PIDS+=("$!"); ns_wait_listener ...
#   per scenario: ns_cap_start, the client, ns_cap_stop, ns_oracle, ns_check_pcap
# Every wait is bounded; only processes started by the caller or here are
# stopped, by PID (NS_PIDS and CAP_PID), never by name.

NS=""          # the namespace's name (set by ns_setup)
NS_CREATED=""  # set once ns_setup has added the namespace: only then ns_cleanup deletes it
NS_PIDS=()     # processes the caller started (its server), stopped by ns_cleanup
CAP_PID=""     # the running tcpdump (ns_cap_start .. ns_cap_stop)
PROBLEMS=0     # count of fail calls: the caller dies at the end if not 0

die() { echo "${0##*/}: $*" >&2; exit 1; }
# fail MSG: note a problem with a recording but go on, so one run shows them all
fail() { echo "${0##*/}: PROBLEM: $*" >&2; PROBLEMS=$((PROBLEMS + 1)); }
log() { echo "== $*" >&2; }
# nsx CMD...: run CMD in the namespace (nsenter execs it). Never background a
# function: $! would be a subshell's PID, not the process; use nsenter directly.
nsx() { nsenter --net="/run/netns/$NS" "$@"; }

# ns_install PKG...: install Debian packages non-interactively. apt-get update
# only when the plain install fails (a stale index), every step time-limited.
# A caller with its own debconf answers sets them before calling this.
ns_install() {
	log "installing $*"
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	export DEBIAN_FRONTEND=noninteractive
	timeout 600 apt-get install -y --no-install-recommends "$@" ||
		{ timeout 300 apt-get update && timeout 600 apt-get install -y --no-install-recommends "$@"; }
}

# ns_stop_pid PID: SIGTERM one process we started, wait up to 5 s, then SIGKILL.
ns_stop_pid() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
}

# ns_cleanup: the EXIT trap (see ns_traps). Stops our tcpdump, then the caller's
# processes, waits (max 10 s) for whatever they left in the namespace (a server's
# children leave with their parent) and deletes the namespace if we added it.
# Keeps the script's exit status.
ns_cleanup() {
	local rc=$? p
	set +e
	for p in $CAP_PID "${NS_PIDS[@]}"; do ns_stop_pid "$p"; done
	if [[ -n $NS_CREATED ]]; then
		for _ in $(seq 1 50); do [[ -z $(ip netns pids "$NS") ]] && break; sleep 0.2; done
		ip netns del "$NS"
	fi
	[[ $rc == 0 ]] || echo "${0##*/}: failed (rc=$rc)" >&2
	exit "$rc"
}
# ns_traps: ns_cleanup on every exit; INT and TERM exit (so the EXIT trap runs)
# with the usual 128+signal status.
ns_traps() {
	trap ns_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# ns_setup NAME ADDR...: create namespace NAME with its own loopback, each ADDR
# (/32) on it. MTU 1500 and no offloads, so segments on the wire are real
# MSS-sized ones, not 64 KB super-packets. No tail loss probe
# (tcp_early_retrans=0): on loopback it re-sends a segment (seen: a server's FIN
# after ~6 ms) when the peer delays its ACK, and a capture must show no
# retransmission. Refuses a namespace that already exists (left from an aborted
# run): it is not ours to delete.
ns_setup() {
	local a
	NS=$1
	shift
	ip netns list | grep -qw "$NS" && die "namespace $NS exists (left over?); remove with: ip netns del $NS"
	log "namespace $NS"
	ip netns add "$NS"
	NS_CREATED=1
	nsx ip link set lo up
	nsx ip link set lo mtu 1500
	nsx ethtool -K lo tso off gso off gro off
	nsx sysctl -qw net.ipv4.tcp_early_retrans=0
	for a in "$@"; do nsx ip addr add "$a/32" dev lo; done
}

# ns_wait_listener NAME COMM PID ADDR PORT [LOG...]: wait (max 10 s) until a TCP
# listener on ADDR:PORT exists in the namespace; die, showing the LOG files, if
# process PID (which we started) exits first. Then make sure PID is still the
# server (its /proc comm matches the pattern COMM), not a reused PID.
ns_wait_listener() {
	local name=$1 comm=$2 pid=$3 addr=$4 port=$5
	shift 5
	for _ in $(seq 1 100); do
		[[ -n $(nsx ss -Hltn "src $addr and sport = :$port") ]] && break
		kill -0 "$pid" 2>/dev/null || { cat "$@" >&2; die "$name exited"; }
		sleep 0.1
	done
	[[ -n $(nsx ss -Hltn "src $addr and sport = :$port") ]] || die "$name is not listening on $addr:$port"
	# shellcheck disable=SC2053 # $comm is a pattern on purpose (sendmail renames itself)
	[[ $(cat "/proc/$pid/comm") == $comm ]] || die "PID $pid is not $name"
}

# ns_cap_start PCAP FILTER ERR: start tcpdump on the namespace's lo writing PCAP
# (FILTER: a pcap filter such as "tcp and host 127.0.0.80"), its stderr in ERR.
# Packet-buffered (-U, --immediate-mode) so nothing is still in its buffer when
# it is stopped. Returns once it is capturing (max 10 s).
ns_cap_start() {
	local pcap=$1 filter=$2 err=$3
	rm -f "$pcap"
	nsenter --net="/run/netns/$NS" tcpdump -Z root -i lo --immediate-mode -U -w "$pcap" "$filter" 2>"$err" &
	CAP_PID=$!
	for _ in $(seq 1 100); do grep -qs "listening on" "$err" && break; sleep 0.1; done
	grep -qs "listening on" "$err" || die "tcpdump did not start"
	[[ $(cat "/proc/$CAP_PID/comm") == tcpdump ]] || die "PID $CAP_PID is not tcpdump"
}

# ns_cap_stop ADDR ERR LABEL: after the client is done, wait (max 20 s) until no
# connection to or from ADDR but TIME-WAIT is left, so the closing FIN/RST are
# in the capture, give them 1 s more, then stop tcpdump. A kernel drop is a
# problem (fail, with LABEL naming the scenario): the capture is incomplete.
ns_cap_stop() {
	local addr=$1 err=$2 label=$3
	for _ in $(seq 1 200); do
		# not `! ... | grep -qv`: grep -q quitting early would SIGPIPE ss, and under
		# pipefail that status would count as "nothing left"
		# shellcheck disable=SC2143
		[[ -z $(nsx ss -Htn state connected "( src $addr or dst $addr )" | grep -v TIME-WAIT) ]] && break
		sleep 0.1
	done
	sleep 1
	kill -TERM "$CAP_PID"; wait "$CAP_PID" || true
	CAP_PID=""
	grep -q '^0 packets dropped by kernel' "$err" || fail "tcpdump $label: $(cat "$err")"
}

# ns_oracle PCAP OUT [TSHARK-OPTION...]: write the tshark fields oracle of PCAP
# to OUT: frame number, TCP stream, TCP payload length, SMTP command, reply code,
# one line a frame. Extra options, e.g. -d tcp.port==24,smtp for LMTP.
ns_oracle() {
	local pcap=$1 out=$2
	shift 2
	tshark -r "$pcap" -T fields -e frame.number -e tcp.stream -e tcp.len \
		-e smtp.req.command -e smtp.response.code "$@" >"$out" 2>/dev/null
}

# ns_check_pcap PCAP: one TCP connection, SYN to FIN/RST, nothing lost,
# retransmitted or out of order. Each finding is a fail, not a die.
ns_check_pcap() {
	local f=$1 n
	n=$(tshark -r "$f" -T fields -e tcp.stream 2>/dev/null | sort -u | grep -c . || true)
	[[ $n == 1 ]] || fail "$f: $n TCP streams"
	n=$(tshark -r "$f" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' 2>/dev/null | grep -c . || true)
	[[ $n == 1 ]] || fail "$f: $n SYNs"
	n=$(tshark -r "$f" -Y 'tcp.flags.fin == 1 || tcp.flags.reset == 1' 2>/dev/null | grep -c . || true)
	[[ $n -ge 1 ]] || fail "$f: no FIN/RST"
	n=$(tshark -r "$f" -Y 'tcp.analysis.lost_segment || tcp.analysis.retransmission || tcp.analysis.out_of_order' \
		2>/dev/null | grep -c . || true)
	[[ $n == 0 ]] || fail "$f: $n lost/retransmitted/out-of-order segments"
}
