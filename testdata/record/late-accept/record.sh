#!/bin/bash
# record.sh: a server that accepts a message only after the client has given up waiting for the
# reply to its end of data: the duplicate-delivery case of RFC 1047 (testdata/pcaps/late-accept).
# A real Exim 4.96 client whose smtp transport waits only final_timeout = 5s for the reply to its
# end of data, against a server that takes 12 s over the message (as a slow content scanner does):
# a real Exim 4.96 (its DATA ACL's delay), then Python's smtpd. The client gives up and closes; its
# next queue run sends the message again, to a server without the wait.
#
#   late-250-exim.pcap    the two connections to Exim: the client gives up after 5 s, Exim notices
#                         the client's FIN during its wait and drops the message ("SMTP connection
#                         lost after final dot"), with no reply; the retry is accepted: one copy.
#   lost-250-exim.pcap    the same client and Exim answering at once, but its "250 OK id=" to the
#                         end of data is dropped on the way back (iptables string match, first run
#                         only): Exim resends it; the client times out after 5 s and closes; the
#                         retry is accepted too: two copies delivered.
#   late-250-python.pcap  the same client and a server from Python's standard library
#                         (slow_server.py), which does not notice: it answers 250 twelve seconds
#                         after the end of data, to a client that left seven seconds before, whose
#                         kernel resets; the retry is accepted too: two copies delivered.
#
# Run as root from anywhere: testdata/record/late-accept/record.sh [SCRATCH_DIR] (default
# /tmp/late-accept); the capture lands in SCRATCH_DIR/caps; copy it into testdata/pcaps/late-accept
# by hand. Every wait is bounded; only the processes started here are stopped, by PID.
set -u
NS=la1
B=${1:-/tmp/late-accept}
S=127.0.0.71 # the server
C=127.0.1.71 # the client
LIB=$(cd "$(dirname "$0")/../lib" && pwd)
# shellcheck source=../lib/ns.sh
source "$LIB/ns.sh"
# shellcheck source=../lib/exim.sh
source "$LIB/exim.sh"
# shellcheck source=../lib/capture.sh
source "$LIB/capture.sh"
nsx() { nsenter --net="/run/netns/$NS" "$@"; }
trap 'cap_kill_all' EXIT

mkdir -p "$B/caps"
chmod 755 "$B"
ns_ready "$NS" $S $C

# The server: its DATA ACL waits 12 s while $D/slow exists, then accepts.
D=$B/server
rm -rf "$D"; mkdir -p "$D"; exim_workdir "$D"
# No PIPELINING: an Exim client pipelines QUIT behind its end of data, and Exim cuts a DATA ACL's
# delay short when more input is waiting.
printf 'tls_advertise_hosts =\npipelining_advertise_hosts =\nacl_smtp_data = acl_check_data\n' >"$D/main"
cat >"$D/acls" <<EOC
acl_check_data:
  accept  condition = \${if exists{$D/slow}}
          delay     = 12s
  accept
EOC
exim_conf_server "$D" $S "$D/main" "$D/acls" /dev/null >"$D/exim.conf"
exim_check_conf "$D/exim.conf" || exit 1

# The client: waits 5 s for the reply to its end of data; retries at every queue run.
CD=$B/client
rm -rf "$CD"; mkdir -p "$CD"; exim_workdir "$CD"; chown Debian-exim:Debian-exim "$CD"
exim_conf_client "$CD" $C "route_list = * $S" $C "hosts_try_chunking =
final_timeout = 5s" >"$CD/client.conf"
exim_check_conf "$CD/client.conf" || exit 1

# record NAME [lost]: NAME.pcap of the client's two queue runs against the server started as $srv,
# slow for the first; with "lost", not slow, but the server's "250 OK id=" never reaches the client
# in the first (dropped on its way in, after tcpdump has seen it go out on the loopback).
record() {
  local pcap=$B/caps/$1.pcap
  tcpdump_start "$NS" "$pcap" "tcp and host $S" -i lo --immediate-mode -U -s 0
  if [[ ${2:-} == lost ]]; then
    nsx iptables -A INPUT -p tcp --sport 25 -m string --string "250 OK id=" --algo bm -j DROP
  else
    touch "$D/slow"
  fi
  printf 'Subject: monthly invoice\nMessage-Id: <invoice-2026-12@example.org>\n\nPlease find the invoice attached.\n' |
    exim -C "$CD/client.conf" -odq -f billing@example.org user@example.test
  timeout 60 nsenter --net="/run/netns/$NS" exim -C "$CD/client.conf" -qqff -v >"$CD/qrun1.log" 2>&1
  sleep 9 # the server's 12 s are over: it has accepted
  rm -f "$D/slow"
  nsx iptables -F INPUT
  timeout 60 nsenter --net="/run/netns/$NS" exim -C "$CD/client.conf" -qqff -v >"$CD/qrun2.log" 2>&1
  ns_wait_closed "$NS" $S
  sleep 1
  tcpdump_stop "$CAP_PID" "$pcap"
  stop_pid "$srv"
  grep -h "<=\|=>\|==\|\*\*" "$D/log/mainlog" "$CD/log/mainlog" >&2 || true
  echo "$1: copies delivered: $(cat "$D/mail/mbox" "$D/mbox" 2>/dev/null | grep -c '^Subject: monthly invoice')" >&2
}

exim_daemon_start "$NS" "$D/exim.conf" $S 25 -oX 25
srv=$EXIM_PID
record late-250-exim

# Exim again, answering at once, but its 250 is lost on the way: the client times out all the same.
if [[ ${2:-} != skip-lost ]]; then
  rm -rf "$D/mail" "$D/log" "$D/spool"; exim_workdir "$D"; : >"$CD/log/mainlog"
  exim_daemon_start "$NS" "$D/exim.conf" $S 25 -oX 25
  srv=$EXIM_PID
  record lost-250-exim lost
fi

# The same against Python's smtpd, which does not notice the client leaving.
rm -rf "$D/mail" "$D/log"; exim_workdir "$D"; : >"$CD/log/mainlog"
# nsenter itself in the background (not the nsx function, whose $! would be a subshell's), so that
# $! is the server's PID for stop_pid.
nsenter --net="/run/netns/$NS" python3 "$(dirname "$LIB")/late-accept/slow_server.py" $S "$D" >"$D/python.out" 2>&1 &
srv=$!
for _ in $(seq 1 50); do [[ -n $(nsx ss -Hltn "sport = :25" | grep -F $S) ]] && break; sleep 0.1; done
record late-250-python
