#!/usr/bin/env bash
# record.sh: record what a real Postfix postscreen(8) (Debian bookworm's postfix
# 3.7.x) does in front of smtpd(8), in a private network namespace, talking to
# smtp_client.py (next to this file): the pregreet test (enforce, drop), a
# patient client, an SMTPUTF8 delivery and smtpd's idle timeout.
#
# Usage (as root): ./record.sh [SCENARIO...]
#   (default: pregreet-enforce pregreet-drop patient smtputf8 idle-timeout)
# Output, next to this script:
#   postscreen-SCENARIO.pcap          the capture (tcpdump on lo, 'tcp and host 127.0.0.N')
#   logs/SCENARIO.client.log          every client write / server reply with timestamps
#   logs/SCENARIO.maillog.log         Postfix's log lines of the session (maillog_file via postlogd)
#   logs/SCENARIO.queue.txt           what Postfix stored (postcat of the held message), if anything
#   oracle/postscreen-SCENARIO.txt    tshark fields oracle
#   conf/main.cf, conf/master.cf      the config as run (RUNDIR = run/ of this directory)
# One Postfix, one postscreen listener per scenario (its own server address and
# settings, in master.cf); the client of each scenario has its own address, so
# postscreen's cache never knows it. An unrecorded warm-up session (4.) first
# starts smtpd and the services it uses. Every wait is bounded; only processes
# started here are stopped, by PID.
# The namespace, tcpdump, oracle and pcap checks: $NETNS_LIB (testdata/record/netns.sh).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NETNS_LIB=${NETNS_LIB:-$HERE/../../record/netns.sh} # shared helpers; the environment may override
# shellcheck source-path=SCRIPTDIR source=../../record/netns.sh
source "$NETNS_LIB"
ALL=(pregreet-enforce pregreet-drop patient smtputf8 idle-timeout)
SCENARIOS=("$@")
[[ ${#SCENARIOS[@]} -gt 0 ]] || SCENARIOS=("${ALL[@]}")
NS=smtpcap-ps
# scenario -> N: the server listens on 127.0.0.N:25, the client binds 127.0.1.N
declare -A NUM=([pregreet-enforce]=101 [pregreet-drop]=102 [patient]=103 [smtputf8]=104 [idle-timeout]=105)
RUN=$HERE/run     # Postfix's config, queue, data and log, recreated each run
CONF=$RUN/conf    # root-owned; the queue must not be below it (postfix check)
MAILLOG=$RUN/log/maillog
MASTER_PID=""     # Postfix's master(8), from its pid file

[[ $(id -u) == 0 ]] || die "must run as root"
for s in "${SCENARIOS[@]}"; do [[ -n ${NUM[$s]:-} ]] || die "unknown scenario: $s"; done

# ---- 1. packages: install only what is missing (postfix replaces exim4/opensmtpd)
need=()
command -v postfix >/dev/null || need+=(postfix)
for p in tcpdump ethtool tshark python3; do command -v $p >/dev/null || need+=("$p"); done
command -v ip >/dev/null || need+=(iproute2)
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
[[ ${#need[@]} -eq 0 ]] || ns_install "${need[@]}"

# ---- 6. teardown on exit (ns_cleanup): our tcpdump and Postfix, then the namespace
ns_traps
addrs=()
for s in "${ALL[@]}"; do addrs+=("127.0.0.${NUM[$s]}" "127.0.1.${NUM[$s]}"); done
addrs+=(127.0.2.103 127.0.2.105) # the warm-up clients (4.)
ns_setup "$NS" "${addrs[@]}"

# ---- 2. Postfix config: postscreen on 127.0.0.N:25 for each scenario, smtpd
# behind it, no DNS, nothing leaves
rm -rf "$RUN"
mkdir -p "$CONF" "$RUN/queue" "$RUN/data" "$RUN/log" "$HERE/logs" "$HERE/oracle" "$HERE/conf"
chmod 755 "$HERE" "$RUN"
chown postfix "$RUN/data"
inet=""
for s in "${ALL[@]}"; do inet+="${inet:+, }127.0.0.${NUM[$s]}"; done
cat >"$CONF/main.cf" <<EOC
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
inet_interfaces = $inet
inet_protocols = ipv4
smtpd_banner = \$myhostname ESMTP Postfix
# explicit: the default (host style) would list every address on lo, the clients' too;
# postscreen_access_list (permit_mynetworks) exempts none of the clients (127.0.1.N)
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
smtputf8_enable = yes
# accepted test messages stay in the hold queue, so postcat can show what was stored
header_checks = regexp:$CONF/header_checks
# postscreen: the pregreet test only. The greeting is "220-" + this banner, then
# postscreen_greet_wait of silence; a client that talks first fails the test.
# postscreen_greet_action is set per listener in master.cf (enforce / drop).
postscreen_greet_banner = \$smtpd_banner
postscreen_greet_wait = 2s
postscreen_greet_action = enforce
postscreen_dnsbl_sites =
# no after-greeting tests: a passing client is handed to smtpd at once (no 4.3.2 "try again")
postscreen_pipelining_enable = no
postscreen_non_smtp_command_enable = no
postscreen_bare_newline_enable = no
EOC
printf 'root OK\npostmaster OK\nbøb OK\n' >"$CONF/recipients"
printf '/^Subject: smtpcap /\tHOLD smtpcap fixture\n' >"$CONF/header_checks"
{
	echo "# service type private unpriv chroot wakeup maxproc command"
	echo "# one postscreen per scenario, each with its own cache (a btree cache is opened exclusively)"
	for s in "${ALL[@]}"; do
		n=${NUM[$s]}
		printf '127.0.0.%s:25 inet n - n - 1 postscreen\n  -o postscreen_cache_map=btree:$data_directory/psc_cache_%s\n' "$n" "$n"
		case $s in
		pregreet-drop) echo "  -o postscreen_greet_action=drop" ;;
		idle-timeout) echo "  -o smtpd_service_name=smtpd_idle" ;;
		esac
	done
	echo "smtpd pass - - n - - smtpd"
	echo "smtpd_idle pass - - n - - smtpd -o smtpd_timeout=3s"
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
postconf -c "$CONF" -M >>"$RUN/postconf.out" 2>&1 || { cat "$RUN/postconf.out" >&2; die "postconf -M failed"; }
! grep -q warning "$RUN/postconf.out" || { cat "$RUN/postconf.out" >&2; die "postconf warnings"; }
[[ $(postconf -c "$CONF" -h postscreen_greet_wait) == 2s ]] || die "postscreen_greet_wait not set"
[[ $(postconf -c "$CONF" -P "127.0.0.${NUM[pregreet-drop]}:25/inet/postscreen_greet_action" | sed 's/.*= //') == drop ]] ||
	die "postscreen_greet_action=drop not set for pregreet-drop"

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
for s in "${ALL[@]}"; do
	ns_wait_listener postfix master "$MASTER_PID" "127.0.0.${NUM[$s]}" 25 "$RUN/postfix.out" "$MAILLOG"
done
log "postfix $(postconf -c "$CONF" -h mail_version) listening, master pid $MASTER_PID"

# ---- 4. warm-up, not recorded: master(8) starts a service's process at its first
# connection, so a first MAIL or RCPT would wait ~50 ms for cleanup or
# trivial-rewrite to start and the server's delayed ACK would add a frame. One
# session from 127.0.2.N through listeners 103 (smtpd) and 105 (smtpd_idle)
# starts them all; the pregreet listeners stay cold on purpose: their postscreen
# starts at the recorded connection, so the early EHLO beats its "220-".
for n in 103 105; do
	timeout 30 nsenter --net="/run/netns/$NS" python3 "$HERE/smtp_client.py" warm-up "127.0.0.$n" "127.0.2.$n" \
		"$RUN/warm-up.$n.log" 2>/dev/null || { cat "$RUN/warm-up.$n.log" >&2; die "warm-up via 127.0.0.$n failed"; }
done

# ---- 5. one capture per scenario
record() {
	local scn=$1 pcap="$HERE/postscreen-$1.pcap" err="$RUN/tcpdump.$1.err" off rc=0 id
	local srv="127.0.0.${NUM[$1]}" cli="127.0.1.${NUM[$1]}"
	log "scenario $scn ($cli -> $srv:25)"
	ns_cap_start "$pcap" "tcp and host $srv" "$err"
	off=$(stat -c %s "$MAILLOG")
	timeout 60 nsenter --net="/run/netns/$NS" python3 "$HERE/smtp_client.py" "$scn" "$srv" "$cli" \
		"$HERE/logs/$scn.client.log" 2>/dev/null || rc=$?
	[[ $rc == 0 ]] || fail "client $scn exited $rc (see logs/$scn.client.log)"
	ns_cap_stop "$srv" "$err" "$scn" # once only TIME-WAIT is left: FIN/RST captured
	# Postfix's log of this session: wait (max 10 s) for postscreen's "DISCONNECT"
	# (a client it kept) or smtpd's "disconnect from" (a client it passed on)
	for _ in $(seq 1 100); do tail -c +$((off + 1)) "$MAILLOG" | grep -qi 'disconnect' && break; sleep 0.1; done
	sleep 0.5
	tail -c +$((off + 1)) "$MAILLOG" | sed "s|$RUN|RUNDIR|g" >"$HERE/logs/$scn.maillog.log"
	grep -qi 'disconnect' "$HERE/logs/$scn.maillog.log" || fail "$scn: no disconnect line in the maillog"
	# what Postfix stored: the held message (header_checks HOLD), then drop it
	id=$(sed -n 's/.*queued as \([0-9A-F]\{6,\}\).*/\1/p' "$HERE/logs/$scn.client.log" | head -n1)
	if [[ -n $id ]]; then
		{ echo "### postcat -q $id"; nsx postcat -c "$CONF" -q "$id" 2>&1 || true; } | sed "s|$RUN|RUNDIR|g" \
			>"$HERE/logs/$scn.queue.txt"
		nsx postsuper -c "$CONF" -d "$id" hold >/dev/null 2>&1 || true
	else
		echo "nothing stored (no 250 to the end of data)" >"$HERE/logs/$scn.queue.txt"
	fi
	ns_oracle "$pcap" "$HERE/oracle/postscreen-$scn.txt"
}
# each: one TCP connection, SYN to FIN/RST, nothing lost or retransmitted
for s in "${SCENARIOS[@]}"; do record "$s"; ns_check_pcap "$HERE/postscreen-$s.pcap"; done
nsx postfix -c "$CONF" stop >>"$RUN/postfix.out" 2>&1 || true # graceful; ns_cleanup waits, then TERMs
for _ in $(seq 1 100); do kill -0 "$MASTER_PID" 2>/dev/null || break; sleep 0.1; done
cp "$RUN/postfix.out" "$HERE/logs/postfix.out"
sed "s|$RUN|RUNDIR|g" "$MAILLOG" >"$HERE/logs/maillog.all"
[[ $PROBLEMS == 0 ]] || die "$PROBLEMS problem(s), see above"
log "done"
