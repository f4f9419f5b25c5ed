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
# The namespace, tcpdump, oracle and pcap checks: $NETNS_LIB (testdata/record/netns.sh).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NETNS_LIB=${NETNS_LIB:-$HERE/../../record/netns.sh} # shared helpers; the environment may override
# shellcheck source-path=SCRIPTDIR source=../../record/netns.sh
source "$NETNS_LIB"
SCENARIOS=("$@")
[[ ${#SCENARIOS[@]} -gt 0 ]] || SCENARIOS=(clean barelf-end smuggle smuggle-split pipelined unoffered-pipelining)
NS=smtpcap-osmtpd
SRV=127.0.0.80    # smtpd listens here only
CLI=127.0.1.80    # the client binds here
RUN=$HERE/run     # smtpd's run-time files (spool, maildir, tables), recreated each run
SMTPD_PID=""      # the smtpd we start

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
	echo "opensmtpd opensmtpd/mailname string mx.example.test" | debconf-set-selections
	ns_install "${need[@]}"
fi

# ---- 5. teardown on exit (ns_cleanup): our tcpdump and smtpd, then the namespace
ns_traps

# ---- 2a. namespace: own loopback, MTU 1500, no offloads, no tail loss probe (see netns.sh)
ns_setup "$NS" "$SRV" "$CLI"

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
# shellcheck disable=SC2016 # $0 and $@ are sh's own, expanded inside the namespace
SMX=(unshare --mount --uts sh -c 'mount --bind "$0/spool" /var/spool && mount --bind "$0/sock" /run &&
	mount --bind "$0/hosts" /etc/hosts && mount --bind "$0/resolv.conf" /etc/resolv.conf &&
	hostname mx.example.test && exec "$@"' "$RUN")

# ---- 2c. smtpd in the foreground (-d: log to stderr), verbose, SMTP session trace
: >"$RUN/smtpd.log"
nsenter --net="/run/netns/$NS" "${SMX[@]}" smtpd -d -v -T smtp -f "$RUN/smtpd.conf" >"$RUN/smtpd.log" 2>&1 &
SMTPD_PID=$!
NS_PIDS+=("$SMTPD_PID") # stopped by ns_cleanup; smtpd's children leave with their parent
ns_wait_listener smtpd smtpd "$SMTPD_PID" "$SRV" 25 "$RUN/smtpd.log"
log "$(smtpd -h 2>&1 | head -1) listening, pid $SMTPD_PID"

# ---- 3/4. one capture per scenario
record() {
	local scn=$1 pcap="$HERE/opensmtpd-$1.pcap" err="$RUN/tcpdump.$1.err" off f rc=0
	log "scenario $scn"
	ns_cap_start "$pcap" "tcp and host $SRV" "$err"
	off=$(stat -c %s "$RUN/smtpd.log")
	timeout 60 nsenter --net="/run/netns/$NS" python3 "$HERE/smtp_client.py" "$scn" "$SRV" "$CLI" \
		"$HERE/logs/$scn.client.log" 2>/dev/null || rc=$?
	[[ $rc == 0 || $rc == 3 ]] || fail "client $scn exited $rc (see logs/$scn.client.log)"
	ns_cap_stop "$SRV" "$err" "$scn" # once only TIME-WAIT is left: FIN/RST captured
	# smtpd's side: wait (max 10 s) until its queue is empty (all delivered), then its log
	for _ in $(seq 1 100); do
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
	ns_oracle "$pcap" "$HERE/oracle/opensmtpd-$scn.txt"
}
for s in "${SCENARIOS[@]}"; do
	record "$s"
	# one TCP connection, SYN to FIN/RST, nothing lost or retransmitted (skipped: no pcap)
	[[ ! -f $HERE/opensmtpd-$s.pcap ]] || ns_check_pcap "$HERE/opensmtpd-$s.pcap"
done
cp "$RUN/smtpd.log" "$HERE/logs/smtpd.full.log" # the whole daemon log, start-up included
sed -i "s|$RUN|RUNDIR|g" "$HERE/logs/smtpd.full.log"
[[ $PROBLEMS == 0 ]] || die "$PROBLEMS problem(s), see above"
log "done"
