#!/usr/bin/env bash
# record.sh: regenerate testdata/pcaps from real traffic between a real Exim
# (server) and swaks or the small python clients in this directory (clients),
# all inside a private network namespace on its loopback.
#
# Usage (as root):  testdata/record/record.sh [OUTDIR]
#   OUTDIR defaults to testdata/pcaps next to this directory.
# Needs: iproute2, ethtool, exim4-daemon-light, swaks, tcpdump, tshark
# (editcap, capinfos), openssl, python3, gzip.
#
# Every wait and loop is bounded; only processes started here are stopped,
# by PID; the namespace and the temp dir are removed on exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUTDIR=$(realpath -m "${1:-$HERE/../pcaps}")
NS=smtpcap-rec
PORT=25

die() { echo "record.sh: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

[[ $(id -u) == 0 ]] || die "must run as root (network namespace, port 25, tcpdump)"
for t in ip nsenter ethtool exim swaks tcpdump tshark editcap capinfos openssl python3 gzip timeout ss; do
	command -v "$t" >/dev/null || die "missing tool: $t"
done
id Debian-exim >/dev/null 2>&1 || die "user Debian-exim missing (install exim4-daemon-light)"
if ip netns list | grep -qw "$NS"; then
	die "network namespace $NS already exists (left from an aborted run?); remove it with: ip netns del $NS"
fi

WORK=$(mktemp -d /tmp/smtpcap-rec.XXXXXX)
chmod 755 "$WORK"
CAP="$WORK/out"
mkdir -p "$CAP"
EXIM_PID=""
TCPDUMP_PID=""
NS_CREATED=""

cleanup() {
	local rc=$?
	set +e
	if [[ -n $TCPDUMP_PID ]]; then kill -TERM "$TCPDUMP_PID" 2>/dev/null; wait "$TCPDUMP_PID" 2>/dev/null; fi
	if [[ -n $EXIM_PID ]]; then kill -TERM "$EXIM_PID" 2>/dev/null; wait "$EXIM_PID" 2>/dev/null; fi
	if [[ -n $NS_CREATED ]]; then
		# Exim's per-connection children exit on their own (smtp_receive_timeout);
		# give them a bounded moment so the namespace is really gone.
		local i
		for i in $(seq 1 50); do
			[[ -z $(ip netns pids "$NS" 2>/dev/null) ]] && break
			sleep 0.2
		done
		ip netns del "$NS"
	fi
	if [[ $rc != 0 ]]; then
		echo "record.sh: failed (rc=$rc); logs kept in $WORK" >&2
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT

# Run a command inside the namespace (nsenter execs it: no extra process).
nsx() { nsenter --net="/run/netns/$NS" "$@"; }

# ---------------------------------------------------------------- namespace
log "namespace $NS"
ip netns add "$NS"
NS_CREATED=1
nsx ip link set lo up
nsx ip link set lo mtu 1500
nsx ethtool -K lo tso off gso off gro off 2>/dev/null || true
# Server addresses 127.0.0.N (one per scenario, so 'host' filters separate them)
# and client addresses 127.0.1.N (clients bind to them, so both ends differ).
for n in $(seq 10 20); do
	nsx ip addr add "127.0.0.$n/32" dev lo
	nsx ip addr add "127.0.1.$n/32" dev lo
done
nsx ip -6 addr show dev lo | grep -q '::1/128' || nsx ip -6 addr add ::1/128 dev lo
# Port reuse: allow a new connection on a 4-tuple whose previous incarnation is in TIME_WAIT.
nsx sysctl -q -w net.ipv4.tcp_tw_reuse=1

# ---------------------------------------------------------------- TLS cert
log "self-signed certificate"
mkdir -p "$WORK/tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=mx.example.test" \
	-keyout "$WORK/tls/key.pem" -out "$WORK/tls/cert.pem" 2>"$WORK/openssl.log"
chown -R Debian-exim:Debian-exim "$WORK/tls"
chmod 0640 "$WORK/tls/key.pem"

# ---------------------------------------------------------------- Exim
mkdir -p "$WORK/spool" "$WORK/log" "$WORK/mail"
# Exim only honours SSLKEYLOGFILE relative to (or under) its spool directory.
KEYLOG="$WORK/spool/tls.keylog"
chown Debian-exim:Debian-exim "$WORK/spool" "$WORK/log" "$WORK/mail"
EXIM_CONF="$WORK/exim.conf"
cat >"$EXIM_CONF" <<EOF
# Minimal Exim 4 configuration for recording smtpcap test captures.
primary_hostname = mx.example.test
qualify_domain = example.test
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = $WORK/spool
log_file_path = $WORK/log/%slog
pid_file_path = $WORK/exim.pid
# Exim/GnuTLS write the TLS session keys of starttls.pcap to \$SSLKEYLOGFILE (spool-relative).
keep_environment = SSLKEYLOGFILE
# No DNS or ident lookups on connect.
host_lookup =
rfc1413_hosts =
disable_ipv6 = false
smtp_banner = \$smtp_active_hostname ESMTP Exim \$version_number
# EHLO keywords: SIZE 10485760, 8BITMIME, PIPELINING, CHUNKING, STARTTLS.
message_size_limit = 10M
accept_8bitmime = true
pipelining_advertise_hosts = *
pipelining_connect_advertise_hosts =
chunking_advertise_hosts = *
tls_advertise_hosts = *
tls_certificate = $WORK/tls/cert.pem
tls_privatekey = $WORK/tls/key.pem
# Short, so a half-finished session cannot keep a child process around for long.
smtp_receive_timeout = 10s

acl_smtp_rcpt = acl_check_rcpt

begin acl

acl_check_rcpt:
  deny    local_parts = nobody
          message     = unknown user
  accept  domains     = example.test
  deny    message     = relay not permitted

begin routers

local_mbox:
  driver = accept
  domains = example.test
  transport = mbox

begin transports

mbox:
  driver = appendfile
  file = $WORK/mail/mbox
  user = Debian-exim
  group = Debian-exim
  mode = 0600
EOF
exim -C "$EXIM_CONF" -bV >"$WORK/exim-bV.log" 2>&1 || { cat "$WORK/exim-bV.log" >&2; die "exim rejects config"; }

log "exim daemon"
# Started directly (not through the nsx function) so that $! is exim's own PID.
SSLKEYLOGFILE=tls.keylog nsenter --net="/run/netns/$NS" exim -bdf -oX "$PORT" -C "$EXIM_CONF" >"$WORK/exim.out" 2>&1 &
EXIM_PID=$!
for i in $(seq 1 100); do
	# wait for both the IPv4 and the IPv6 listener, without connecting
	[[ $(nsx ss -Hltn "sport = :$PORT" | wc -l) -ge 2 ]] && break
	kill -0 "$EXIM_PID" 2>/dev/null || { cat "$WORK/exim.out" >&2; die "exim exited"; }
	sleep 0.1
done
[[ $(nsx ss -Hltn "sport = :$PORT" | wc -l) -ge 2 ]] || die "exim not listening on port $PORT"
[[ $(cat "/proc/$EXIM_PID/comm") == exim ]] || die "PID $EXIM_PID is not exim"

# ---------------------------------------------------------------- helpers
# start_cap FILE IFACE FILTER [tcpdump options...]
start_cap() {
	local file=$1 iface=$2 filter=$3
	shift 3
	local err="$WORK/tcpdump.$(basename "$file").log"
	rm -f "$err" # a retry must not see the previous attempt's "listening on"
	# Started directly (not through the nsx function) so that $! is tcpdump's own PID.
	nsenter --net="/run/netns/$NS" tcpdump -Z root -i "$iface" --immediate-mode -U "$@" -w "$file" "$filter" 2>"$err" &
	TCPDUMP_PID=$!
	local i
	for i in $(seq 1 100); do
		if [[ -f $err ]] && grep -q "listening on" "$err"; then
			[[ $(cat "/proc/$TCPDUMP_PID/comm") == tcpdump ]] || die "PID $TCPDUMP_PID is not tcpdump"
			return 0
		fi
		kill -0 "$TCPDUMP_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$err" >&2
	die "tcpdump did not start for $file"
}

# stop_cap: 1 s pause after the clients are done, SIGTERM, wait; fail on kernel drops.
stop_cap() {
	sleep 1
	kill -TERM "$TCPDUMP_PID"
	wait "$TCPDUMP_PID" || true
	TCPDUMP_PID=""
	local err
	err=$(ls -t "$WORK"/tcpdump.*.log | head -n1)
	grep -q '^0 packets dropped by kernel' "$err" || { cat "$err" >&2; die "tcpdump reports drops ($err)"; }
}

# msg NAME SUBJECT [BODYFILE]: fixed DATA content (headers + body) for swaks --data @file
msg() {
	local f="$WORK/$1.msg"
	{
		printf 'Date: Thu, 01 Jan 2026 00:00:00 +0000\n'
		printf 'From: sender@example.org\n'
		printf 'To: user@example.test\n'
		printf 'Subject: %s\n' "$2"
		printf 'Message-Id: <%s@client.example.org>\n' "$1"
		printf '\n'
		if [[ -n ${3:-} ]]; then cat "$3"; else printf 'Hello from smtpcap (%s).\nSecond line.\n' "$1"; fi
	} >"$f"
	echo "$f"
}

# sw LOGNAME EXPECTED_RC swaks-args...: one bounded swaks run inside the namespace
sw() {
	local name=$1 want=$2 rc=0
	shift 2
	timeout 60 nsenter --net="/run/netns/$NS" swaks --from sender@example.org --helo client.example.org \
		--port "$PORT" --timeout 15s "$@" >"$WORK/swaks.$name.log" 2>&1 || rc=$?
	if [[ $rc != "$want" ]]; then
		cat "$WORK/swaks.$name.log" >&2
		die "swaks $name exited $rc, expected $want"
	fi
}

# py LOGNAME SCRIPT args...: one bounded python client run inside the namespace
py() {
	local name=$1 script=$2
	shift 2
	timeout 60 nsenter --net="/run/netns/$NS" python3 -B "$HERE/$script" "$@" >"$WORK/py.$name.log" 2>&1 ||
		{ cat "$WORK/py.$name.log" >&2; die "client $script failed"; }
}

# ---------------------------------------------------------------- scenarios
# Each scn_NAME records one capture. scenario() runs it (up to 3 attempts) and
# checks the result with tshark: expected number of TCP streams, expected
# number of 221 replies, and no lost/unseen/retransmitted/out-of-order segment.

# check_cap FILE STREAMS N221 [tshark options]
check_cap() {
	local f=$1 want_streams=$2 want_221=$3 n
	shift 3
	n=$(tshark -r "$f" -T fields -e tcp.stream 2>/dev/null | sort -u | grep -c . || true)
	[[ $n == "$want_streams" ]] || { echo "$f: $n streams, expected $want_streams" >&2; return 1; }
	n=$(tshark -r "$f" "$@" -Y 'smtp.response.code == 221' -T fields -e frame.number 2>/dev/null | grep -c . || true)
	[[ $n == "$want_221" ]] || { echo "$f: $n 221 replies, expected $want_221" >&2; return 1; }
	n=$(tshark -r "$f" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment || tcp.analysis.retransmission || tcp.analysis.out_of_order' \
		-T fields -e frame.number 2>/dev/null | grep -c . || true)
	[[ $n == 0 ]] || { echo "$f: $n frames with lost/unseen/retransmitted/out-of-order segments" >&2; return 1; }
}

# scenario NAME FILE STREAMS N221 [tshark options for the check]
scenario() {
	local name=$1 file=$2 streams=$3 n221=$4 attempt
	shift 4
	for attempt in 1 2 3; do
		log "$name (attempt $attempt)"
		"scn_$name"
		check_cap "$file" "$streams" "$n221" "$@" && return 0
		sleep 1
	done
	die "$name: capture check failed 3 times"
}

scn_clean() {
	start_cap "$CAP/clean.pcap" lo "tcp and host 127.0.0.10"
	sw clean 0 --server 127.0.0.10 --local-interface 127.0.1.10 --to user@example.test --data @"$(msg clean 'smtpcap clean')"
	stop_cap
}

scn_pipelined() {
	start_cap "$CAP/pipelined.pcap" lo "tcp and host 127.0.0.11"
	sw pipelined 0 --pipeline --server 127.0.0.11 --local-interface 127.0.1.11 --to user@example.test \
		--data @"$(msg pipelined 'smtpcap pipelined')"
	stop_cap
}

scn_multi() {
	local c=(--server 127.0.0.12 --local-interface 127.0.1.12)
	start_cap "$CAP/multi.pcap" lo "tcp and host 127.0.0.12"
	sw multi1 0 "${c[@]}" --to user1@example.test --data @"$(msg multi1 'smtpcap multi 1')"
	sleep 0.2
	sw multi2 0 "${c[@]}" --to user2@example.test,user3@example.test --data @"$(msg multi2 'smtpcap multi 2: two recipients')"
	sleep 0.2
	# Exim's RCPT ACL denies local part "nobody" with 550; swaks then QUITs (exit 24: no recipients accepted).
	sw multi3 24 "${c[@]}" --to nobody@example.test --data @"$(msg multi3 'smtpcap multi 3: rejected')"
	sleep 0.2
	sw multi4 0 "${c[@]}" --to user4@example.test --data @"$(msg multi4 'smtpcap multi 4')"
	sleep 0.2
	sw multi5 0 "${c[@]}" --to user5@example.test --data @"$(msg multi5 'smtpcap multi 5')"
	stop_cap
}

scn_portreuse() {
	# Both sessions from 127.0.1.13:40013. Exim closes first after its 221, so the
	# TIME_WAIT is on the server side and the client may bind the port again; the
	# server accepts the new SYN on the TIME_WAIT 4-tuple.
	local c=(--server 127.0.0.13 --local-interface 127.0.1.13 --local-port 40013 --to user@example.test)
	start_cap "$CAP/portreuse.pcap" lo "tcp and host 127.0.0.13"
	sw portreuse1 0 "${c[@]}" --data @"$(msg portreuse1 'smtpcap port reuse 1')"
	sleep 0.5
	sw portreuse2 0 "${c[@]}" --data @"$(msg portreuse2 'smtpcap port reuse 2')"
	stop_cap
	local syns
	syns=$(tshark -r "$CAP/portreuse.pcap" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.srcport == 40013' \
		-T fields -e frame.number 2>/dev/null | wc -l)
	[[ $syns == 2 ]] || die "portreuse.pcap: expected 2 SYNs from port 40013, found $syns"
}

scn_midstream() {
	# Full session recorded here; cut with editcap after the checks (see below).
	start_cap "$WORK/midstream-full.pcap" lo "tcp and host 127.0.0.14"
	sw midstream 0 --server 127.0.0.14 --local-interface 127.0.1.14 --to user@example.test --data @"$(msg midstream 'smtpcap midstream')"
	stop_cap
}

scn_any() {
	start_cap "$CAP/any-sll2.pcap" any "tcp and host 127.0.0.15"
	sw any 0 --server 127.0.0.15 --local-interface 127.0.1.15 --to user@example.test --data @"$(msg any-sll2 'smtpcap any interface')"
	stop_cap
	local encap
	encap=$(tshark -r "$CAP/any-sll2.pcap" -T fields -e frame.encap_type 2>/dev/null | sort -u)
	[[ $encap == 210 ]] || die "any-sll2.pcap: encapsulation $encap, expected 210 (LINUX_SLL2)"
}

scn_ipv6() {
	start_cap "$CAP/ipv6.pcap" lo "tcp and host ::1"
	sw ipv6 0 --server ::1 --local-interface ::1 --to user@example.test --data @"$(msg ipv6 'smtpcap ipv6')"
	stop_cap
}

scn_snaplen96() {
	local i
	for i in $(seq 1 50); do
		printf 'Line %02d of a body of about three kilobytes, snaplen 96..\n' "$i"
	done >"$WORK/body3k.txt"
	start_cap "$CAP/snaplen96.pcap" lo "tcp and host 127.0.0.16" -s 96
	sw snaplen96 0 --server 127.0.0.16 --local-interface 127.0.1.16 --to user@example.test \
		--data @"$(msg snaplen96 'smtpcap snaplen 96' "$WORK/body3k.txt")"
	stop_cap
}

scn_bdat() {
	start_cap "$CAP/bdat.pcap" lo "tcp and host 127.0.0.17"
	py bdat bdat_client.py --server 127.0.0.17 --bind 127.0.1.17
	stop_cap
}

scn_split() {
	start_cap "$CAP/split-command.pcap" lo "tcp and host 127.0.0.18"
	py split split_command_client.py --server 127.0.0.18 --bind 127.0.1.18
	stop_cap
}

scn_barelf() {
	start_cap "$CAP/barelf.pcap" lo "tcp and host 127.0.0.19"
	py barelf barelf_client.py --server 127.0.0.19 --bind 127.0.1.19
	stop_cap
}

scn_starttls() {
	install -o Debian-exim -g Debian-exim -m 0600 /dev/null "$KEYLOG"
	start_cap "$CAP/starttls.pcap" lo "tcp and host 127.0.0.20"
	sw starttls 0 --tls --server 127.0.0.20 --local-interface 127.0.1.20 --to user@example.test \
		--data @"$(msg starttls 'smtpcap starttls')"
	stop_cap
	cp "$KEYLOG" "$CAP/starttls.keylog"
	chmod 0644 "$CAP/starttls.keylog"
	[[ -s $CAP/starttls.keylog ]] || die "starttls: no TLS key log written"
}

scenario clean "$CAP/clean.pcap" 1 1
scenario pipelined "$CAP/pipelined.pcap" 1 1
scenario multi "$CAP/multi.pcap" 5 5
scenario portreuse "$CAP/portreuse.pcap" 2 2
scenario midstream "$WORK/midstream-full.pcap" 1 1
scenario any "$CAP/any-sll2.pcap" 1 1
scenario ipv6 "$CAP/ipv6.pcap" 1 1
scenario snaplen96 "$CAP/snaplen96.pcap" 1 1
scenario bdat "$CAP/bdat.pcap" 1 1
scenario split "$CAP/split-command.pcap" 1 1
scenario barelf "$CAP/barelf.pcap" 1 0 # no 221: the client resets the connection
scenario starttls "$CAP/starttls.pcap" 1 1 -o "tls.keylog_file:$KEYLOG" # 221 inside TLS, decrypted

# midstream.pcap: keep from the packet right after the server's EHLO reply.
ehlo_reply=$(tshark -r "$WORK/midstream-full.pcap" -Y 'tcp.srcport == 25 && smtp.response.code == 250' \
	-T fields -e frame.number 2>/dev/null | head -n1)
total=$(tshark -r "$WORK/midstream-full.pcap" -T fields -e frame.number 2>/dev/null | tail -n1)
[[ -n $ehlo_reply && -n $total ]] || die "midstream: EHLO reply not found"
editcap -F pcap -r "$WORK/midstream-full.pcap" "$CAP/midstream.pcap" "$((ehlo_reply + 1))-$total"
echo "$ehlo_reply" >"$WORK/midstream.cut"

# ---------------------------------------------------------------- derived files
log "derived files"
editcap -F pcapng "$CAP/clean.pcap" "$CAP/clean.pcapng"
editcap -F nsecpcap "$CAP/clean.pcap" "$CAP/clean-nsec.pcap"
gzip -9 -n -c "$CAP/multi.pcap" >"$CAP/multi.pcap.gz"
head -c -10 "$CAP/clean.pcap" >"$CAP/truncated.pcap"
# 2000 reproducible pseudo-random bytes: AES-128-CTR keystream with a fixed key.
head -c 2000 /dev/zero |
	openssl enc -aes-128-ctr -nosalt -K 736d7470636170676172626167653031 -iv 00000000000000000000000000000000 \
		>"$CAP/garbage.pcap"
: >"$CAP/empty.pcap"

# ---------------------------------------------------------------- checks
log "checks"
for f in "$CAP"/*; do
	sz=$(stat -c %s "$f")
	[[ $sz -lt 102400 ]] || die "$f is $sz bytes (limit 100 KB)"
done

# ---------------------------------------------------------------- publish
log "publish to $OUTDIR"
mkdir -p "$OUTDIR"
for f in clean.pcap pipelined.pcap multi.pcap portreuse.pcap midstream.pcap any-sll2.pcap ipv6.pcap \
	clean.pcapng clean-nsec.pcap multi.pcap.gz snaplen96.pcap bdat.pcap split-command.pcap barelf.pcap \
	starttls.pcap starttls.keylog truncated.pcap garbage.pcap empty.pcap; do
	install -m 0644 "$CAP/$f" "$OUTDIR/$f"
done
python3 "$HERE/summarize.py" --dir "$OUTDIR" --midstream-cut "$(cat "$WORK/midstream.cut")" \
	--exim-version "$(exim -C "$EXIM_CONF" -bV 2>/dev/null | head -n1)" \
	--swaks-version "$(swaks --version 2>/dev/null | head -n1)" \
	--tcpdump-version "$(tcpdump --version 2>&1 | head -n1)" \
	>"$OUTDIR/README.md"
log "done"
