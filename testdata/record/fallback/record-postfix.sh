#!/bin/bash
# record-postfix.sh [OUTDIR]: record postfix-mx-fallback.pcap (see README.md) into OUTDIR (default
# testdata/pcaps/fallback). Run as root, with Debian's postfix installed (it removes exim4: see
# README.md) and iptables. Uses its own network namespace `fallbackpf` (refuses to run if it exists;
# deletes it at exit) and a fresh work directory (mktemp; removed at exit unless FALLBACK_KEEP=1).
# Sources ../lib/ns.sh, ../lib/capture.sh and ../lib/postfix.sh (pf_master_services,
# pf_daemon_running, pf_daemon_stop). sink.py is the server on the third host. Every wait and loop
# bounded; only processes started here are stopped, by PID (Postfix's master after `postfix stop`,
# by the PID in its pid file).
set -u
NS=fallbackpf
REC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIB=$REC/../lib
# shellcheck source=../lib/ns.sh
source "$LIB/ns.sh"
# shellcheck source=../lib/capture.sh
source "$LIB/capture.sh"
# shellcheck source=../lib/postfix.sh
source "$LIB/postfix.sh"
OUT=${1:-$REC/../../pcaps/fallback}
NAME=postfix-mx-fallback
MX1=127.0.0.5   # no listener: RST
MX2=127.0.0.6   # SYNs dropped by iptables: timeout
MX3=127.0.0.7   # sink.py: PIPELINING, 8BITMIME, no STARTTLS
CLI=127.0.1.7   # Postfix smtp(8) client (smtp_bind_address)

[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
for t in ip nsenter ethtool iptables postfix postconf sendmail tcpdump tshark python3 ss timeout; do
  command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done
if ns_exists "$NS"; then echo "namespace $NS exists already; not touching it" >&2; exit 1; fi
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
W=$(mktemp -d /tmp/fallbackpf.XXXXXX); chmod 755 "$W"
# postfix.sh's names: RUN (queue, data, log below it), CONF (config, root's, not holding the queue).
RUN=$W/pf CONF=$W/pf/etc MAILLOG=$W/pf/log/maillog
nsx() { nsenter --net="/run/netns/$NS" "$@"; }
log() { echo "== $(date +%T) $*" >&2; }

SINK_PID=""
cleanup() {
  [[ -n $SINK_PID ]] && stop_pid "$SINK_PID"
  pf_daemon_stop "$NS"
  cap_kill_all
  ip netns del "$NS" 2>/dev/null
  if [[ ${FALLBACK_KEEP:-0} == 1 ]]; then echo "work directory kept: $W" >&2; else rm -rf "$W"; fi
}
ns_loopback_up "$NS"
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

for a in $MX1 $MX2 $MX3 $CLI; do ns_add_addr "$NS" "$a"; done
nsx sysctl net.ipv4.tcp_syn_retries net.ipv4.tcp_syn_linear_timeouts >&2
nsx iptables -A INPUT -d $MX2 -p tcp --dport 25 -j DROP || { echo "iptables failed" >&2; exit 1; }

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
cat >"$CONF/main.cf" <<EOC
compatibility_level = 3.6
queue_directory = $RUN/queue
data_directory = $RUN/data
maillog_file = $MAILLOG
maillog_file_prefixes = $RUN/log
myhostname = client.example.org
mydomain = example.org
myorigin = example.org
mydestination =
mynetworks = 127.0.0.1/32
inet_interfaces = $CLI
inet_protocols = ipv4
smtp_dns_support_level = disabled
biff = no
alias_maps =
alias_database =
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
{ pf_master_services; echo "smtp unix - - n - - smtp"; echo "relay unix - - n - - smtp"; } >"$CONF/master.cf"
postconf -c "$CONF" -n >"$W/postconf-n.txt" || exit 1
nsx postfix -c "$CONF" start >"$RUN/postfix.out" 2>&1
for _ in $(seq 1 100); do pf_daemon_running && break; sleep 0.1; done
pf_daemon_running || { echo "postfix did not start" >&2; cat "$RUN/postfix.out" >&2; exit 1; }
log "postfix $(postconf -d -h mail_version) up, master $(tr -dc 0-9 <"$RUN/queue/pid/master.pid")"
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
ns_wait_closed "$NS" $CLI; sleep 1
cap_stop "$CAP_PID" "$P"; CAP_PIDS=()
pf_daemon_stop "$NS"
stop_pid "$SINK_PID"; SINK_PID=""
grep -q stopping "$W/sink.log" || echo "WARN: the sink did not log its end" >&2
log "postfix maillog"; cat "$MAILLOG" >&2
log "sink log"; cat "$W/sink.log" >&2
[[ $ok == 1 ]] || { echo "the message was not delivered; capture not copied" >&2; exit 1; }
cp "$P" "$OUT/$NAME.pcap"
log "tshark"
tshark -r "$OUT/$NAME.pcap" -T fields -e frame.number -e frame.time_relative -e tcp.stream -e ip.src -e ip.dst \
  -e tcp.srcport -e tcp.len -e tcp.flags.str -e smtp.req.command -e smtp.response.code 2>/dev/null
ls -l "$OUT/$NAME.pcap"
