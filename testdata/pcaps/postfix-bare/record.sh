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
# The namespace, tcpdump, oracle and pcap checks: $NETNS_LIB (testdata/record/netns.sh);
# Postfix's set-up, start, one recording and stop: $POSTFIX_LIB (testdata/record/postfix.sh).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NETNS_LIB=${NETNS_LIB:-$HERE/../../record/netns.sh}     # shared helpers; the environment may override
POSTFIX_LIB=${POSTFIX_LIB:-$HERE/../../record/postfix.sh} # likewise; sets RUN, CONF, MAILLOG from HERE
# shellcheck source-path=SCRIPTDIR source=../../record/netns.sh
source "$NETNS_LIB"
# shellcheck source-path=SCRIPTDIR source=../../record/postfix.sh
source "$POSTFIX_LIB"
SCENARIOS=("$@")
[[ ${#SCENARIOS[@]} -gt 0 ]] || SCENARIOS=(barelf-mid barelf-split barelf-end clean)
NS=smtpcap-pfbare
SRV=127.0.0.90    # Postfix listens here only
CLI=127.0.1.90    # the client binds here
PF_PREFIX=postfix-yes-             # postfix-yes-SCENARIO.pcap, oracle/postfix-yes-SCENARIO.txt
PF_MAILLOG_EXT=.maillog            # logs/SCENARIO.maillog
PF_DISCONNECT=('disconnect from')  # smtpd's last line of a session

[[ $(id -u) == 0 ]] || die "must run as root"
for s in "${SCENARIOS[@]}"; do
	case $s in barelf-mid | barelf-split | barelf-end | clean) ;; *) die "unknown scenario: $s" ;; esac
done

# ---- 1. packages: install only what is missing (postfix replaces exim4/opensmtpd)
pf_install

# ---- 5. teardown on exit (ns_cleanup): our tcpdump and Postfix, then the namespace
ns_traps
ns_setup "$NS" "$SRV" "$CLI"

# ---- 2. Postfix config: one smtpd on 127.0.0.90:25, no DNS, nothing leaves
pf_dirs
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
	pf_master_services
} >"$CONF/master.cf"
pf_check_conf -n
[[ $(postconf -c "$CONF" -h smtpd_forbid_bare_newline) == yes ]] || die "smtpd_forbid_bare_newline not set"

# ---- 3. Postfix in the foreground (start-fg: postfix-script runs `master -s` as its child)
pf_start "$SRV"

# ---- 4. one capture per scenario, each checked: one TCP connection, SYN to
# FIN/RST, nothing lost or retransmitted
for s in "${SCENARIOS[@]}"; do
	log "scenario $s"
	pf_record "$s" "$SRV" "$CLI"
done
pf_finish
