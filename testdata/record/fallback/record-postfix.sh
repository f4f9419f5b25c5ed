#!/bin/bash
# record-postfix.sh [OUTDIR]: record postfix-mx-fallback.pcap (see README.md) into OUTDIR (default
# testdata/pcaps/fallback). Run as root, with Debian's postfix installed (it removes exim4: see
# README.md) and iptables. Uses its own network namespace `fallbackpf` (refuses to run if it exists;
# deletes it at exit) and a fresh work directory (mktemp; removed at exit unless FALLBACK_KEEP=1).
# Sources common.sh (the set-up it shares with record.sh) and ../lib/postfix.sh (pf_main_base,
# pf_master_services, pf_daemon_start, pf_daemon_stop). sink.py is the server on the third host.
# Every wait and loop bounded; only processes started here are stopped, by PID (Postfix's master
# after `postfix stop`, by the PID in its pid file).
NS=fallbackpf
TOOLS="postfix postconf sendmail"
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=../lib/postfix.sh
source "$LIB/postfix.sh"
NAME=postfix-mx-fallback
# postfix.sh's names: RUN (queue, data, log below it), CONF (config, root's, not holding the queue).
RUN=$W/pf CONF=$W/pf/etc MAILLOG=$W/pf/log/maillog

SINK_PID=""
cleanup_own() {
  [[ -n $SINK_PID ]] && stop_pid "$SINK_PID"
  pf_daemon_stop "$NS"
}
fallback_up

# The server on MX3.
# nsenter execs python3, so $! is the sink's own PID (a shell function in the background would not be).
nsenter --net="/run/netns/$NS" python3 "$REC/sink.py" $MX3 25 "$W/sink.log" >"$W/sink.out" 2>&1 &
SINK_PID=$!
for _ in $(seq 1 100); do nsx ss -Hltn 'sport = :25' | grep -qF "$MX3:25" && break; sleep 0.1; done
nsx ss -Hltn 'sport = :25' | grep -qF "$MX3:25" || { echo "sink not listening" >&2; cat "$W/sink.out" >&2; exit 1; }

# The client: Postfix from its own config, queue, data and log directories; no listener of its own.
# Everything not local goes to the relayhost list, tried in the order written (Postfix 3.5+);
# smtp_randomize_addresses only shuffles the addresses of one destination, set off all the same.
# inet_interfaces is the client address only: with loopback-only every 127.x address in the
# namespace is Postfix's own and it bounces "mail for 127.0.0.5 loops back to myself".
mkdir -p "$CONF" "$RUN/queue" "$RUN/data" "$RUN/log"; chown postfix "$RUN/data"; chmod 755 "$RUN"
{
  pf_main_base client.example.org example.org
  cat <<EOC
mydestination =
mynetworks = 127.0.0.1/32
inet_interfaces = $CLI
relayhost = [$MX1]:25, [$MX2]:25, [$MX3]:25
smtp_bind_address = $CLI
smtp_connect_timeout = 4s
smtp_randomize_addresses = no
smtp_tls_security_level = none
delay_warning_time = 0
queue_run_delay = 600s
minimal_backoff_time = 600s
maximal_backoff_time = 1200s
EOC
} >"$CONF/main.cf"
{ pf_master_services; echo "smtp unix - - n - - smtp"; echo "relay unix - - n - - smtp"; } >"$CONF/master.cf"
postconf -c "$CONF" -n >"$W/postconf-n.txt" || exit 1
pf_daemon_start "$NS" || exit 1
log "postfix $(postconf -d -h mail_version)"
sleep 1   # let qmgr and pickup settle before the capture starts

P=$W/$NAME.pcap
cap_start "$NS" lo "$P" 'tcp port 25'
log "sendmail -C $CONF -f a@example.org b@example.net"
printf 'Date: Sat, 05 Dec 2026 12:00:00 +0000\nFrom: a@example.org\nTo: b@example.net\nSubject: MX fallback (Postfix)\nMessage-Id: <%s@example.org>\n\nthird host gets it\n' \
  "$NAME" | timeout 30 nsenter --net="/run/netns/$NS" sendmail -C "$CONF" -i -f a@example.org b@example.net
log "sendmail exit $?"
ok=0 t0=$SECONDS
while ((SECONDS - t0 < 60)); do
  if grep -q 'accepted message' "$W/sink.log" 2>/dev/null && grep -q 'status=sent' "$MAILLOG" 2>/dev/null; then ok=1; break; fi
  sleep 0.1
done
log "delivered: $ok"
log "postfix maillog"; cat "$MAILLOG" >&2
log "sink log"; cat "$W/sink.log" >&2
[[ $ok == 1 ]] || { echo "the message was not delivered; capture not copied" >&2; exit 1; }
fallback_finish "$NAME" "$P"
pf_daemon_stop "$NS"
stop_pid "$SINK_PID"; SINK_PID=""
grep -q stopping "$W/sink.log" || echo "WARN: the sink did not log its end" >&2
ls -l "$OUT/$NAME.pcap"
