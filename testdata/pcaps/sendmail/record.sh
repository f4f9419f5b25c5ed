#!/usr/bin/env bash
# record.sh: record real Sendmail (Debian's sendmail-bin) SMTP server captures
# in a private network namespace, talking to smtp_client.py (next to this file).
#
# Usage (as root): ./record.sh [SCENARIO...]  (default: all: barelf-mid barelf-end clean barecr barelf-split)
# Output, next to this script:
#   sendmail-SCENARIO.pcap       the capture (tcpdump on lo, 'tcp and host 127.0.0.60')
#   logs/SCENARIO.client.log     every client write / server reply with timestamps
#   logs/SCENARIO.transcript.log Sendmail's own -X trace of the SMTP session
#   logs/SCENARIO.queue.txt      mailq output and the queued qf/df files (what Sendmail stored)
#   oracle/sendmail-SCENARIO.txt tshark fields oracle
#   conf/sendmail.cf             the config as run (generated from conf/sendmail.mc)
# Sendmail's syslog output is lost (no syslog daemon here); -X and the queue replace it.
# Every wait is bounded; only processes started here are stopped, by PID.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCENARIOS=("$@")
[[ ${#SCENARIOS[@]} -gt 0 ]] || SCENARIOS=(barelf-mid barelf-end clean barecr barelf-split)
NS=smtpcap-sm
SRV=127.0.0.60    # Sendmail listens here only
CLI=127.0.1.60    # the client binds here
RUN=$HERE/run     # Sendmail's run-time files (queue, pid, aliases), recreated each run
SM_PID=""        # the Sendmail daemon we start
CAP_PID=""       # the running tcpdump we start
NS_CREATED=""

die() { echo "record.sh: $*" >&2; exit 1; }
PROBLEMS=0
fail() { echo "record.sh: PROBLEM: $*" >&2; PROBLEMS=$((PROBLEMS + 1)); }
log() { echo "== $*" >&2; }
nsx() { nsenter --net="/run/netns/$NS" "$@"; } # never background a function: $! would be a subshell
# smx CMD...: in the namespace, plus private mount and UTS namespaces where the
# host name is mx.example.test and /etc/hosts is ours. Sendmail resolves its own
# name at start-up before reading sendmail.cf (via /etc/mail/service.switch and
# /etc/hosts) and, if it finds no qualified name, sleeps 60 s and retries.
SMX=(unshare --mount --uts sh -c 'mount --bind "$0" /etc/hosts && hostname mx.example.test && exec "$@"')
smx() { nsx "${SMX[@]}" "$RUN/hosts" "$@"; }

[[ $(id -u) == 0 ]] || die "must run as root"
for s in "${SCENARIOS[@]}"; do
	case $s in barelf-mid | barelf-end | clean | barecr | barelf-split) ;; *) die "unknown scenario: $s" ;; esac
done

# ---- 1. packages: install only what is missing (installing sendmail may remove exim4/postfix)
need=()
command -v sendmail-mta >/dev/null || need+=(sendmail-bin sendmail-cf)
[[ -f /usr/share/sendmail/cf/m4/cf.m4 ]] || need+=(sendmail-cf)
for p in tcpdump ethtool m4 tshark; do command -v $p >/dev/null || need+=("$p"); done
command -v ip >/dev/null || need+=(iproute2)
if [[ ${#need[@]} -gt 0 ]]; then
	log "installing ${need[*]}"
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
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
cleanup() { # ---- 5. teardown: our daemon and tcpdump, then the namespace
	local rc=$? p i
	set +e
	for p in $CAP_PID $SM_PID; do stop_pid "$p"; done
	if [[ -n $NS_CREATED ]]; then
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
# no tail loss probe: on loopback it re-sends Sendmail's FIN after ~6 ms when the
# client (not reading during content, barelf-split) delays its ACK
nsx sysctl -qw net.ipv4.tcp_early_retrans=0
nsx ip addr add "$SRV/32" dev lo
nsx ip addr add "$CLI/32" dev lo

# ---- 2b. Sendmail config and run-time files (no /etc/mail, no /var, no DNS)
rm -rf "$RUN"
mkdir -p "$RUN/queue" "$HERE/logs" "$HERE/oracle" "$HERE/conf"
chmod 755 "$RUN"; chmod 700 "$RUN/queue"
printf 'hosts\tfiles\naliases\tfiles\n' >"$RUN/service.switch" # never ask DNS
# hosts: our own name and the client's (forward and reverse lookups answered locally)
printf '127.0.0.1\tlocalhost\n127.0.0.60\tmx.example.test\n127.0.1.60\tclient.example.org\n' >"$RUN/hosts"
printf 'postmaster: root\nroot: /dev/null\n' >"$RUN/aliases"
: >"$RUN/local-host-names"; : >"$RUN/relay-domains"; : >"$RUN/trusted-users"
sed "s|RUNDIR|$RUN|g" "$HERE/conf/sendmail.mc" | m4 >"$RUN/sendmail.cf"
sed "s|$RUN|RUNDIR|g" "$RUN/sendmail.cf" >"$HERE/conf/sendmail.cf" # published copy
SM=(sendmail-mta -C "$RUN/sendmail.cf")
smx "${SM[@]}" -bi >"$RUN/newaliases.out" 2>&1 || { cat "$RUN/newaliases.out" >&2; die "newaliases failed"; }

# ---- 2c. Sendmail daemon in the foreground (-bD), SMTP trace of all sessions (-X)
: >"$RUN/transcript.log"
nsenter --net="/run/netns/$NS" "${SMX[@]}" "$RUN/hosts" "${SM[@]}" -bD -X "$RUN/transcript.log" \
	>"$RUN/daemon.out" 2>&1 &
SM_PID=$!
for i in $(seq 1 100); do
	[[ -n $(nsx ss -Hltn "src $SRV and sport = :25") ]] && break
	kill -0 "$SM_PID" 2>/dev/null || { cat "$RUN/daemon.out" >&2; die "sendmail exited"; }
	sleep 0.1
done
[[ -n $(nsx ss -Hltn "src $SRV and sport = :25") ]] || die "sendmail is not listening on $SRV:25"
[[ $(cat "/proc/$SM_PID/comm") == sendmail* ]] || die "PID $SM_PID is not sendmail"
log "sendmail $(smx "${SM[@]}" -d0.1 -bt </dev/null | awk '/^Version/ {print $2}') listening, pid $SM_PID"

# ---- 3/4. one capture per scenario
record() {
	local scn=$1 pcap="$HERE/sendmail-$1.pcap" err="$RUN/tcpdump.$1.err" off i rc=0
	log "scenario $scn"
	rm -f "$pcap"
	nsenter --net="/run/netns/$NS" tcpdump -Z root -i lo --immediate-mode -U -w "$pcap" "tcp and host $SRV" 2>"$err" &
	CAP_PID=$!
	for i in $(seq 1 100); do grep -qs "listening on" "$err" && break; sleep 0.1; done
	grep -qs "listening on" "$err" || die "tcpdump did not start"
	[[ $(cat "/proc/$CAP_PID/comm") == tcpdump ]] || die "PID $CAP_PID is not tcpdump"
	off=$(stat -c %s "$RUN/transcript.log")
	# the client: TCP_NODELAY, explicit writes, every reply logged (see smtp_client.py)
	timeout 60 nsenter --net="/run/netns/$NS" python3 "$HERE/smtp_client.py" "$scn" "$SRV" "$CLI" \
		"$HERE/logs/$scn.client.log" 2>/dev/null || rc=$?
	[[ $rc == 0 ]] || fail "client $scn exited $rc (see logs/$scn.client.log)"
	# wait (max 20 s) until no connection but TIME-WAIT is left, so FIN/RST are captured
	for i in $(seq 1 200); do
		[[ -z $(nsx ss -Htn state connected "( src $SRV or dst $SRV )" | grep -v TIME-WAIT) ]] && break
		sleep 0.1
	done
	sleep 1
	kill -TERM "$CAP_PID"; wait "$CAP_PID" || true
	CAP_PID=""
	grep -q '^0 packets dropped by kernel' "$err" || fail "tcpdump $scn: $(cat "$err")"
	# Sendmail's side: its -X trace of this session, and what it queued
	tail -c +$((off + 1)) "$RUN/transcript.log" >"$HERE/logs/$scn.transcript.log"
	{
		echo "### mailq"; smx "${SM[@]}" -bp 2>&1 || true
		for f in "$RUN"/queue/*; do
			[[ -f $f ]] || continue
			echo "### $(basename "$f")"; cat -A "$f"
		done
	} | sed "s|$RUN|RUNDIR|g" >"$HERE/logs/$scn.queue.txt"
	rm -f "$RUN"/queue/* # next scenario starts with an empty queue
	tshark -r "$pcap" -T fields -e frame.number -e tcp.stream -e tcp.len \
		-e smtp.req.command -e smtp.response.code >"$HERE/oracle/sendmail-$scn.txt" 2>/dev/null
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
for s in "${SCENARIOS[@]}"; do record "$s"; check_pcap "$HERE/sendmail-$s.pcap"; done
cp "$RUN/daemon.out" "$HERE/logs/daemon.out"
[[ $PROBLEMS == 0 ]] || die "$PROBLEMS problem(s), see above"
log "done"
