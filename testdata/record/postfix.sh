# shellcheck shell=bash
# postfix.sh: shell functions for recording a real Postfix (Debian bookworm's
# postfix 3.7.x) run from a private config directory in the network namespace
# of netns.sh, sourced after netns.sh by the record.sh of testdata/pcaps/postfix-bare
# and testdata/pcaps/postscreen. Each script keeps its own main.cf, master.cf
# services, checks and scenarios; what they both did alike is here.
#
# The caller sets HERE (its own directory) before sourcing this; RUN, CONF and
# MAILLOG below follow from it. It sets PF_PREFIX (the capture and oracle file
# name prefix, e.g. postfix-yes-), PF_MAILLOG_EXT (the per-scenario maillog's
# file name ending, e.g. .maillog) and PF_DISCONNECT (grep arguments matching
# the line that ends a session in the maillog, e.g. ('disconnect from')) before
# pf_record. Then, under `set -euo pipefail`, in this order:
#   pf_install                 packages, installs only what is missing
#   ns_traps; ns_setup NAME ADDR...
#   pf_dirs                    a fresh RUN (config, queue, data, log) and the output dirs
#   write $CONF/main.cf (pf_main_cf: the usual settings) and $CONF/master.cf
#                              (pf_master_services: the usual services), both from lib/postfix.sh
#   pf_check_conf -n [-M]      published copies in conf/, postconf must not warn
#   pf_start ADDR...           Postfix in the namespace, listening on ADDR:25 each
#   per scenario: pf_record SCENARIO SERVER-ADDR CLIENT-ADDR
#   pf_finish                  stop Postfix, keep its logs, die on PROBLEMS, "done"
# Every wait is bounded; only processes started here (Postfix's start-fg wrapper
# and its master, in NS_PIDS) are stopped, by PID, never by name.

# pf_main_cf (the usual main.cf) and pf_master_services (the usual master.cf services), shared
# with the record.sh of testdata/record/fragments and testdata/record/pmtu:
# shellcheck source=lib/postfix.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/postfix.sh"

RUN=$HERE/run              # Postfix's config, queue, data and log, recreated each run
CONF=$RUN/conf             # root-owned; the queue must not be below it (postfix check)
MAILLOG=$RUN/log/maillog   # maillog_file (written by postlogd)
MASTER_PID=""              # Postfix's master(8), from its pid file (pf_start)
WRAP_PID=""                # the `postfix start-fg` wrapper we started (pf_start)
PF_PREFIX=""               # capture and oracle file names: PREFIX + scenario
PF_MAILLOG_EXT=".maillog"  # logs/SCENARIO + this: the session's maillog lines
PF_DISCONNECT=('disconnect from') # grep arguments: the session's last maillog line

