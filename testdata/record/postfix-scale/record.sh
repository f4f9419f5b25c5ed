#!/bin/bash
# record.sh: gateway-scale captures of real mail software for smtpcap.
#   ./record.sh clean    -> /tmp/scale/clean-load.pcap
#   ./record.sh faults   -> /tmp/scale/sink-faults.pcap (+ faults.truth.txt)
#   ./record.sh all      (default) both
#   ./record.sh down     stop Postfix/sinks, delete namespace
# Run as root. Namespace "scale" (lo mtu 1500, TSO/GSO/GRO off). Addresses (all on lo, port 25):
#   (Postfix instance A, /tmp/scale/pfrun: .10 and .11; instance B, /tmp/scale/pfrun2: .20)
#   127.0.0.10  Postfix smtpd, direct: smtp-source/swaks -> smtpd, mail discarded (captured)
#   127.0.0.11  Postfix smtpd, relay ingress: smtp-source -> smtpd (NOT captured); Postfix then relays
#   127.0.0.20  Postfix smtpd, relay target: Postfix smtp client (bound to .21, PIPELINING) -> smtpd,
#               content_filter=discard: (captured)
#   127.0.0.30  smtp-sink, clean settings (captured)
#   127.0.0.41..55 smtp-sink with one injected fault each (faults capture, net 127.0.0.32/27)
# Every wait is bounded; only processes started here are stopped, by PID.
set -u
NS=scale
B=/tmp/scale
RUN=$B/pfrun
RUN2=$B/pfrun2
LOG=$B/rec-logs
mkdir -p "$B" "$LOG"
chmod 755 "$B"

die() { echo "record.sh: $*" >&2; exit 1; }
log() { echo "== $(date +%T) $*" >&2; }
nsx() { nsenter --net="/run/netns/$NS" "$@"; }
NICE="nice -n 10"

ns_up() {
	if ! ip netns list | grep -qw "$NS"; then
		ip netns add "$NS"
	fi
	nsx ip link set lo up
	nsx ip link set lo mtu 1500
	nsx ethtool -K lo tso off gso off gro off >/dev/null 2>&1
	local n
	for n in 10 11 20 21 30 $(seq 41 55); do
		nsx ip addr add "127.0.0.$n/32" dev lo 2>/dev/null || true
	done
}

