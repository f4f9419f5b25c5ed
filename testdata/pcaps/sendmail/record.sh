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
# The namespace, tcpdump, oracle and pcap checks: $NETNS_LIB (testdata/record/netns.sh).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NETNS_LIB=${NETNS_LIB:-$HERE/../../record/netns.sh} # shared helpers; the environment may override
# shellcheck source-path=SCRIPTDIR source=../../record/netns.sh
source "$NETNS_LIB"
SCENARIOS=("$@")
[[ ${#SCENARIOS[@]} -gt 0 ]] || SCENARIOS=(barelf-mid barelf-end clean barecr barelf-split)
NS=smtpcap-sm
SRV=127.0.0.60    # Sendmail listens here only
CLI=127.0.1.60    # the client binds here
RUN=$HERE/run     # Sendmail's run-time files (queue, pid, aliases), recreated each run
SM_PID=""        # the Sendmail daemon we start
# smx CMD...: in the namespace, plus private mount and UTS namespaces where the
# host name is mx.example.test and /etc/hosts is ours. Sendmail resolves its own
# name at start-up before reading sendmail.cf (via /etc/mail/service.switch and
# /etc/hosts) and, if it finds no qualified name, sleeps 60 s and retries.
# shellcheck disable=SC2016 # $0 and $@ are sh's own, expanded inside the namespace
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
[[ ${#need[@]} -eq 0 ]] || ns_install "${need[@]}"

# ---- 5. teardown on exit (ns_cleanup): our tcpdump and daemon, then the namespace
ns_traps

# ---- 2a. namespace: own loopback, MTU 1500, no offloads, and no tail loss probe:
# on loopback it re-sends Sendmail's FIN after ~6 ms when the client (not reading
# during content, barelf-split) delays its ACK
ns_setup "$NS" "$SRV" "$CLI"

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
NS_PIDS+=("$SM_PID") # stopped by ns_cleanup
ns_wait_listener sendmail 'sendmail*' "$SM_PID" "$SRV" 25 "$RUN/daemon.out"
log "sendmail $(smx "${SM[@]}" -d0.1 -bt </dev/null | awk '/^Version/ {print $2}') listening, pid $SM_PID"

# ---- 3/4. one capture per scenario
record() {
	local scn=$1 pcap="$HERE/sendmail-$1.pcap" err="$RUN/tcpdump.$1.err" off rc=0
	log "scenario $scn"
	ns_cap_start "$pcap" "tcp and host $SRV" "$err"
	off=$(stat -c %s "$RUN/transcript.log")
	# the client: TCP_NODELAY, explicit writes, every reply logged (see smtp_client.py)
	timeout 60 nsenter --net="/run/netns/$NS" python3 "$HERE/smtp_client.py" "$scn" "$SRV" "$CLI" \
		"$HERE/logs/$scn.client.log" 2>/dev/null || rc=$?
	[[ $rc == 0 ]] || fail "client $scn exited $rc (see logs/$scn.client.log)"
	ns_cap_stop "$SRV" "$err" "$scn" # once only TIME-WAIT is left: FIN/RST captured
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
	ns_oracle "$pcap" "$HERE/oracle/sendmail-$scn.txt"
}
# each: one TCP connection, SYN to FIN/RST, nothing lost or retransmitted
for s in "${SCENARIOS[@]}"; do record "$s"; ns_check_pcap "$HERE/sendmail-$s.pcap"; done
cp "$RUN/daemon.out" "$HERE/logs/daemon.out"
[[ $PROBLEMS == 0 ]] || die "$PROBLEMS problem(s), see above"
log "done"
