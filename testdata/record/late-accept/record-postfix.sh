#!/bin/bash
# record-postfix.sh: record.sh's duplicate-delivery case of RFC 1047 (testdata/pcaps/late-accept)
# with a real Postfix 3.7 (Debian bookworm's postfix) as the SENDING MTA: its smtp(8) client, from a
# private instance (its own config dir) in network namespace pfla, relays everything to
# [127.0.0.81]:25 from 127.0.1.81 and waits only smtp_data_done_timeout = 5s for the reply to its
# end of data. The message is sent once when queued; after the timeout Postfix defers it and, with
# minimal_backoff_time and queue_run_delay at 600 s, tries again only when `postqueue -f` says so.
# The servers are Python 3.11's standard-library smtpd (Exim is gone: Debian's postfix package
# conflicts with exim4).
#
#   late-250-postfix-python.pcap  slow_server.py with SPOOL/slow present: it takes 12 s over the
#                                 message and does not notice the client leaving: Postfix times out
#                                 5 s after its end of data and closes; the server answers 250 seven
#                                 seconds later to a closed socket, and the client's kernel resets.
#                                 About 10 s after Postfix gave up, SPOOL/slow is removed and the
#                                 queue flushed: the retry is accepted at once. Two copies.
#   lost-250-postfix-python.pcap  lost_server.py, answering the end of data at once with "250 2.0.0
#                                 Ok: queued as LOSTREPLY", which an iptables string match in the
#                                 namespace drops on its way in to the client (after tcpdump saw it
#                                 leave on the loopback; first attempt only): the server resends it,
#                                 Postfix times out 5 s after its end of data and closes with a FIN
#                                 acknowledging nothing of the reply. The rule is removed and the
#                                 queue flushed: the retry is delivered. Two copies.
#
# Usage (root): testdata/record/late-accept/record-postfix.sh OUTDIR. The captures land in OUTDIR;
# Postfix's config, queue and maillog in OUTDIR/work, the servers' mboxes in OUTDIR/work/spool-*.
# Copy the captures into testdata/pcaps/late-accept by hand. Every wait is bounded; only the
# processes started here are stopped, by PID; the namespace is deleted on exit.
set -u
OUT=${1:?usage: record-postfix.sh OUTDIR}
NS=pfla
S=127.0.0.81 # the server
C=127.0.1.81 # the client (Postfix's smtp_bind_address)
HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$(cd "$HERE/../lib" && pwd)
# shellcheck source=../lib/ns.sh
source "$LIB/ns.sh"
# shellcheck source=../lib/capture.sh
source "$LIB/capture.sh"
nsx() { nsenter --net="/run/netns/$NS" "$@"; }
log() { echo "== $(date +%T) $*" >&2; }

W=$OUT/work
CONF=$W/etc
MAILLOG=$W/log/maillog
SRV_PID=""

cleanup() {
  cap_kill_all
  [[ -n $SRV_PID ]] && stop_pid "$SRV_PID"
  local m; m=$(tr -dc 0-9 <"$W/queue/pid/master.pid" 2>/dev/null)
  if [[ -n $m ]] && kill -0 "$m" 2>/dev/null; then
    nsx postfix -c "$CONF" stop >>"$W/postfix-ctl.log" 2>&1
    for _ in $(seq 1 100); do kill -0 "$m" 2>/dev/null || break; sleep 0.1; done
  fi
  nsx iptables -F INPUT 2>/dev/null
  for _ in $(seq 1 50); do [[ -z $(ip netns pids $NS 2>/dev/null) ]] && break; sleep 0.2; done
  ip netns del $NS 2>/dev/null
}

ns_exists $NS && { log "namespace $NS exists already"; exit 1; }
mkdir -p "$OUT"; chmod 755 "$OUT"
rm -rf "$W"; mkdir -p "$CONF" "$W/queue" "$W/data" "$W/log"; chown postfix "$W/data"; chmod 755 "$W"
trap cleanup EXIT
ns_loopback_up $NS
ns_add_addr $NS $S
ns_add_addr $NS $C

# The sending instance: no listener of its own, everything to [127.0.0.81]:25, no TLS, 5 s for the
# reply to the end of data, no retry but the forced ones.
cat >"$CONF/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $W/queue
data_directory = $W/data
maillog_file = $MAILLOG
maillog_file_prefixes = $W/log
myhostname = client.example.org
mydomain = example.org
myorigin = client.example.org
mydestination =
mynetworks = 127.0.0.1/32
# not loopback-only: that takes in 127.0.0.81, and Postfix would refuse to send "to itself"
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
disable_dns_lookups = yes
smtp_dns_support_level = disabled
biff = no
alias_maps =
alias_database =
relayhost = [$S]:25
smtp_bind_address = $C
smtp_tls_security_level = none
smtp_data_done_timeout = 5s
minimal_backoff_time = 600s
maximal_backoff_time = 1200s
queue_run_delay = 600s
delay_warning_time = 0
bounce_notice_recipient = postmaster
EOF
for s in "pickup unix n - n 60 1 pickup" "cleanup unix n - n - 0 cleanup" "qmgr unix n - n 300 1 qmgr" \
  "rewrite unix - - n - - trivial-rewrite" "bounce unix - - n - 0 bounce" "defer unix - - n - 0 bounce" \
  "trace unix - - n - 0 bounce" "verify unix - - n - 1 verify" "flush unix n - n 1000? 0 flush" \
  "proxymap unix - - n - - proxymap" "smtp unix - - n - - smtp" "relay unix - - n - - smtp" \
  "showq unix n - n - - showq" "error unix - - n - - error" "retry unix - - n - - error" \
  "discard unix - - n - - discard" "anvil unix - - n - 1 anvil" "scache unix - - n - 1 scache" \
  "postlog unix-dgram n - n - 1 postlogd"; do echo "$s"; done >"$CONF/master.cf"