# Two Postfix instances: A (pfrun: .10 direct, .11 relay ingress) and B (pfrun2: .20 relay target),
# separate so that A's smtp client does not see .20 as "myself" (loop detection).
pf_conf() { # RUN MYHOSTNAME INET_INTERFACES EXTRA_MAIN MASTER_LISTENERS
	local run=$1 conf=$1/conf
	mkdir -p "$conf" "$run/queue" "$run/data" "$run/log"
	chown postfix "$run/data"
	chmod 755 "$run"
	cat >"$conf/main.cf" <<EOC
compatibility_level = 3.6
queue_directory = $run/queue
data_directory = $run/data
maillog_file = $run/log/maillog
maillog_file_prefixes = $run/log
myhostname = $2
mydomain = example.test
myorigin = example.test
inet_interfaces = $3
inet_protocols = ipv4
smtpd_banner = \$myhostname ESMTP Postfix
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
biff = no
alias_maps =
alias_database =
local_recipient_maps =
local_transport = discard:
virtual_transport = discard:
default_transport = discard:
default_process_limit = 200
$4
EOC
	{
		printf '%s\n' "$5"
		local s
		for s in "pickup unix n - n 60 1 pickup" "cleanup unix n - n - 0 cleanup" "qmgr unix n - n 300 1 qmgr" \
			"rewrite unix - - n - - trivial-rewrite" "bounce unix - - n - 0 bounce" "defer unix - - n - 0 bounce" \
			"trace unix - - n - 0 bounce" "verify unix - - n - 1 verify" "flush unix n - n 1000? 0 flush" \
			"proxymap unix - - n - - proxymap" "showq unix n - n - - showq" "error unix - - n - - error" \
			"retry unix - - n - - error" "discard unix - - n - - discard" "anvil unix - - n - 1 anvil" \
			"scache unix - - n - 1 scache" "postlog unix-dgram n - n - 1 postlogd" \
			"smtp unix - - n - - smtp" "relay unix - - n - - smtp"; do echo "$s"; done
	} >"$conf/master.cf"
	postconf -c "$conf" -n >/dev/null || die "bad postfix config in $conf"
}
pf_running() { # RUN
	local p
	p=$(tr -dc 0-9 <"$1/queue/pid/master.pid" 2>/dev/null)
	[[ -n $p ]] && [[ $(cat /proc/$p/comm 2>/dev/null) == master ]]
}
pf_start() { # RUN LISTEN-ADDR
	local i
	$NICE nsenter --net="/run/netns/$NS" postfix -c "$1/conf" start >"$LOG/postfix.$(basename "$1").out" 2>&1
	for i in $(seq 1 100); do nsx ss -Hltn | grep -q "$2:25" && break; sleep 0.1; done
	pf_running "$1" || { cat "$LOG/postfix.$(basename "$1").out" >&2; die "postfix $1 did not start"; }
	log "postfix $1 up, master $(tr -dc 0-9 <"$1/queue/pid/master.pid")"
}
pf_up() {
	if ! pf_running "$RUN2"; then
		rm -rf "$RUN2"
		pf_conf "$RUN2" mx2.example.test 127.0.0.20 "mydestination =
relay_domains = relay.test
transport_maps =" \
			"127.0.0.20:25 inet n - n - 60 smtpd -o content_filter=discard:"
		pf_start "$RUN2" 127.0.0.20
	fi
	if ! pf_running "$RUN"; then
		rm -rf "$RUN"
		pf_conf "$RUN" mx.example.test "127.0.0.10, 127.0.0.11" "mydestination = example.test
relay_domains = relay.test
transport_maps = texthash:$RUN/conf/transport
smtp_bind_address = 127.0.0.21
smtp_connection_reuse_count_limit = 25
relay_destination_concurrency_limit = 20" \
			"127.0.0.10:25 inet n - n - 150 smtpd -o content_filter=discard:
127.0.0.11:25 inet n - n - 60 smtpd"
		printf 'relay.test smtp:[127.0.0.20]:25\n' >"$RUN/conf/transport"
		postconf -c "$RUN/conf" -n >/dev/null || die "bad postfix config"
		pf_start "$RUN" 127.0.0.11
	fi
}
pf_down() {
	local r
	for r in "$RUN" "$RUN2"; do pf_running "$r" && nsx postfix -c "$r/conf" stop >>"$LOG/postfix.out" 2>&1; done
}
pf_queue_empty() { # bounded wait (s) until the Postfix queue is empty
	local i
	for i in $(seq 1 "$1"); do
		[[ -z $(find "$RUN"/queue/{incoming,active,deferred,maildrop} "$RUN2"/queue/{incoming,active,deferred,maildrop} -type f 2>/dev/null | head -1) ]] && return 0
		sleep 1
	done
	log "WARNING: postfix queue not empty after $1 s"
}

SINK_PIDS=()
JOBS=()
waitjobs() { # wait for the client jobs started since the last call (not for the sinks)
	local p
	for p in "${JOBS[@]}"; do wait "$p"; done
	JOBS=()
}
sink_up() { # ADDR OPTIONS...: smtp-sink on ADDR:25 (stays in foreground; PID kept)
	local addr=$1 i
	shift
	$NICE nsenter --net="/run/netns/$NS" smtp-sink -u nobody "$@" "$addr:25" 1024 >"$LOG/sink.$addr.log" 2>&1 &
	SINK_PIDS+=("$!")
	for i in $(seq 1 50); do nsx ss -Hltn | grep -q "$addr:25" && return 0; sleep 0.1; done
	die "smtp-sink on $addr did not start"
}
sinks_down() {
	local p i
	for p in "${SINK_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
		for i in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	SINK_PIDS=()
}

