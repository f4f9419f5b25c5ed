#!/usr/bin/env bash
# record.sh: record SMTP captures where a real Postfix 3.7 is the SENDING side
# (smtp(8) client), talking to a second real Postfix instance (smtpd server),
# both inside a private network namespace on its loopback.
#
# Usage (as root, Debian postfix package installed):  ./record.sh [SCENARIO...]
#   SCENARIO: multi starttls defer reject size (default: all)
# Output: ./postfix-client-*.pcap (+ postfix-client-starttls.keylog) next to this script;
#         ./work/ keeps both instances' config dirs and maillogs (queues are removed).
#
# Two Postfix instances, each `postfix -c DIR start` in namespace $NS:
#   SERVER (work/srv-etc): smtpd on 127.0.0.N:25, N = 61..65, one listener per scenario
#          with its own -o overrides; everything for example.test goes to discard:.
#   CLIENT (work/cli-etc): no listener; mail is submitted with `sendmail -C work/cli-etc`;
#          transport_maps sends each scenario's example.test recipients to
#          smtpNN:[127.0.0.N]:25, where master.cf service smtpNN is smtp(8) with
#          -o smtp_bind_address=127.0.1.N. Bounces go to the client's own
#          virtual(8) mailbox (work/cli-mail), nothing leaves the namespace.
# Postfix 3.7 cannot log TLS keys; keylog.so (LD_PRELOAD via the client's
# import_environment) adds an OpenSSL keylog callback to every SSL_CTX.
# Every wait and loop is bounded; only processes started here are stopped, by PID.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$HERE
WORK=$HERE/work
NS=pfcli3
PU=$(id -u postfix) PG=$(id -g postfix)

die() { echo "record.sh: $*" >&2; exit 1; }
log() { echo "== $(date +%T) $*" >&2; }
nsx() { nsenter --net="/run/netns/$NS" "$@"; }

[[ $(id -u) == 0 ]] || die "must run as root"
for t in ip nsenter ethtool postfix postconf postqueue postsuper sendmail tcpdump tshark openssl ss gcc; do
	command -v "$t" >/dev/null || die "missing $t"
done

SRV=$WORK/srv-etc SRVQ=$WORK/srv-queue SRVD=$WORK/srv-data SRVL=$WORK/srv-log
CLI=$WORK/cli-etc CLIQ=$WORK/cli-queue CLID=$WORK/cli-data CLIL=$WORK/cli-log
MBOX=$WORK/cli-mail
N_MULTI=61 N_TLS=62 N_DEFER=63 N_REJECT=64 N_SIZE=65 N_SIZE2=66
ALL_N=($N_MULTI $N_TLS $N_DEFER $N_REJECT $N_SIZE $N_SIZE2)
NS_CREATED="" SRV_PID="" CLI_PID="" TCPDUMP_PID=""

pf_stop() { # DIR QUEUE PID
	local dir=$1 q=$2 pid=$3 i
	[[ -n $pid ]] || return 0
	nsx postfix -c "$dir" stop >>"$WORK/postfix-ctl.log" 2>&1 || true
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null && [[ $(cat /proc/"$pid"/comm 2>/dev/null) == master ]]; then kill -KILL "$pid"; fi
}
stop_tcpdump() {
	local i
	[[ -n $TCPDUMP_PID ]] || return 0
	kill -TERM "$TCPDUMP_PID" 2>/dev/null || true
	for i in $(seq 1 50); do kill -0 "$TCPDUMP_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$TCPDUMP_PID" 2>/dev/null && kill -KILL "$TCPDUMP_PID" 2>/dev/null
	wait "$TCPDUMP_PID" 2>/dev/null || true
	TCPDUMP_PID=""
}
cleanup() {
	local rc=$? i
	set +e
	stop_tcpdump
	pf_stop "$CLI" "$CLIQ" "$CLI_PID"
	pf_stop "$SRV" "$SRVQ" "$SRV_PID"
	if [[ -n $NS_CREATED ]]; then
		for i in $(seq 1 100); do [[ -z $(ip netns pids "$NS" 2>/dev/null) ]] && break; sleep 0.2; done
		ip netns del "$NS"
	fi
	rm -rf "$SRVQ" "$CLIQ" "$SRVD" "$CLID"
	[[ $rc == 0 ]] || echo "record.sh: failed rc=$rc; logs in $WORK" >&2
	exit $rc
}
trap cleanup EXIT

