#!/usr/bin/env bash
# record.sh: record what a real Postfix smtpd (Debian bookworm's postfix 3.7.x)
# does with `smtpd_forbid_bare_newline = yes`, in a private network namespace,
# talking to smtp_client.py (next to this file).
#
# Usage (as root): ./record.sh [SCENARIO...]  (default: barelf-mid barelf-split barelf-end clean)
# Output, next to this script:
#   postfix-yes-SCENARIO.pcap       the capture (tcpdump on lo, 'tcp and host 127.0.0.90')
#   logs/SCENARIO.client.log        every client write / server reply with timestamps
#   logs/SCENARIO.maillog           Postfix's log lines of the session (maillog_file via postlogd)
#   logs/SCENARIO.queue.txt         what Postfix stored (postcat of the held message), if anything
#   oracle/postfix-yes-SCENARIO.txt tshark fields oracle
#   conf/main.cf, conf/master.cf    the config as run (RUNDIR = run/ of this directory)
# Every wait is bounded; only processes started here are stopped, by PID.
# The namespace, tcpdump, oracle and pcap checks: $NETNS_LIB (testdata/record/netns.sh).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NETNS_LIB=${NETNS_LIB:-$HERE/../../record/netns.sh} # shared helpers; the environment may override
# shellcheck source-path=SCRIPTDIR source=../../record/netns.sh
source "$NETNS_LIB"
SCENARIOS=("$@")
[[ ${#SCENARIOS[@]} -gt 0 ]] || SCENARIOS=(barelf-mid barelf-split barelf-end clean)
NS=smtpcap-pfbare
SRV=127.0.0.90    # Postfix listens here only
CLI=127.0.1.90    # the client binds here
RUN=$HERE/run     # Postfix's config, queue, data and log, recreated each run
CONF=$RUN/conf    # root-owned; the queue must not be below it (postfix check)
MAILLOG=$RUN/log/maillog
MASTER_PID=""     # Postfix's master(8), from its pid file

[[ $(id -u) == 0 ]] || die "must run as root"
for s in "${SCENARIOS[@]}"; do
	case $s in barelf-mid | barelf-split | barelf-end | clean) ;; *) die "unknown scenario: $s" ;; esac
done

# ---- 1. packages: install only what is missing (postfix replaces exim4/opensmtpd)
need=()
command -v postfix >/dev/null || need+=(postfix)
for p in tcpdump ethtool tshark python3; do command -v $p >/dev/null || need+=("$p"); done
command -v ip >/dev/null || need+=(iproute2)
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
[[ ${#need[@]} -eq 0 ]] || ns_install "${need[@]}"

# ---- 5. teardown on exit (ns_cleanup): our tcpdump and Postfix, then the namespace
ns_traps
ns_setup "$NS" "$SRV" "$CLI"

# ---- 2. Postfix config: one smtpd on 127.0.0.90:25, no DNS, nothing leaves
rm -rf "$RUN"
mkdir -p "$CONF" "$RUN/queue" "$RUN/data" "$RUN/log" "$HERE/logs" "$HERE/oracle" "$HERE/conf"
chmod 755 "$HERE" "$RUN"
chown postfix "$RUN/data"
cat >"$CONF/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $RUN/queue
data_directory = $RUN/data
# logs to a file through the postlog service (postlogd), no syslog here
maillog_file = $MAILLOG
maillog_file_prefixes = $RUN/log
myhostname = mx.example.test
mydomain = example.test
myorigin = example.test
mydestination = example.test
inet_interfaces = $SRV
inet_protocols = ipv4
smtpd_banner = \$myhostname ESMTP Postfix
# explicit: the default (host style) would list every address on lo, the client's too
mynetworks = 127.0.0.1/32
# no DNS: no reverse lookup of the client, no MX lookups
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
biff = no
alias_maps =
alias_database =
local_recipient_maps = texthash:$CONF/recipients
local_transport = discard:
virtual_transport = discard:
relay_transport = discard:
default_transport = discard:
# the setting under test; no exclusions (the default, \$mynetworks, would exempt nothing here anyway)
smtpd_forbid_bare_newline = yes
smtpd_forbid_bare_newline_exclusions =
# accepted test messages stay in the hold queue, so postcat can show what was stored
header_checks = regexp:$CONF/header_checks
EOF
printf 'root OK\npostmaster OK\n' >"$CONF/recipients"
printf '/^Subject: smtpcap /\tHOLD smtpcap fixture\n' >"$CONF/header_checks"
{
	echo "# service type private unpriv chroot wakeup maxproc command"
	echo "smtp      inet  n       -       n       -       -       smtpd"
	for s in "pickup unix n - n 60 1 pickup" "cleanup unix n - n - 0 cleanup" "qmgr unix n - n 300 1 qmgr" \
		"rewrite unix - - n - - trivial-rewrite" "bounce unix - - n - 0 bounce" "defer unix - - n - 0 bounce" \
		"trace unix - - n - 0 bounce" "verify unix - - n - 1 verify" "flush unix n - n 1000? 0 flush" \
		"proxymap unix - - n - - proxymap" "showq unix n - n - - showq" "error unix - - n - - error" \
		"retry unix - - n - - error" "discard unix - - n - - discard" "anvil unix - - n - 1 anvil" \
		"scache unix - - n - 1 scache" "postlog unix-dgram n - n - 1 postlogd"; do
		echo "$s"
	done
} >"$CONF/master.cf"
for f in main.cf master.cf; do sed "s|$RUN|RUNDIR|g" "$CONF/$f" >"$HERE/conf/$f"; done # published copies
postconf -c "$CONF" -n >"$RUN/postconf.out" 2>&1 || { cat "$RUN/postconf.out" >&2; die "postconf failed"; }
! grep -q warning "$RUN/postconf.out" || { cat "$RUN/postconf.out" >&2; die "postconf warnings"; }
[[ $(postconf -c "$CONF" -h smtpd_forbid_bare_newline) == yes ]] || die "smtpd_forbid_bare_newline not set"

# ---- 3. Postfix in the foreground (start-fg: postfix-script runs `master -s` as its child)
nsenter --net="/run/netns/$NS" postfix -c "$CONF" start-fg >"$RUN/postfix.out" 2>&1 &
WRAP_PID=$!
for _ in $(seq 1 100); do
	MASTER_PID=$(tr -dc 0-9 2>/dev/null <"$RUN/queue/pid/master.pid" || true)
	[[ -n $MASTER_PID ]] && break
	kill -0 "$WRAP_PID" 2>/dev/null || { cat "$RUN/postfix.out" "$MAILLOG" >&2; die "postfix start-fg exited"; }
	sleep 0.1
done
[[ -n $MASTER_PID ]] || die "no master.pid"
NS_PIDS+=("$MASTER_PID" "$WRAP_PID") # master first: SIGTERM passes to its children, then the wrapper ends
ns_wait_listener postfix master "$MASTER_PID" "$SRV" 25 "$RUN/postfix.out" "$MAILLOG"
log "postfix $(postconf -c "$CONF" -h mail_version) listening, master pid $MASTER_PID"

# ---- 4. one capture per scenario
record() {
	local scn=$1 pcap="$HERE/postfix-yes-$1.pcap" err="$RUN/tcpdump.$1.err" off rc=0 id
	log "scenario $scn"
	ns_cap_start "$pcap" "tcp and host $SRV" "$err"
	off=$(stat -c %s "$MAILLOG")
	timeout 60 nsenter --net="/run/netns/$NS" python3 "$HERE/smtp_client.py" "$scn" "$SRV" "$CLI" \
		"$HERE/logs/$scn.client.log" 2>/dev/null || rc=$?
	[[ $rc == 0 ]] || fail "client $scn exited $rc (see logs/$scn.client.log)"
	ns_cap_stop "$SRV" "$err" "$scn" # once only TIME-WAIT is left: FIN/RST captured
	# Postfix's log of this session: wait (max 10 s) for smtpd's "disconnect from"
	for _ in $(seq 1 100); do tail -c +$((off + 1)) "$MAILLOG" | grep -q 'disconnect from' && break; sleep 0.1; done
	sleep 0.5
	tail -c +$((off + 1)) "$MAILLOG" | sed "s|$RUN|RUNDIR|g" >"$HERE/logs/$scn.maillog"
	grep -q 'disconnect from' "$HERE/logs/$scn.maillog" || fail "$scn: no disconnect line in the maillog"
	# what Postfix stored: the held message (header_checks HOLD), then drop it
	id=$(sed -n 's/.*queued as \([0-9A-F]\{6,\}\).*/\1/p' "$HERE/logs/$scn.client.log" | head -n1)
	if [[ -n $id ]]; then
		{ echo "### postcat -q $id"; nsx postcat -c "$CONF" -q "$id" 2>&1 || true; } | sed "s|$RUN|RUNDIR|g" \
			>"$HERE/logs/$scn.queue.txt"
		nsx postsuper -c "$CONF" -d "$id" hold >/dev/null 2>&1 || true
	else
		echo "nothing stored (no 250 to the end of data)" >"$HERE/logs/$scn.queue.txt"
	fi
	ns_oracle "$pcap" "$HERE/oracle/postfix-yes-$scn.txt"
}
# each: one TCP connection, SYN to FIN/RST, nothing lost or retransmitted
for s in "${SCENARIOS[@]}"; do record "$s"; ns_check_pcap "$HERE/postfix-yes-$s.pcap"; done
nsx postfix -c "$CONF" stop >>"$RUN/postfix.out" 2>&1 || true # graceful; ns_cleanup waits, then TERMs
for _ in $(seq 1 100); do kill -0 "$MASTER_PID" 2>/dev/null || break; sleep 0.1; done
cp "$RUN/postfix.out" "$HERE/logs/postfix.out"
sed "s|$RUN|RUNDIR|g" "$MAILLOG" >"$HERE/logs/maillog.all"
[[ $PROBLEMS == 0 ]] || die "$PROBLEMS problem(s), see above"
log "done"