CAP_PID=""
cap_start() { # PCAP FILTER
	rm -f "$1" "$1.err"
	nsenter --net="/run/netns/$NS" tcpdump -Z root -i lo -s 0 -B 262144 --immediate-mode -U -w "$1" "$2" 2>"$1.err" &
	CAP_PID=$!
	local i
	for i in $(seq 1 100); do grep -qs "listening on" "$1.err" && break; sleep 0.1; done
	[[ $(cat /proc/$CAP_PID/comm 2>/dev/null) == tcpdump ]] || die "tcpdump did not start"
	log "tcpdump $CAP_PID -> $1"
}
cap_stop() { # ADDR-REGEX PCAP: wait (<=120 s) until no connection to ADDR-REGEX is open, then stop tcpdump
	local i
	for i in $(seq 1 1200); do
		[[ -z $(nsx ss -Htn state connected | grep -v TIME-WAIT | grep -E "$1") ]] && break
		sleep 0.1
	done
	sleep 2
	kill -TERM "$CAP_PID"
	for i in $(seq 1 100); do kill -0 "$CAP_PID" 2>/dev/null || break; sleep 0.1; done
	wait "$CAP_PID" 2>/dev/null
	CAP_PID=""
	log "tcpdump: $(tail -3 "$2.err" | tr '\n' ' ')"
}

# src LOGNAME ADDR smtp-source-options...: one bounded smtp-source run
src() {
	local name=$1 addr=$2
	shift 2
	timeout 1800 $NICE nsenter --net="/run/netns/$NS" smtp-source -f sender@example.org -M client.example.org "$@" "$addr:25" \
		>"$LOG/src.$name.log" 2>&1
	echo "rc=$?" >>"$LOG/src.$name.log"
}

record_clean() {
	local P=$B/clean-load.pcap
	pf_up
	sink_up 127.0.0.30
	cap_start "$P" 'tcp and (host 127.0.0.10 or host 127.0.0.20 or host 127.0.0.30)'
	# group 1: small direct, huge direct, small relayed (Postfix smtp client pipelines to .20)
	log "group 1"
	src a1 127.0.0.10 -s 50 -m 5000 -l 500 -r 1 -t user@example.test & JOBS+=($!)
	src a4 127.0.0.10 -s 20 -m 600 -l 200000 -r 5 -t user@example.test -S "big one" & JOBS+=($!)
	src b1 127.0.0.11 -s 20 -m 1500 -l 1000 -r 2 -N -t user@relay.test & JOBS+=($!)
	waitjobs
	# group 2: medium direct, 40 KB direct, smtp-sink as the server
	log "group 2"
	src a2 127.0.0.10 -s 50 -m 3000 -l 4000 -r 3 -N -t user@example.test & JOBS+=($!)
	src a3 127.0.0.10 -s 30 -m 1200 -l 40000 -r 2 -t user@example.test & JOBS+=($!)
	src d1 127.0.0.30 -s 50 -m 3000 -l 3000 -r 2 -t user@example.test & JOBS+=($!)
	waitjobs
	# group 3: many messages per connection (-d), relayed medium/large, swaks --pipeline (EHLO, PIPELINING, MIME attachment)
	log "group 3"
	src a5 127.0.0.10 -d -s 20 -m 2000 -l 8000 -r 2 -t user@example.test & JOBS+=($!)
	src b2 127.0.0.11 -s 20 -m 500 -l 30000 -r 3 -t user@relay.test & JOBS+=($!)
	src b3 127.0.0.11 -s 10 -m 200 -l 150000 -r 1 -t user@relay.test & JOBS+=($!)
	(
		head -c 60000 /dev/urandom | base64 >"$LOG/attach.txt"
		seq 1 200 | xargs -P 4 -I{} timeout 60 $NICE nsenter --net="/run/netns/$NS" swaks --pipeline --server 127.0.0.10 \
			--port 25 --from swaks@example.org --helo swaks.example.org --to a{}@example.test,b{}@example.test \
			--timeout 30s --attach "@$LOG/attach.txt" --suppress-data >"$LOG/swaks.log" 2>&1
		echo "swaks rc=$?" >>"$LOG/swaks.log"
	) & JOBS+=($!)
	waitjobs
	log "waiting for the Postfix queue to drain"
	pf_queue_empty 600
	sleep 3 # smtp connection cache (2 s) closes the relay connections
	cap_stop '127\.0\.0\.(10|20|30):25' "$P"
	sinks_down
	grep -h rc= "$LOG"/src.[abd]*.log | sort | uniq -c >&2
	log "Postfix A: $(grep -c 'status=sent' "$RUN/log/maillog") sent, $(grep -c 'relay=127.0.0.20.*status=sent' "$RUN/log/maillog") relayed to .20, $(grep -cE 'status=(bounced|deferred)' "$RUN/log/maillog") bounced/deferred; Postfix B: $(grep -c 'status=sent' "$RUN2/log/maillog") sent"
}