# ------------------------------------------------------------------ setup
ip netns list | grep -qw "$NS" && die "namespace $NS exists; ip netns del $NS"
rm -rf "$WORK"
mkdir -p "$WORK" "$SRV" "$SRVQ" "$SRVD" "$SRVL" "$CLI" "$CLIQ" "$CLID" "$CLIL" "$MBOX"
chmod 755 "$WORK"
chown postfix "$SRVD" "$CLID"
chown postfix:postfix "$MBOX"
ip netns add "$NS"; NS_CREATED=1
nsx ip link set lo up
nsx ip link set lo mtu 1500
nsx ethtool -K lo tso off gso off gro off
for n in "${ALL_N[@]}"; do nsx ip addr add 127.0.0.$n/32 dev lo; nsx ip addr add 127.0.1.$n/32 dev lo; done

gcc -shared -fPIC -O2 -o "$WORK/keylog.so" "$HERE/keylog.c" -ldl -lssl
KEYLOG=$WORK/client.keylog
: >"$KEYLOG"; chown postfix "$KEYLOG"; chmod 600 "$KEYLOG"

mkdir -p "$SRV/tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=mx.example.test" \
	-keyout "$SRV/tls/key.pem" -out "$SRV/tls/cert.pem" 2>"$WORK/openssl.log"
chmod 600 "$SRV/tls/key.pem"

COMMON_MASTER='pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd'

# ---- SERVER instance
cat >"$SRV/main.cf" <<EOF
# SERVER instance: receives on 127.0.0.61..65:25, discards everything.
compatibility_level = 3.6
config_directory = $SRV
queue_directory = $SRVQ
data_directory = $SRVD
maillog_file = $SRVL/maillog
maillog_file_prefixes = $SRVL
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.test
mydomain = example.test
myorigin = example.test
mydestination = example.test
local_recipient_maps =
mynetworks = 127.0.0.1/32
inet_protocols = ipv4
inet_interfaces = $(for n in "${ALL_N[@]}"; do printf '127.0.0.%s ' "$n"; done)
smtpd_banner = \$myhostname ESMTP Postfix
biff = no
append_dot_mydomain = no
smtpd_peername_lookup = no
disable_dns_lookups = yes
alias_maps =
alias_database =
local_transport = discard:
virtual_transport = discard:
relay_transport = discard:
default_transport = discard:
smtpd_tls_cert_file = $SRV/tls/cert.pem
smtpd_tls_key_file = $SRV/tls/key.pem
smtpd_tls_security_level =
EOF
printf 'defer@example.test 451 4.7.1 try later\n' >"$SRV/recipient_access"
printf 'blocked@client.example.org 550 5.7.1 sender rejected by policy\n' >"$SRV/sender_access"
{
	echo '# SERVER master.cf: one smtpd per scenario on 127.0.0.N:25 (no chroot).'
	echo "127.0.0.$N_MULTI:smtp inet n - n - - smtpd"
	echo "127.0.0.$N_TLS:smtp inet n - n - - smtpd"
	echo "  -o smtpd_tls_security_level=may"
	echo "127.0.0.$N_DEFER:smtp inet n - n - - smtpd"
	echo "  -o smtpd_recipient_restrictions=check_recipient_access,texthash:$SRV/recipient_access"
	echo "127.0.0.$N_REJECT:smtp inet n - n - - smtpd"
	echo "  -o smtpd_delay_reject=no"
	echo "  -o smtpd_sender_restrictions=check_sender_access,texthash:$SRV/sender_access"
	echo "127.0.0.$N_SIZE:smtp inet n - n - - smtpd"
	echo "  -o message_size_limit=20000"
	echo "127.0.0.$N_SIZE2:smtp inet n - n - - smtpd"
	echo "  -o message_size_limit=20000"
	echo "  -o smtpd_discard_ehlo_keywords=size"
	echo "$COMMON_MASTER"
} >"$SRV/master.cf"

