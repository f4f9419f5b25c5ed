#!/usr/bin/env bash
# record.sh: record real LMTP (RFC 2033) sessions: Dovecot's lmtp server, swaks as the client,
# in a private network namespace.
#
# Usage (as root): ./record.sh [SCENARIO...]  (default: all: clean mixed pipelined)
# Output, next to this script:
#   lmtp-SCENARIO.pcap              the capture (tcpdump on lo, 'tcp and host 127.0.0.70')
#   logs/lmtp-SCENARIO.swaks.log    swaks' full output (both directions)
#   logs/lmtp-SCENARIO.dovecot.log  Dovecot's log lines of that session
#   logs/daemon.out                 Dovecot master's stdout/stderr
#   oracle/lmtp-SCENARIO.txt        tshark fields oracle (port 24 decoded as SMTP)
#   conf/dovecot.conf, conf/users   the config as run (written by this script)
# Every wait is bounded; only processes started here are stopped, by PID.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCENARIOS=("$@")
[[ ${#SCENARIOS[@]} -gt 0 ]] || SCENARIOS=(clean mixed pipelined)
NS=smtpcap-lmtp
SRV=127.0.0.70 # Dovecot's LMTP listener (port 24)
CLI=127.0.1.70 # swaks binds here
RUN=$HERE/run  # Dovecot's base_dir, state, log and maildirs, recreated each run
DC_PID=""      # the Dovecot master we start
CAP_PID=""     # the running tcpdump we start
NS_CREATED=""
PROBLEMS=0
die() { echo "record.sh: $*" >&2; exit 1; }
fail() { echo "record.sh: PROBLEM: $*" >&2; PROBLEMS=$((PROBLEMS + 1)); }
log() { echo "== $*" >&2; }
nsx() { nsenter --net="/run/netns/$NS" "$@"; } # never background a function: $! would be a subshell

[[ $(id -u) == 0 ]] || die "must run as root"
for s in "${SCENARIOS[@]}"; do case $s in clean | mixed | pipelined) ;; *) die "unknown scenario: $s" ;; esac; done

# ---- 1. packages: only what is missing. Debian's policy-rc.d / no systemd keeps the system
# dovecot service from starting; ours has its own base_dir, config and address anyway.
need=()
command -v dovecot >/dev/null || need+=(dovecot-core)
[[ -x /usr/lib/dovecot/lmtp ]] || need+=(dovecot-lmtpd)
for p in swaks tcpdump ethtool tshark; do command -v $p >/dev/null || need+=("$p"); done
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
cleanup() { # ---- 6. teardown: tcpdump, Dovecot (its master stops its children), the namespace
	local rc=$? p i
	set +e
	for p in $CAP_PID $DC_PID; do stop_pid "$p"; done
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

# ---- 2. namespace: own loopback, MTU 1500, no offloads (real MSS-sized segments), no tail loss probe
log "namespace $NS"
ip netns add "$NS"
NS_CREATED=1
nsx ip link set lo up
nsx ip link set lo mtu 1500
nsx ethtool -K lo tso off gso off gro off
nsx sysctl -qw net.ipv4.tcp_early_retrans=0
nsx ip addr add "$SRV/32" dev lo
nsx ip addr add "$CLI/32" dev lo

# ---- 3. Dovecot config: LMTP only, everything below $RUN, users from a passwd-file
rm -rf "$RUN"
mkdir -p "$RUN/mail" "$HERE/logs" "$HERE/oracle" "$HERE/conf"
chown mail:mail "$RUN/mail" # mail is stored as Debian's user "mail" (uid/gid 8)
# user:password:uid:gid:gecos:home:shell:extra fields; carol's quota is 1 KiB (userdb_ prefix needed)
cat >"$HERE/conf/users" <<'EOF'
alice@example.test:{PLAIN}secret:8:8::::
bob@example.test:{PLAIN}secret:8:8::::
carol@example.test:{PLAIN}secret:8:8::::userdb_quota_rule=*:storage=1K
EOF
cat >"$HERE/conf/dovecot.conf" <<EOF
# written by record.sh: Dovecot LMTP on $SRV:24 only, state and log below $RUN
protocols = lmtp
listen = $SRV
base_dir = $RUN/base
state_dir = $RUN/state
instance_name = smtpcap-lmtp
log_path = $RUN/dovecot.log
info_log_path = $RUN/dovecot.log
hostname = mx.example.test
ssl = no
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 8
first_valid_gid = 8
passdb {
  driver = passwd-file
  args = $HERE/conf/users
}
userdb {
  driver = passwd-file
  args = $HERE/conf/users
}
mail_home = $RUN/mail/%u
mail_location = maildir:$RUN/mail/%u
mail_plugins = quota
plugin {
  quota = count:User quota
  quota_vsizes = yes
  quota_rule = *:storage=10M
}
service lmtp {
  inet_listener lmtp {
    address = $SRV
    port = 24
  }
}
protocol lmtp {
  mail_plugins = quota
  lmtp_save_to_detail_mailbox = no
  # quota is checked when the message is saved (after the end of data), not at RCPT
  lmtp_rcpt_check_quota = no
}
EOF
: >"$RUN/dovecot.log"
nsenter --net="/run/netns/$NS" dovecot -F -c "$HERE/conf/dovecot.conf" >"$RUN/daemon.out" 2>&1 &
DC_PID=$!
for i in $(seq 1 100); do
	[[ -n $(nsx ss -Hltn "src $SRV and sport = :24") ]] && break
	kill -0 "$DC_PID" 2>/dev/null || { cat "$RUN/daemon.out" "$RUN/dovecot.log" >&2; die "dovecot exited"; }
	sleep 0.1
done
[[ -n $(nsx ss -Hltn "src $SRV and sport = :24") ]] || die "dovecot is not listening on $SRV:24"
[[ $(cat "/proc/$DC_PID/comm") == dovecot ]] || die "PID $DC_PID is not dovecot"
log "dovecot $(dovecot --version), swaks $(swaks --version | awk '/version/ {print $3; exit}'), pid $DC_PID"

# the few-KB body for "mixed" (over carol's 1 KiB quota): 60 fixed lines of 72 characters
BIG="$RUN/big-body.txt"
for i in $(seq -w 1 60); do printf 'line %s: the quick brown fox jumps over the lazy dog 0123456789 ABCDEF\n' "$i"; done >"$BIG"
# swaks arguments per scenario; fixed Date and Message-Id so re-recordings differ only in times/ports
swaks_args() {
	local a=(--protocol LMTP --server "$SRV:24" --local-interface "$CLI" --lhlo client.example.org
		--from sender@example.org --timeout 20 --h-Date "Mon, 01 Jan 2024 12:00:00 +0000"
		--h-Message-Id "<lmtp-$1@client.example.org>" --h-Subject "LMTP test $1")
	case $1 in
	clean) a+=(--to alice@example.test,bob@example.test --body "Hello Alice and Bob.") ;;
	mixed) a+=(--to alice@example.test,nobody@example.test,carol@example.test --body "@$BIG") ;;
	pipelined) a+=(--pipeline --to alice@example.test,bob@example.test --body "Hello Alice and Bob.") ;;
	esac
	printf '%s\n' "${a[@]}"
}
# reply codes expected on the wire, in order (tshark smtp.response.code: one per reply, the multi-line
# LHLO reply counts once); after the end of data one reply per accepted recipient (RFC 2033 4.2)
declare -A WANT=(
	[clean]="220 250 250 250 250 354 250 250 221"
	[mixed]="220 250 250 250 550 250 354 250 552 221"
	[pipelined]="220 250 250 250 250 354 250 250 221")

