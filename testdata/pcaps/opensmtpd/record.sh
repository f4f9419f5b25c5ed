#!/usr/bin/env bash
# record.sh: record real OpenSMTPD (Debian's opensmtpd) SMTP server captures
# in a private network namespace, talking to smtp_client.py (next to this file).
#
# Usage (as root): ./record.sh [SCENARIO...]
#   default, all: clean barelf-end smuggle smuggle-split pipelined unoffered-pipelining
#   (pipelined is skipped, no pcap kept, when the server does not offer PIPELINING;
#   OpenSMTPD 6.8 never does)
# Output, next to this script:
#   opensmtpd-SCENARIO.pcap        the capture (tcpdump on lo, 'tcp and host 127.0.0.80')
#   logs/SCENARIO.client.log       every client write / server reply with timestamps
#   logs/SCENARIO.smtpd.log        smtpd's own stderr (-d -v -T smtp) during the session
#   logs/SCENARIO.maildir.txt      the messages smtpd delivered (one maildir file each)
#   oracle/opensmtpd-SCENARIO.txt  tshark fields oracle
#   conf/smtpd.conf                the config (RUNDIR = run/ next to this script)
# Every wait is bounded; only processes started here are stopped, by PID.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCENARIOS=("$@")
[[ ${#SCENARIOS[@]} -gt 0 ]] || SCENARIOS=(clean barelf-end smuggle smuggle-split pipelined unoffered-pipelining)
NS=smtpcap-osmtpd
SRV=127.0.0.80    # smtpd listens here only
CLI=127.0.1.80    # the client binds here
RUN=$HERE/run     # smtpd's run-time files (spool, maildir, tables), recreated each run
SMTPD_PID=""      # the smtpd we start
CAP_PID=""        # the running tcpdump we start
NS_CREATED=""

die() { echo "record.sh: $*" >&2; exit 1; }
PROBLEMS=0
fail() { echo "record.sh: PROBLEM: $*" >&2; PROBLEMS=$((PROBLEMS + 1)); }
log() { echo "== $*" >&2; }
nsx() { nsenter --net="/run/netns/$NS" "$@"; } # never background a function: $! would be a subshell

[[ $(id -u) == 0 ]] || die "must run as root"
for s in "${SCENARIOS[@]}"; do
	case $s in clean | barelf-end | smuggle | smuggle-split | pipelined | unoffered-pipelining) ;;
	*) die "unknown scenario: $s" ;; esac
done

# ---- 1. packages: install only what is missing (opensmtpd removes sendmail/exim4/postfix)
need=()
command -v smtpd >/dev/null || need+=(opensmtpd)
for p in tcpdump ethtool tshark python3; do command -v $p >/dev/null || need+=("$p"); done
command -v ip >/dev/null || need+=(iproute2)
if [[ ${#need[@]} -gt 0 ]]; then
	log "installing ${need[*]}"
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	echo "opensmtpd opensmtpd/mailname string mx.example.test" | debconf-set-selections
	export DEBIAN_FRONTEND=noninteractive
	timeout 600 apt-get install -y --no-install-recommends "${need[@]}" ||
		{ timeout 300 apt-get update && timeout 600 apt-get install -y --no-install-recommends "${need[@]}"; }
fi
ip netns list | grep -qw "$NS" && die "namespace $NS exists (left over?); remove with: ip netns del $NS"

stop_pid() { # SIGTERM one process we started, wait up to 5 s, then SIGKILL
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
}
cleanup() { # ---- 5. teardown: our tcpdump and smtpd, then the namespace
	local rc=$? p i
	set +e
	for p in $CAP_PID $SMTPD_PID; do stop_pid "$p"; done
	if [[ -n $NS_CREATED ]]; then # smtpd's children leave with their parent
		for i in $(seq 1 50); do [[ -z $(ip netns pids "$NS") ]] && break; sleep 0.2; done
		ip netns del "$NS"
	fi
	[[ $rc == 0 ]] || echo "record.sh: failed (rc=$rc)" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- 2a. namespace: own loopback, MTU 1500, no offloads (real MSS-sized segments)
log "namespace $NS"
ip netns add "$NS"
NS_CREATED=1
nsx ip link set lo up
nsx ip link set lo mtu 1500
nsx ethtool -K lo tso off gso off gro off
nsx sysctl -qw net.ipv4.tcp_early_retrans=0 # no tail loss probes re-sending segments on lo
nsx ip addr add "$SRV/32" dev lo
nsx ip addr add "$CLI/32" dev lo

# ---- 2b. smtpd config and run-time files. smtpd's spool (/var/spool/smtpd),
# control socket (/run/smtpd.sock), /etc/hosts and /etc/resolv.conf are compiled-in
# paths; a private mount namespace puts our own directories and files there.
rm -rf "$RUN"
mkdir -p "$RUN/spool" "$RUN/sock" "$RUN/maildir" "$HERE/logs" "$HERE/oracle"
chmod 755 "$RUN" "$RUN/spool"; chmod 711 "$RUN/sock"
chown nobody:nogroup "$RUN/maildir" # deliveries run as nobody (config: user nobody)
printf 'example.test\n' >"$RUN/domains"
printf 'postmaster: root\nadmin: root\n' >"$RUN/aliases"
printf '127.0.0.1\tlocalhost\n127.0.0.80\tmx.example.test\n127.0.1.80\tclient.example.org\n' >"$RUN/hosts"
printf 'lookup file\n' >"$RUN/resolv.conf" # smtpd's resolver (libasr): /etc/hosts only, never DNS
sed "s|RUNDIR|$RUN|g" "$HERE/conf/smtpd.conf" >"$RUN/smtpd.conf"
smtpd -n -f "$RUN/smtpd.conf" >"$RUN/configtest.out" 2>&1 || { cat "$RUN/configtest.out" >&2; die "smtpd -n failed"; }
SMX=(unshare --mount --uts sh -c 'mount --bind "$0/spool" /var/spool && mount --bind "$0/sock" /run &&
	mount --bind "$0/hosts" /etc/hosts && mount --bind "$0/resolv.conf" /etc/resolv.conf &&
	hostname mx.example.test && exec "$@"' "$RUN")

# ---- 2c. smtpd in the foreground (-d: log to stderr), verbose, SMTP session trace
: >"$RUN/smtpd.log"
nsenter --net="/run/netns/$NS" "${SMX[@]}" smtpd -d -v -T smtp -f "$RUN/smtpd.conf" >"$RUN/smtpd.log" 2>&1 &
SMTPD_PID=$!
for i in $(seq 1 100); do
	[[ -n $(nsx ss -Hltn "src $SRV and sport = :25") ]] && break
	kill -0 "$SMTPD_PID" 2>/dev/null || { cat "$RUN/smtpd.log" >&2; die "smtpd exited"; }
	sleep 0.1
done
[[ -n $(nsx ss -Hltn "src $SRV and sport = :25") ]] || die "smtpd is not listening on $SRV:25"
[[ $(cat "/proc/$SMTPD_PID/comm") == smtpd ]] || die "PID $SMTPD_PID is not smtpd"
log "$(smtpd -h 2>&1 | head -1) listening, pid $SMTPD_PID"

# ---- 3/4. one capture per scenario
record() {
	local scn=$1 pcap="$HERE/opensmtpd-$1.pcap" err="$RUN/tcpdump.$1.err" off i f rc=0
	log "scenario $scn"
	rm -f "$pcap"
	nsenter --net="/run/netns/$NS" tcpdump -Z root -i lo --immediate-mode -U -w "$pcap" "tcp and host $SRV" 2>"$err" &
	CAP_PID=$!
	for i in $(seq 1 100); do grep -qs "listening on" "$err" && break; sleep 0.1; done
	grep -qs "listening on" "$err" || die "tcpdump did not start"
	[[ $(cat "/proc/$CAP_PID/comm") == tcpdump ]] || die "PID $CAP_PID is not tcpdump"
	off=$(stat -c %s "$RUN/smtpd.log")
	timeout 60 nsenter --net="/run/netns/$NS" python3 "$HERE/smtp_client.py" "$scn" "$SRV" "$CLI" \
		"$HERE/logs/$scn.client.log" 2>/dev/null || rc=$?
	[[ $rc == 0 || $rc == 3 ]] || fail "client $scn exited $rc (see logs/$scn.client.log)"
	# wait (max 20 s) until no connection but TIME-WAIT is left, so FIN/RST are captured
	for i in $(seq 1 200); do
		[[ -z $(nsx ss -Htn state connected "( src $SRV or dst $SRV )" | grep -v TIME-WAIT) ]] && break
		sleep 0.1
	done
	sleep 1
	kill -TERM "$CAP_PID"; wait "$CAP_PID" || true
	CAP_PID=""
	grep -q '^0 packets dropped by kernel' "$err" || fail "tcpdump $scn: $(cat "$err")"
	# smtpd's side: wait (max 10 s) until its queue is empty (all delivered), then its log
	for i in $(seq 1 100); do
		[[ -z $(find "$RUN/spool/smtpd/queue" "$RUN/spool/smtpd/incoming" -type f 2>/dev/null) ]] && break
		sleep 0.1
	done
	sleep 0.5
	tail -c +$((off + 1)) "$RUN/smtpd.log" | sed "s|$RUN|RUNDIR|g" >"$HERE/logs/$scn.smtpd.log"
	for f in "$RUN"/maildir/new/*; do # what was delivered, then an empty maildir again
		[[ -f $f ]] || continue
		echo "### $(basename "$f")"; cat -A "$f"; rm -f "$f"
	done >"$HERE/logs/$scn.maildir.txt"
	if [[ $rc == 3 ]]; then # client: extension not offered, scenario skipped
		log "skipped $scn: PIPELINING not offered (logs/$scn.client.log)"
		rm -f "$pcap" "$HERE/oracle/opensmtpd-$scn.txt"; return 0
	fi
	tshark -r "$pcap" -T fields -e frame.number -e tcp.stream -e tcp.len \
		-e smtp.req.command -e smtp.response.code >"$HERE/oracle/opensmtpd-$scn.txt" 2>/dev/null
}
# check_pcap FILE: one TCP connection, SYN to FIN/RST, nothing lost or retransmitted
check_pcap() {
	local f=$1 n
	n=$(tshark -r "$f" -T fields -e tcp.stream 2>/dev/null | sort -u | grep -c . || true)
	[[ $n == 1 ]] || fail "$f: $n TCP streams"
	n=$(tshark -r "$f" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' 2>/dev/null | grep -c . || true)
	[[ $n == 1 ]] || fail "$f: $n SYNs"
	n=$(tshark -r "$f" -Y 'tcp.flags.fin == 1 || tcp.flags.reset == 1' 2>/dev/null | grep -c . || true)
	[[ $n -ge 1 ]] || fail "$f: no FIN/RST"
	n=$(tshark -r "$f" -Y 'tcp.analysis.lost_segment || tcp.analysis.retransmission || tcp.analysis.out_of_order' 2>/dev/null |
		grep -c . || true)
	[[ $n == 0 ]] || fail "$f: $n lost/retransmitted/out-of-order segments"
}
for s in "${SCENARIOS[@]}"; do
	record "$s"
	[[ ! -f $HERE/opensmtpd-$s.pcap ]] || check_pcap "$HERE/opensmtpd-$s.pcap"
done
cp "$RUN/smtpd.log" "$HERE/logs/smtpd.full.log" # the whole daemon log, start-up included
sed -i "s|$RUN|RUNDIR|g" "$HERE/logs/smtpd.full.log"
[[ $PROBLEMS == 0 ]] || die "$PROBLEMS problem(s), see above"
log "done"
