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
# The namespace, tcpdump, oracle and pcap checks: $NETNS_LIB (testdata/record/netns.sh).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NETNS_LIB=${NETNS_LIB:-$HERE/../../record/netns.sh} # shared helpers; the environment may override
# shellcheck source-path=SCRIPTDIR source=../../record/netns.sh
source "$NETNS_LIB"
SCENARIOS=("$@")
[[ ${#SCENARIOS[@]} -gt 0 ]] || SCENARIOS=(clean mixed pipelined)
NS=smtpcap-lmtp
SRV=127.0.0.70 # Dovecot's LMTP listener (port 24)
CLI=127.0.1.70 # swaks binds here
RUN=$HERE/run  # Dovecot's base_dir, state, log and maildirs, recreated each run
DC_PID=""      # the Dovecot master we start

[[ $(id -u) == 0 ]] || die "must run as root"
for s in "${SCENARIOS[@]}"; do case $s in clean | mixed | pipelined) ;; *) die "unknown scenario: $s" ;; esac; done

# ---- 1. packages: only what is missing. Debian's policy-rc.d / no systemd keeps the system
# dovecot service from starting; ours has its own base_dir, config and address anyway.
need=()
command -v dovecot >/dev/null || need+=(dovecot-core)
[[ -x /usr/lib/dovecot/lmtp ]] || need+=(dovecot-lmtpd)
for p in swaks tcpdump ethtool tshark; do command -v $p >/dev/null || need+=("$p"); done
[[ ${#need[@]} -eq 0 ]] || ns_install "${need[@]}"

# ---- 6. teardown on exit (ns_cleanup): tcpdump, Dovecot (its master stops its children), the namespace
ns_traps

# ---- 2. namespace: own loopback, MTU 1500, no offloads, no tail loss probe (see netns.sh)
ns_setup "$NS" "$SRV" "$CLI"

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
NS_PIDS+=("$DC_PID") # stopped by ns_cleanup
ns_wait_listener dovecot dovecot "$DC_PID" "$SRV" 24 "$RUN/daemon.out" "$RUN/dovecot.log"
log "dovecot $(dovecot --version), swaks $(swaks --version | awk '/version/ {print $3; exit}'), pid $DC_PID"

# the few-KB body for "mixed" (over carol's 1 KiB quota): 60 fixed lines of 72 characters
BIG="$RUN/big-body.txt"
for i in $(seq -w 1 60); do printf 'line %s: the quick brown fox jumps over the lazy dog 0123456789 ABCDEF\n' "$i"; done >"$BIG"
# swaks arguments per scenario; fixed Date and Message-Id so re-recordings differ only in times/ports
swaks_args() {
	local a=(--protocol LMTP --server "$SRV:24" --local-interface "$CLI" --lhlo client.example.org
		--from sender@example.org --timeout 20 --h-Date "Mon, 01 Jan 2024 12:00:00 +0000"
		--h-Message-Id "<lmtp-$1@client.example.org>" --h-Subject "LMTP test $1")
	# shellcheck disable=SC2054 # the commas are swaks' own list separator
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
	local scn=$1 name=lmtp-$1 pcap="$HERE/lmtp-$1.pcap" err="$RUN/tcpdump.$1.err" off rc=0 args
	log "scenario $scn"
	ns_cap_start "$pcap" "tcp and host $SRV" "$err"
	off=$(stat -c %s "$RUN/dovecot.log")
	mapfile -t args < <(swaks_args "$scn")
	timeout 60 nsenter --net="/run/netns/$NS" swaks "${args[@]}" >"$HERE/logs/$name.swaks.log" 2>&1 || rc=$?
	[[ $rc == 0 ]] || fail "swaks $scn exited $rc (see logs/$name.swaks.log)"
	ns_cap_stop "$SRV" "$err" "$scn" # once only TIME-WAIT is left: FIN/RST captured
	tail -c +$((off + 1)) "$RUN/dovecot.log" >"$HERE/logs/$name.dovecot.log"
	ns_oracle "$pcap" "$HERE/oracle/$name.txt" -d tcp.port==24,smtp # LMTP's port decoded as SMTP
}
# check_pcap SCENARIO: one TCP connection, SYN to FIN/RST, nothing lost or retransmitted, replies as expected
check_pcap() {
	local f="$HERE/lmtp-$1.pcap" n
	ns_check_pcap "$f"
	n=$(tshark -r "$f" -d tcp.port==24,smtp -Y smtp.response.code -T fields -e smtp.response.code 2>/dev/null |
		tr ',\n' '  ' | xargs)
	[[ $n == "${WANT[$1]}" ]] || fail "$f: reply codes '$n', want '${WANT[$1]}'"
}
for s in "${SCENARIOS[@]}"; do record "$s"; check_pcap "$s"; done
cp "$RUN/daemon.out" "$HERE/logs/daemon.out"
[[ $PROBLEMS == 0 ]] || die "$PROBLEMS problem(s), see above"
log "done"