# ---- CLIENT instance
cat >"$CLI/main.cf" <<EOF
# CLIENT instance: no SMTP listener; mail submitted with sendmail -C $CLI,
# relayed by smtp(8) transports smtpNN (master.cf) per transport_maps.
compatibility_level = 3.6
config_directory = $CLI
queue_directory = $CLIQ
data_directory = $CLID
maillog_file = $CLIL/maillog
maillog_file_prefixes = $CLIL
mail_owner = postfix
setgid_group = postdrop
myhostname = client.example.org
mydomain = example.org
myorigin = client.example.org
mydestination =
mynetworks = 127.0.0.1/32
inet_protocols = ipv4
# Only 127.0.0.1 is "myself" (loopback-only would include 127.0.0.N: mail loops back to myself)
inet_interfaces = 127.0.0.1
biff = no
append_dot_mydomain = no
disable_dns_lookups = yes
alias_maps =
alias_database =
transport_maps = texthash:$CLI/transport
# Bounces and notices for client.example.org stay here (virtual(8) mbox).
virtual_mailbox_domains = client.example.org
virtual_mailbox_base = $MBOX
virtual_mailbox_maps = texthash:$CLI/vmailbox
virtual_uid_maps = static:$PU
virtual_gid_maps = static:$PG
# Scenario multi: hold smtp$N_MULTI until postqueue -f; one connection at a time, cached.
defer_transports = smtp$N_MULTI
smtp${N_MULTI}_destination_concurrency_limit = 1
smtp_connection_cache_on_demand = yes
smtp_connection_cache_destinations = 127.0.0.$N_MULTI [127.0.0.$N_MULTI] [127.0.0.$N_MULTI]:25
# No automatic retries during a scenario (retries are forced with postqueue).
minimal_backoff_time = 600s
maximal_backoff_time = 1200s
queue_run_delay = 600s
smtp_tls_security_level = none
smtp_tls_loglevel = 1
# keylog.so: OpenSSL keylog callback -> SMTPCAP_KEYLOG (Postfix 3.7 has no key logging)
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME LD_PRELOAD=$WORK/keylog.so SMTPCAP_KEYLOG=$KEYLOG
EOF
cat >"$CLI/transport" <<EOF
multi1@example.test  smtp$N_MULTI:[127.0.0.$N_MULTI]:25
multi2@example.test  smtp$N_MULTI:[127.0.0.$N_MULTI]:25
multi3a@example.test smtp$N_MULTI:[127.0.0.$N_MULTI]:25
multi3b@example.test smtp$N_MULTI:[127.0.0.$N_MULTI]:25
tls@example.test     smtp$N_TLS:[127.0.0.$N_TLS]:25
ok@example.test      smtp$N_DEFER:[127.0.0.$N_DEFER]:25
defer@example.test   smtp$N_DEFER:[127.0.0.$N_DEFER]:25
user4@example.test   smtp$N_REJECT:[127.0.0.$N_REJECT]:25
user5@example.test   smtp$N_SIZE:[127.0.0.$N_SIZE]:25
user6@example.test   smtp$N_SIZE2:[127.0.0.$N_SIZE2]:25
EOF
printf '@client.example.org mailbox\n' >"$CLI/vmailbox"
{
	echo '# CLIENT master.cf: no inet listener; one smtp(8) transport per scenario.'
	echo "$COMMON_MASTER"
	for n in "${ALL_N[@]}"; do
		echo "smtp$n    unix  -       -       n       -       -       smtp"
		echo "  -o smtp_bind_address=127.0.1.$n"
		[[ $n == "$N_TLS" ]] && echo "  -o smtp_tls_security_level=may"
	done
} >"$CLI/master.cf"

for d in "$SRV" "$CLI"; do
	postconf -c "$d" -n >"$WORK/postconf-$(basename "$d").log" 2>&1
	if grep -qi 'warning\|fatal' "$WORK/postconf-$(basename "$d").log"; then cat "$WORK/postconf-$(basename "$d").log" >&2; die "postconf $d"; fi
done