# Faults: one smtp-sink per fault, each on its own address, so the server address says what was injected.
FAULTS=(
	"41|-f RCPT|A|500 5.3.0 to every RCPT (hard reject)"
	"42|-r MAIL|A|450 4.3.0 to MAIL (soft reject)"
	"43|-f DATA|A|500 5.3.0 to DATA"
	"44|-r .|A|450 4.3.0 after end of data"
	"45|-f .|A|500 5.3.0 after end of data"
	"46|-Q DATA|A|421 to DATA, server disconnects"
	"47|-Q CONNECT|L|421 greeting, server disconnects"
	"48|-q RCPT|L|server disconnects after first RCPT without a reply"
	"49|-q .|L|server disconnects after end of data without a reply"
	"50|-A 0|L|550 right after the 354 to DATA; server stops reading"
	"51|-r HELO|A|450 4.3.0 to HELO"
	"52|-w 12|W|DATA reply delayed 12 s (not a failure; > 10 s stall threshold)"
	"53|-P|A|Cisco PIX style greeting (220 ****...), otherwise clean"
	"54|-Q RCPT|A|421 to first RCPT, server disconnects (client goes on)"
	"55|-f MAIL|A|500 5.3.0 to MAIL"
)
record_faults() {
	local P=$B/sink-faults.pcap f addr opts mode what n
	: >"$B/faults.truth.txt"
	for f in "${FAULTS[@]}"; do
		IFS='|' read -r addr opts mode what <<<"$f"
		# shellcheck disable=SC2086
		sink_up "127.0.0.$addr" $opts
		echo "127.0.0.$addr smtp-sink $opts: $what" >>"$B/faults.truth.txt"
	done
	cap_start "$P" 'tcp and net 127.0.0.32/27'
	for f in "${FAULTS[@]}"; do
		IFS='|' read -r addr opts mode what <<<"$f"
		case $mode in
		A) # smtp-source -A goes on after a reject: one connection per message
			src "f$addr" "127.0.0.$addr" -A -s 10 -m 300 -l 2000 -r 2 -t user@example.test & JOBS+=($!) ;;
		L) # smtp-source dies on a lost connection: one run per session
			(seq 1 200 | xargs -P 8 -I{} timeout 60 $NICE nsenter --net="/run/netns/$NS" smtp-source -A \
				-f sender@example.org -M client.example.org -m 1 -l 2000 -r 2 -t user@example.test \
				"127.0.0.$addr:25" >"$LOG/src.f$addr.log" 2>&1) & JOBS+=($!) ;;
		W) src "f$addr" "127.0.0.$addr" -s 10 -m 20 -l 2000 -r 1 -t user@example.test & JOBS+=($!) ;;
		esac
	done
	waitjobs
	cap_stop '127\.0\.0\.(4[1-9]|5[0-5]):25' "$P"
	sinks_down
}

cleanup() {
	[[ -n $CAP_PID ]] && kill -TERM "$CAP_PID" 2>/dev/null
	sinks_down
}
trap cleanup EXIT

[[ $(id -u) == 0 ]] || die "run as root"
ns_up
case ${1:-all} in
clean) record_clean ;;
faults) record_faults ;;
all) record_clean; record_faults ;;
down) pf_down; ip netns del "$NS" ;;
*) die "usage: $0 [clean|faults|all|down]" ;;
esac
