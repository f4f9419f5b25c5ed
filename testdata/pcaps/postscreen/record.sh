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
ALL=(pregreet-enforce pregreet-drop patient smtputf8 idle-timeout)
SCENARIOS=("$@")
[[ ${#SCENARIOS[@]} -gt 0 ]] || SCENARIOS=("${ALL[@]}")
NS=smtpcap-ps
# scenario -> N: the server listens on 127.0.0.N:25, the client binds 127.0.1.N
declare -A NUM=([pregreet-enforce]=101 [pregreet-drop]=102 [patient]=103 [smtputf8]=104 [idle-timeout]=105)
PF_PREFIX=postscreen-              # postscreen-SCENARIO.pcap, oracle/postscreen-SCENARIO.txt
PF_MAILLOG_EXT=.maillog.log        # logs/SCENARIO.maillog.log
# the session's last log line: postscreen's "DISCONNECT" (a client it kept) or
# smtpd's "disconnect from" (a client it passed on)
PF_DISCONNECT=(-i 'disconnect')

[[ $(id -u) == 0 ]] || die "must run as root"
for s in "${SCENARIOS[@]}"; do [[ -n ${NUM[$s]:-} ]] || die "unknown scenario: $s"; done

# ---- 1. packages: install only what is missing (postfix replaces exim4/opensmtpd)
pf_install

# ---- 6. teardown on exit (ns_cleanup): our tcpdump and Postfix, then the namespace
ns_traps
addrs=()
for s in "${ALL[@]}"; do addrs+=("127.0.0.${NUM[$s]}" "127.0.1.${NUM[$s]}"); done
addrs+=(127.0.2.103 127.0.2.105) # the warm-up clients (4.)
ns_setup "$NS" "${addrs[@]}"

# ---- 2. Postfix config: postscreen on 127.0.0.N:25 for each scenario, smtpd
# behind it, no DNS, nothing leaves
pf_dirs
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
		# shellcheck disable=SC2016 # $data_directory is for Postfix to expand
		printf '127.0.0.%s:25 inet n - n - 1 postscreen\n  -o postscreen_cache_map=btree:$data_directory/psc_cache_%s\n' "$n" "$n"
		case $s in
		pregreet-drop) echo "  -o postscreen_greet_action=drop" ;;
		idle-timeout) echo "  -o smtpd_service_name=smtpd_idle" ;;
		esac
	done
	echo "smtpd pass - - n - - smtpd"
	echo "smtpd_idle pass - - n - - smtpd -o smtpd_timeout=3s"
	pf_master_services
} >"$CONF/master.cf"
pf_check_conf -n -M
[[ $(postconf -c "$CONF" -h postscreen_greet_wait) == 2s ]] || die "postscreen_greet_wait not set"
[[ $(postconf -c "$CONF" -P "127.0.0.${NUM[pregreet-drop]}:25/inet/postscreen_greet_action" | sed 's/.*= //') == drop ]] ||
	die "postscreen_greet_action=drop not set for pregreet-drop"

# ---- 3. Postfix in the foreground (start-fg: postfix-script runs `master -s` as its child)
listeners=()
for s in "${ALL[@]}"; do listeners+=("127.0.0.${NUM[$s]}"); done
pf_start "${listeners[@]}"

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

# ---- 5. one capture per scenario, each checked: one TCP connection, SYN to
# FIN/RST, nothing lost or retransmitted
for s in "${SCENARIOS[@]}"; do
	n=${NUM[$s]}
	log "scenario $s (127.0.1.$n -> 127.0.0.$n:25)"
	pf_record "$s" "127.0.0.$n" "127.0.1.$n"
done
pf_finish