postconf -c "$CONF" -n >/dev/null || exit 1
nsx postfix -c "$CONF" start >>"$W/postfix-ctl.log" 2>&1 || { cat "$W/postfix-ctl.log" >&2; exit 1; }
for _ in $(seq 1 100); do [[ -s $W/queue/pid/master.pid ]] && break; sleep 0.1; done
log "postfix $(postconf -d -h mail_version) up, master $(tr -dc 0-9 <"$W/queue/pid/master.pid")"

count() { if [[ -f $1 ]]; then grep -cE "$2" "$1"; else echo 0; fi; }
# wait_count FILE PATTERN N SECS: wait until FILE has N lines matching PATTERN.
wait_count() {
  for _ in $(seq 1 $(($4 * 10))); do [[ $(count "$1" "$2") -ge $3 ]] && return 0; sleep 0.1; done
  log "timeout waiting for $3 x /$2/ in $1 (have $(count "$1" "$2"))"; return 1
}
# wait_no_conn SECS: wait until no connection but those in TIME-WAIT has the server as an end.
wait_no_conn() {
  for _ in $(seq 1 $(($1 * 10))); do
    [[ -z $(nsx ss -Htn state all exclude time-wait exclude listening "( src $S or dst $S )") ]] && return 0
    sleep 0.1
  done
  log "connections with $S still open:"; nsx ss -Htnoi state all "( src $S or dst $S )" >&2; return 1
}
# server_start SCRIPT SPOOL: the Python server in the namespace, listening (max 10 s).
server_start() {
  # nsenter itself, not nsx: nsenter execs python, so $! is the server's PID
  nsenter --net="/run/netns/$NS" python3 "$HERE/$1" $S "$2" >"$2/server.out" 2>&1 &
  SRV_PID=$!
  for _ in $(seq 1 100); do
    kill -0 "$SRV_PID" 2>/dev/null || break
    nsx ss -Hltnp "sport = :25" | grep -F "$S:25" | grep -q "pid=$SRV_PID," && return 0; sleep 0.1
  done
  log "$1 is not listening"; cat "$2/server.out" >&2; return 1
}
queue_invoice() {
  printf 'Date: Fri, 04 Dec 2026 10:00:00 +0000\nFrom: billing@example.org\nTo: user@example.test\nSubject: monthly invoice\nMessage-Id: <invoice-2026-12-%s@example.org>\n\nPlease find the invoice attached.\n' "$1" |
    nsx sendmail -C "$CONF" -f billing@example.org -i user@example.test
}

# record NAME SERVER_SCRIPT slow|lost: NAME.pcap of Postfix's first attempt (timed out) and the
# forced retry.
record() {
  local name=$1 pcap=$OUT/$1.pcap spool=$W/spool-$1 mode=$3 n0
  rm -rf "$spool"; mkdir -p "$spool"
  nsx postsuper -c "$CONF" -d ALL >/dev/null 2>&1 # nothing left over from a scenario before
  server_start "$2" "$spool" || return 1
  n0=$(count "$MAILLOG" 'to=<user@example.test>.*status=')
  tcpdump_start $NS "$pcap" "tcp and host $S" -i lo --immediate-mode -U -s 0
  sleep 0.3
  if [[ $mode == slow ]]; then
    touch "$spool/slow"
  else
    nsx iptables -A INPUT -p tcp --sport 25 -m string --string "LOSTREPLY" --algo bm -j DROP
  fi
  # Postfix sends it at once (pickup, qmgr, smtp): the first attempt.
  queue_invoice "$name"
  wait_count "$MAILLOG" 'to=<user@example.test>.*status=' $((n0 + 1)) 40
  log "$name: first attempt over: $(grep 'to=<user@example.test>.*status=' "$MAILLOG" | tail -1 | sed 's/.*status=//')"
  if [[ $mode == slow ]]; then
    # the server answers 12 s after the end of data, 7 s after Postfix gave up
    wait_count "$spool/mbox" '^Subject: monthly invoice' 1 20
    sleep 3
    rm -f "$spool/slow"
  else
    sleep 3 # the server keeps resending its 250 meanwhile
    nsx iptables -L INPUT -v -n -x >"$W/$name-iptables.txt" 2>&1
    nsx iptables -F INPUT
  fi
  nsx postqueue -c "$CONF" -f
  wait_count "$MAILLOG" 'to=<user@example.test>.*status=' $((n0 + 2)) 40
  log "$name: second attempt over: $(grep 'to=<user@example.test>.*status=' "$MAILLOG" | tail -1 | sed 's/.*status=//')"
  wait_no_conn 60
  sleep 1
  tcpdump_stop "$CAP_PID" "$pcap"
  stop_pid "$SRV_PID"; SRV_PID=""
  log "$name: copies stored by the server: $(count "$spool/mbox" '^Subject: monthly invoice')"
}

record late-250-postfix-python slow_server.py slow
record lost-250-postfix-python lost_server.py lost
nsx postqueue -c "$CONF" -p >"$W/queue.txt" 2>&1
sleep 1
grep -E 'smtp\[|status=' "$MAILLOG" >&2
log done