# pf_install: install what is missing (postfix replaces exim4/opensmtpd), with
# no mailer configuration asked for.
pf_install() {
	local need=() p
	command -v postfix >/dev/null || need+=(postfix)
	for p in tcpdump ethtool tshark python3; do command -v $p >/dev/null || need+=("$p"); done
	command -v ip >/dev/null || need+=(iproute2)
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	[[ ${#need[@]} -eq 0 ]] || ns_install "${need[@]}"
}

# pf_dirs: remove RUN of an earlier run, create it (config, queue, data, log)
# and the output directories logs/, oracle/ and conf/ next to the caller.
pf_dirs() {
	rm -rf "$RUN"
	mkdir -p "$CONF" "$RUN/queue" "$RUN/data" "$RUN/log" "$HERE/logs" "$HERE/oracle" "$HERE/conf"
	chmod 755 "$HERE" "$RUN"
	chown postfix "$RUN/data"
}

# pf_check_conf OPTION...: copy main.cf and master.cf to conf/ (RUN as RUNDIR),
# then `postconf -c CONF OPTION` for each OPTION (-n; -M to check master.cf too)
# must succeed, and none of them warn (output in RUN/postconf.out).
pf_check_conf() {
	local f o
	for f in main.cf master.cf; do sed "s|$RUN|RUNDIR|g" "$CONF/$f" >"$HERE/conf/$f"; done # published copies
	: >"$RUN/postconf.out"
	for o in "$@"; do
		postconf -c "$CONF" "$o" >>"$RUN/postconf.out" 2>&1 && continue
		cat "$RUN/postconf.out" >&2
		if [[ $o == -n ]]; then die "postconf failed"; else die "postconf $o failed"; fi
	done
	! grep -q warning "$RUN/postconf.out" || { cat "$RUN/postconf.out" >&2; die "postconf warnings"; }
}

# pf_start ADDR...: Postfix in the foreground in the namespace (start-fg:
# postfix-script runs `master -s` as its child). Waits (max 10 s) for the
# master's pid file, then until it listens on ADDR:25 for each ADDR.
pf_start() {
	local a
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
	for a in "$@"; do
		ns_wait_listener postfix master "$MASTER_PID" "$a" 25 "$RUN/postfix.out" "$MAILLOG"
	done
	log "postfix $(postconf -c "$CONF" -h mail_version) listening, master pid $MASTER_PID"
}

# pf_record SCENARIO SRV CLI: one capture, $PF_PREFIX$SCENARIO.pcap, of
# smtp_client.py (next to the caller) running SCENARIO from CLI to SRV:25, and
# its logs: logs/SCENARIO.client.log, logs/SCENARIO$PF_MAILLOG_EXT (Postfix's log
# lines of the session), logs/SCENARIO.queue.txt (postcat of the held message,
# which is then deleted), oracle/$PF_PREFIX$SCENARIO.txt; then ns_check_pcap.
pf_record() {
	local scn=$1 srv=$2 cli=$3 pcap="$HERE/$PF_PREFIX$1.pcap" err="$RUN/tcpdump.$1.err" off rc=0 id
	local slog="$HERE/logs/$1$PF_MAILLOG_EXT"
	ns_cap_start "$pcap" "tcp and host $srv" "$err"
	off=$(stat -c %s "$MAILLOG")
	timeout 60 nsenter --net="/run/netns/$NS" python3 "$HERE/smtp_client.py" "$scn" "$srv" "$cli" \
		"$HERE/logs/$scn.client.log" 2>/dev/null || rc=$?
	[[ $rc == 0 ]] || fail "client $scn exited $rc (see logs/$scn.client.log)"
	ns_cap_stop "$srv" "$err" "$scn" # once only TIME-WAIT is left: FIN/RST captured
	# Postfix's log of this session: wait (max 10 s) for its disconnect line
	for _ in $(seq 1 100); do
		tail -c +$((off + 1)) "$MAILLOG" | grep -q "${PF_DISCONNECT[@]}" && break
		sleep 0.1
	done
	sleep 0.5
	tail -c +$((off + 1)) "$MAILLOG" | sed "s|$RUN|RUNDIR|g" >"$slog"
	grep -q "${PF_DISCONNECT[@]}" "$slog" || fail "$scn: no disconnect line in the maillog"
	# what Postfix stored: the held message (header_checks HOLD), then drop it
	id=$(sed -n 's/.*queued as \([0-9A-F]\{6,\}\).*/\1/p' "$HERE/logs/$scn.client.log" | head -n1)
	if [[ -n $id ]]; then
		{ echo "### postcat -q $id"; nsx postcat -c "$CONF" -q "$id" 2>&1 || true; } | sed "s|$RUN|RUNDIR|g" \
			>"$HERE/logs/$scn.queue.txt"
		nsx postsuper -c "$CONF" -d "$id" hold >/dev/null 2>&1 || true
	else
		echo "nothing stored (no 250 to the end of data)" >"$HERE/logs/$scn.queue.txt"
	fi
	ns_oracle "$pcap" "$HERE/oracle/$PF_PREFIX$scn.txt"
	ns_check_pcap "$pcap" # one TCP connection, SYN to FIN/RST, nothing lost or retransmitted
}

# pf_finish: stop Postfix gracefully and wait (max 10 s) for its master (ns_cleanup
# TERMs what is left), keep logs/postfix.out and logs/maillog.all, die if any
# fail was noted, else say "done".
pf_finish() {
	nsx postfix -c "$CONF" stop >>"$RUN/postfix.out" 2>&1 || true
	for _ in $(seq 1 100); do kill -0 "$MASTER_PID" 2>/dev/null || break; sleep 0.1; done
	cp "$RUN/postfix.out" "$HERE/logs/postfix.out"
	sed "s|$RUN|RUNDIR|g" "$MAILLOG" >"$HERE/logs/maillog.all"
	[[ $PROBLEMS == 0 ]] || die "$PROBLEMS problem(s), see above"
	log "done"
}