# ---- 4/5. one capture per scenario
record() {
	local scn=$1 name=lmtp-$1 pcap="$HERE/lmtp-$1.pcap" err="$RUN/tcpdump.$1.err" off i rc=0 args
	log "scenario $scn"
	rm -f "$pcap"
	nsenter --net="/run/netns/$NS" tcpdump -Z root -i lo --immediate-mode -U -w "$pcap" "tcp and host $SRV" 2>"$err" &
	CAP_PID=$!
	for i in $(seq 1 100); do grep -qs "listening on" "$err" && break; sleep 0.1; done
	grep -qs "listening on" "$err" || die "tcpdump did not start"
	[[ $(cat "/proc/$CAP_PID/comm") == tcpdump ]] || die "PID $CAP_PID is not tcpdump"
	off=$(stat -c %s "$RUN/dovecot.log")
	mapfile -t args < <(swaks_args "$scn")
	timeout 60 nsenter --net="/run/netns/$NS" swaks "${args[@]}" >"$HERE/logs/$name.swaks.log" 2>&1 || rc=$?
	[[ $rc == 0 ]] || fail "swaks $scn exited $rc (see logs/$name.swaks.log)"
	# wait (max 20 s) until no connection but TIME-WAIT is left, so FIN/RST are captured
	for i in $(seq 1 200); do
		[[ -z $(nsx ss -Htn state connected "( src $SRV or dst $SRV )" | grep -v TIME-WAIT) ]] && break
		sleep 0.1
	done
	sleep 1
	kill -TERM "$CAP_PID"; wait "$CAP_PID" || true
	CAP_PID=""
	grep -q '^0 packets dropped by kernel' "$err" || fail "tcpdump $scn: $(cat "$err")"
	tail -c +$((off + 1)) "$RUN/dovecot.log" >"$HERE/logs/$name.dovecot.log"
	tshark -r "$pcap" -T fields -e frame.number -e tcp.stream -e tcp.len -e smtp.req.command \
		-e smtp.response.code -d tcp.port==24,smtp >"$HERE/oracle/$name.txt" 2>/dev/null
}
# check_pcap SCENARIO: one TCP connection, SYN to FIN/RST, nothing lost or retransmitted, replies as expected
check_pcap() {
	local f="$HERE/lmtp-$1.pcap" n
	n=$(tshark -r "$f" -T fields -e tcp.stream 2>/dev/null | sort -u | grep -c . || true)
	[[ $n == 1 ]] || fail "$f: $n TCP streams"
	n=$(tshark -r "$f" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' 2>/dev/null | grep -c . || true)
	[[ $n == 1 ]] || fail "$f: $n SYNs"
	n=$(tshark -r "$f" -Y 'tcp.flags.fin == 1 || tcp.flags.reset == 1' 2>/dev/null | grep -c . || true)
	[[ $n -ge 1 ]] || fail "$f: no FIN/RST"
	n=$(tshark -r "$f" -Y 'tcp.analysis.lost_segment || tcp.analysis.retransmission || tcp.analysis.out_of_order' \
		2>/dev/null | grep -c . || true)
	[[ $n == 0 ]] || fail "$f: $n lost/retransmitted/out-of-order segments"
	n=$(tshark -r "$f" -d tcp.port==24,smtp -Y smtp.response.code -T fields -e smtp.response.code 2>/dev/null |
		tr ',\n' '  ' | xargs)
	[[ $n == "${WANT[$1]}" ]] || fail "$f: reply codes '$n', want '${WANT[$1]}'"
}
for s in "${SCENARIOS[@]}"; do record "$s"; check_pcap "$s"; done
cp "$RUN/daemon.out" "$HERE/logs/daemon.out"
[[ $PROBLEMS == 0 ]] || die "$PROBLEMS problem(s), see above"
log "done"