pf_start() { # DIR QUEUE -> echo master pid
	local dir=$1 q=$2 i pid=""
	nsx postfix -c "$dir" start >>"$WORK/postfix-ctl.log" 2>&1 || { cat "$WORK/postfix-ctl.log" >&2; die "postfix -c $dir start"; }
	for i in $(seq 1 100); do [[ -s $q/pid/master.pid ]] && break; sleep 0.1; done
	pid=$(tr -dc 0-9 <"$q/pid/master.pid")
	[[ $(cat /proc/"$pid"/comm 2>/dev/null) == master ]] || die "master for $dir not running"
	echo "$pid"
}
SRV_PID=$(pf_start "$SRV" "$SRVQ")
CLI_PID=$(pf_start "$CLI" "$CLIQ")
for i in $(seq 1 100); do
	[[ $(nsx ss -Hltn 'sport = :25' | wc -l) -ge ${#ALL_N[@]} ]] && break
	sleep 0.1
done
[[ $(nsx ss -Hltn 'sport = :25' | wc -l) -ge ${#ALL_N[@]} ]] || die "server listeners missing"
log "postfix $(postconf -d -h mail_version): server master $SRV_PID, client master $CLI_PID"

# ------------------------------------------------------------------ helpers
# count PATTERN: lines in the client maillog matching the ERE
count() { grep -cE "$1" "$CLIL/maillog" 2>/dev/null || true; }
# wait_count PATTERN N SECS
wait_count() {
	local i
	for i in $(seq 1 $(($3 * 10))); do
		[[ $(count "$1") -ge $2 ]] && return 0
		sleep 0.1
	done
	log "timeout waiting for $2 x /$1/ (have $(count "$1"))"
	return 1
}
# wait_closed N: no non-TIME-WAIT TCP socket to/from 127.0.0.N:25 (bounded 40 s)
wait_closed() {
	local i
	for i in $(seq 1 400); do
		[[ -z $(nsx ss -Htn state all exclude time-wait exclude listening "( src 127.0.0.$1 or dst 127.0.0.$1 )") ]] && return 0
		sleep 0.1
	done
	log "connections to 127.0.0.$1 still open"; nsx ss -tn >&2
	return 1
}
start_cap() { # FILE N
	local i
	rm -f "$1"
	# nsenter execs tcpdump: $! is tcpdump's PID
	nsenter --net="/run/netns/$NS" tcpdump -i lo --immediate-mode -U -B 65536 -w "$1" "tcp and host 127.0.0.$2" 2>"$1.tcpdump.log" &
	TCPDUMP_PID=$!
	for i in $(seq 1 50); do grep -q 'listening on' "$1.tcpdump.log" 2>/dev/null && break; sleep 0.1; done
	sleep 0.3
}
end_cap() { # FILE N
	wait_closed "$2" || true
	sleep 1
	stop_tcpdump
	cat "$1.tcpdump.log" >&2; rm -f "$1.tcpdump.log"
}
submit() { # FROM MSGFILE RCPT...
	local from=$1 f=$2
	shift 2
	nsx sendmail -C "$CLI" -f "$from" -i "$@" <"$f"
}
# flawed FILE: count of TCP analysis problems
flawed() {
	tshark -r "$1" -Y 'tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission || tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment || tcp.analysis.out_of_order || tcp.analysis.duplicate_ack || tcp.analysis.zero_window' 2>/dev/null | wc -l
}
streams() { tshark -r "$1" -T fields -e tcp.stream 2>/dev/null | sort -u | grep -c . || true; }
qid_of() { # PATTERN -> queue id of the last matching client log line
	grep -E "$1" "$CLIL/maillog" | tail -n1 | sed -E 's/.*postfix[^:]*: ([0-9A-F]+):.*/\1/'
}

hdr() { # FROM TO SUBJECT ID
	printf 'Date: Thu, 01 Jan 2026 00:00:00 +0000\nFrom: %s\nTo: %s\nSubject: %s\nMessage-Id: <%s@client.example.org>\n' "$1" "$2" "$3" "$4"
}
M=$WORK/msgs; mkdir -p "$M"
{ hdr sender@client.example.org multi1@example.test 'postfix client multi 1 (30 KB text)' multi1; echo
  for i in $(seq 1 400); do printf 'line %03d: The quick brown fox jumps over the lazy dog, again and again.\n' "$i"; done; } >"$M/multi1"
{ hdr sender@client.example.org multi2@example.test 'postfix client multi 2 (UTF-8 body)' multi2
  printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n'
  printf 'Grüße aus Köln – naïve café, smørrebrød, Ελληνικά, 日本語テキスト.\nZweite Zeile: äöü ÄÖÜ ß €.\n'; } >"$M/multi2"
{ hdr sender@client.example.org 'multi3a@example.test, multi3b@example.test' 'postfix client multi 3 (two recipients)' multi3; echo
  printf 'One message, two recipients.\n'; } >"$M/multi3"
{ hdr sender@client.example.org tls@example.test 'postfix client starttls' starttls; echo; printf 'Hello over STARTTLS.\n'; } >"$M/starttls"
{ hdr sender@client.example.org 'ok@example.test, defer@example.test' 'postfix client defer' defer; echo; printf 'One recipient accepted, one deferred with 451.\n'; } >"$M/defer"
{ hdr blocked@client.example.org user4@example.test 'postfix client reject' reject; echo; printf 'The server rejects this sender at MAIL FROM.\n'; } >"$M/reject"
{ hdr sender@client.example.org user5@example.test 'postfix client size (40 KB)' size; echo
  for i in $(seq 1 530); do printf 'line %03d: this message is larger than the server message_size_limit of 20000.\n' "$i"; done; } >"$M/size"

sed -e 's/user5@/user6@/' -e 's/client size (40 KB)/client size, SIZE not announced (40 KB)/' -e 's/<size@/<size6@/' "$M/size" >"$M/size6"

# ------------------------------------------------------------------ scenarios
scn_multi() {
	local f=$OUT/postfix-client-multi.pcap base
	base=$(count "relay=127\.0\.0\.$N_MULTI.*status=sent")
	start_cap "$f" $N_MULTI
	submit sender@client.example.org "$M/multi1" multi1@example.test
	submit sender@client.example.org "$M/multi2" multi2@example.test
	submit sender@client.example.org "$M/multi3" multi3a@example.test multi3b@example.test
	# defer_transports: each lands in the deferred queue (status=deferred, "deferred transport")
	wait_count 'status=deferred \(deferred transport\)' $((3 * ${1:-1})) 20
	sleep 1
	nsx postqueue -c "$CLI" -f
	wait_count "relay=127\.0\.0\.$N_MULTI.*status=sent" $((base + 4)) 30
	end_cap "$f" $N_MULTI
}
scn_starttls() {
	local f=$OUT/postfix-client-starttls.pcap base
	base=$(count "relay=127\.0\.0\.$N_TLS.*status=sent")
	: >"$KEYLOG"
	start_cap "$f" $N_TLS
	submit sender@client.example.org "$M/starttls" tls@example.test
	wait_count "relay=127\.0\.0\.$N_TLS.*status=sent" $((base + 1)) 30
	end_cap "$f" $N_TLS
	cp "$KEYLOG" "$OUT/postfix-client-starttls.keylog"
}
scn_defer() {
	local f=$OUT/postfix-client-defer.pcap b1 b2 qid k
	b1=$(count "to=<ok@example.test>.*status=sent")
	b2=$(count "to=<defer@example.test>.*status=deferred.*451")
	start_cap "$f" $N_DEFER
	submit sender@client.example.org "$M/defer" ok@example.test defer@example.test
	wait_count "to=<ok@example.test>.*status=sent" $((b1 + 1)) 30
	wait_count "to=<defer@example.test>.*status=deferred.*451" $((b2 + 1)) 30
	qid=$(qid_of "to=<defer@example.test>.*status=deferred")
	for k in 2 3; do
		wait_closed $N_DEFER
		sleep 2
		nsx postqueue -c "$CLI" -i "$qid"
		wait_count "to=<defer@example.test>.*status=deferred.*451" $((b2 + k)) 30
	done
	end_cap "$f" $N_DEFER
	nsx postsuper -c "$CLI" -d "$qid" >>"$WORK/postfix-ctl.log" 2>&1 || true
}
scn_reject() {
	local f=$OUT/postfix-client-reject.pcap b
	b=$(count "to=<user4@example.test>.*status=bounced")
	start_cap "$f" $N_REJECT
	submit blocked@client.example.org "$M/reject" user4@example.test
	wait_count "to=<user4@example.test>.*status=bounced" $((b + 1)) 30
	end_cap "$f" $N_REJECT
}
scn_size() {
	local f=$OUT/postfix-client-size.pcap b
	b=$(count "to=<user5@example.test>.*status=bounced")
	start_cap "$f" $N_SIZE
	submit sender@client.example.org "$M/size" user5@example.test
	wait_count "to=<user5@example.test>.*status=bounced" $((b + 1)) 30
	end_cap "$f" $N_SIZE
}
# size-nosize (extra): same limit, but SIZE is not announced, so the client sends the message
scn_size-nosize() {
	local f=$OUT/postfix-client-size-nosize.pcap b
	b=$(count "to=<user6@example.test>.*status=bounced")
	start_cap "$f" $N_SIZE2
	submit sender@client.example.org "$M/size6" user6@example.test
	wait_count "to=<user6@example.test>.*status=bounced" $((b + 1)) 30
	end_cap "$f" $N_SIZE2
}

ALL=(multi starttls defer reject size size-nosize)
RUN=("$@"); [[ ${#RUN[@]} -gt 0 ]] || RUN=("${ALL[@]}")
declare -A EXPECT_STREAMS=([multi]=1 [starttls]=1 [defer]=3 [reject]=1 [size]=1 [size-nosize]=1)
for s in "${RUN[@]}"; do
	f=$OUT/postfix-client-$s.pcap
	for attempt in 1 2 3; do
		log "$s attempt $attempt"
		"scn_$s" "$attempt" || log "$s: scenario step timed out"
		fl=$(flawed "$f"); st=$(streams "$f")
		log "$s: $(tshark -r "$f" 2>/dev/null | wc -l) frames, $st streams (expected ${EXPECT_STREAMS[$s]}), $fl TCP analysis problems"
		[[ $fl == 0 ]] && break
	done
done
sleep 2
cp "$CLIL/maillog" "$WORK/client-maillog.txt"; cp "$SRVL/maillog" "$WORK/server-maillog.txt"
log done
