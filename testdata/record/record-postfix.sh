#!/usr/bin/env bash
# record-postfix.sh: record testdata/pcaps/postfix/*.pcap from real traffic
# between a real Postfix smtpd (server) and swaks or the python clients in
# postfix_clients.py (clients), inside a private network namespace on its
# loopback, and write testdata/pcaps/postfix/README.md (summarize_postfix.py).
#
# Usage (as root):  testdata/record/record-postfix.sh [--readme-only] [--out OUTDIR] [SCENARIO...]
#   OUTDIR defaults to testdata/pcaps/postfix next to this directory.
#   SCENARIO: clean pipelined bdat barelf barelfreject barelfaccept unauthpipe syncerror rejects
#             starttls timeout (default: all).
#   --readme-only: record nothing; rewrite OUTDIR/README.md from the captures there.
#   SMTPCAP_KEEP=1 in the environment keeps the temp dir (Postfix maillog, client logs) after success.
# Needs: postfix (Debian package; it conflicts with exim4-daemon-light, see
# below), iproute2, ethtool, swaks, tcpdump, tshark (capinfos), openssl,
# python3, perl Net::SSLeay >= 1.90 (swaks_keylog.pm, for starttls.keylog).
#
# Postfix is not run as the system service: this script writes its own
# main.cf/master.cf into a temp dir (queue_directory, data_directory and
# maillog_file there too) and runs `postfix -c DIR start` inside the
# namespace. One Postfix instance serves every scenario: master.cf has one
# smtpd listener per scenario on 127.0.0.N:25 (N = 40..50), each with its own
# -o overrides; clients bind to 127.0.1.N; each capture is filtered on
# `host 127.0.0.N`. Everything for example.test is accepted for the local
# recipients in a texthash table (user, postmaster) and delivered to the
# discard(8) transport: nothing leaves the namespace.
#
# Debian's postfix and exim4 packages conflict. To record:
#   echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
#   DEBIAN_FRONTEND=noninteractive apt-get install -y postfix
#   testdata/record/record-postfix.sh
#   DEBIAN_FRONTEND=noninteractive apt-get install -y exim4-daemon-light swaks   # for record.sh & co.
#
# Every wait and loop is bounded; only processes started here are stopped,
# by PID (Postfix's master, from its pid file, after `postfix stop`); the
# namespace and the temp dir are removed on exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
README_ONLY=""
OUTDIR="$HERE/../pcaps/postfix"
while [[ $# -gt 0 ]]; do
	case $1 in
	--readme-only) README_ONLY=1; shift ;;
	--out) OUTDIR=${2:?--out needs a directory}; shift 2 ;;
	*) break ;;
	esac
done
OUTDIR=$(realpath -m "$OUTDIR")
NS=smtpcap-recpf
# shellcheck source=lib.sh
source "$HERE/lib.sh"

# All files this script writes to OUTDIR (and no other).
FILES=(clean.pcap pipelined.pcap bdat.pcap barelf.pcap barelf-reject.pcap barelf-accept.pcap
	unauth-pipelining.pcap sync-error.pcap rejects.pcap starttls.pcap starttls.keylog timeout.pcap)

write_readme() {
	local tmp version
	mkdir -p "$OUTDIR"
	# Postfix's version; with --readme-only after exim4 is back (no postconf), the one in the old README.
	version=$(postconf -d -h mail_version 2>/dev/null ||
		sed -n 's/.*a real Postfix \([0-9][0-9.]*\) smtpd.*/\1/p' "$OUTDIR/README.md" 2>/dev/null | head -n1)
	tmp=$(mktemp "$OUTDIR/.README.md.XXXXXX")
	python3 -B "$HERE/summarize_postfix.py" --dir "$OUTDIR" \
		--postfix-version "$version" \
		--swaks-version "$(swaks --version 2>/dev/null | head -n1)" \
		--tcpdump-version "$(tcpdump --version 2>&1 | head -n1)" >"$tmp"
	chmod 0644 "$tmp"
	mv "$tmp" "$OUTDIR/README.md"
}

if [[ -n $README_ONLY ]]; then
	write_readme
	exit 0
fi

[[ $(id -u) == 0 ]] || die "must run as root (network namespace, port 25, tcpdump, postfix)"
for t in ip nsenter ethtool postfix postconf swaks tcpdump tshark capinfos openssl python3 perl timeout ss; do
	command -v "$t" >/dev/null || die "missing tool: $t"
done
id postfix >/dev/null 2>&1 || die "user postfix missing (install the postfix package)"
getent group postdrop >/dev/null || die "group postdrop missing (install the postfix package)"
perl -MNet::SSLeay -e 'exit(defined(&Net::SSLeay::CTX_set_keylog_callback) ? 0 : 1)' ||
	die "Net::SSLeay lacks CTX_set_keylog_callback (need libnet-ssleay-perl >= 1.90)"

WORK=$(mktemp -d /tmp/smtpcap-recpf.XXXXXX)
chmod 755 "$WORK"
CAP="$WORK/out"
# Postfix directories: config (root-owned, checked recursively by `postfix
# check`, so the queue must not be below it), queue (root), data (postfix), log.
PF="$WORK/pf-etc" PFQ="$WORK/pf-queue" PFD="$WORK/pf-data" PFL="$WORK/pf-log"
mkdir -p "$CAP" "$PF" "$PFQ" "$PFD" "$PFL"
chown postfix "$PFD"
MASTER_PID=""

cleanup() {
	local rc=$?
	set +e
	pf_stop
	lib_cleanup
	if [[ $rc != 0 ]]; then
		echo "record-postfix.sh: failed (rc=$rc); logs kept in $WORK" >&2
	elif [[ -n ${SMTPCAP_KEEP:-} ]]; then
		echo "record-postfix.sh: SMTPCAP_KEEP set; logs kept in $WORK" >&2
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT

# N per scenario: Postfix smtpd on 127.0.0.N:25, client 127.0.1.N.
N_CLEAN=40 N_PIPE=41 N_BDAT=42 N_BARELF=43 N_BARELFREJ=44 N_BARELFACC=45 N_UNAUTH=46 N_SYNC=47
N_REJECTS=48 N_TLS=49 N_TIMEOUT=50
ALL_N=($N_CLEAN $N_PIPE $N_BDAT $N_BARELF $N_BARELFREJ $N_BARELFACC $N_UNAUTH $N_SYNC $N_REJECTS $N_TLS $N_TIMEOUT)

# ---------------------------------------------------------------- Postfix

pf_cert() {
	mkdir -p "$PF/tls"
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=mx.example.test" \
		-keyout "$PF/tls/key.pem" -out "$PF/tls/cert.pem" 2>"$WORK/openssl.log"
	# smtpd reads the key as root, before it drops privileges
	chmod 0600 "$PF/tls/key.pem"
}

# pf_conf: write $PF/main.cf, $PF/master.cf and the recipient table.
pf_conf() {
	local n
	cat >"$PF/main.cf" <<EOF
# Postfix main.cf for recording smtpcap test captures (record-postfix.sh).
compatibility_level = 3.6
config_directory = $PF
queue_directory = $PFQ
data_directory = $PFD
maillog_file = $PFL/maillog
maillog_file_prefixes = $PFL
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.test
mydomain = example.test
myorigin = example.test
mydestination = example.test
# Clients (127.0.1.N) are not in mynetworks: no relaying for them.
mynetworks = 127.0.0.1/32
inet_protocols = ipv4
inet_interfaces = $(for n in "${ALL_N[@]}"; do printf '127.0.0.%s ' "$n"; done)
smtpd_banner = \$myhostname ESMTP Postfix
biff = no
append_dot_mydomain = no
# No DNS: no reverse lookup of clients, nothing is delivered over the network.
smtpd_peername_lookup = no
disable_dns_lookups = yes
alias_maps =
alias_database =
local_recipient_maps = texthash:$PF/recipients
# Every delivery is thrown away by discard(8).
local_transport = discard:
virtual_transport = discard:
relay_transport = discard:
default_transport = discard:
# bare-LF handling per listener (master.cf); no exclusions (the default is \$mynetworks)
smtpd_forbid_bare_newline_exclusions =
smtpd_tls_cert_file = $PF/tls/cert.pem
smtpd_tls_key_file = $PF/tls/key.pem
smtpd_tls_security_level =
EOF
	printf 'user OK\npostmaster OK\n' >"$PF/recipients"
	{
		cat <<'EOF'
# Postfix master.cf for recording smtpcap test captures (record-postfix.sh).
# One smtpd per scenario, each on its own address; no chroot.
# service             type  private unpriv  chroot  wakeup  maxproc command + args
EOF
		printf '127.0.0.%s:smtp inet n - n - - smtpd\n' "$N_CLEAN"
		printf '127.0.0.%s:smtp inet n - n - - smtpd\n' "$N_PIPE"
		printf '127.0.0.%s:smtp inet n - n - - smtpd\n' "$N_BDAT"
		printf '127.0.0.%s:smtp inet n - n - - smtpd\n  -o smtpd_forbid_bare_newline=normalize\n' "$N_BARELF"
		printf '127.0.0.%s:smtp inet n - n - - smtpd\n  -o smtpd_forbid_bare_newline=reject\n' "$N_BARELFREJ"
		printf '127.0.0.%s:smtp inet n - n - - smtpd\n  -o smtpd_forbid_bare_newline=no\n' "$N_BARELFACC"
		printf '127.0.0.%s:smtp inet n - n - - smtpd\n  -o smtpd_data_restrictions=reject_unauth_pipelining\n  -o smtpd_discard_ehlo_keywords=pipelining\n' "$N_UNAUTH"
		printf '127.0.0.%s:smtp inet n - n - - smtpd\n  -o smtpd_forbid_unauth_pipelining=yes\n' "$N_SYNC"
		printf '127.0.0.%s:smtp inet n - n - - smtpd\n' "$N_REJECTS"
		printf '127.0.0.%s:smtp inet n - n - - smtpd\n  -o smtpd_tls_security_level=may\n' "$N_TLS"
		printf '127.0.0.%s:smtp inet n - n - - smtpd\n  -o smtpd_timeout=5s\n' "$N_TIMEOUT"
		cat <<'EOF'
pickup    unix  n       -       n       60      1       pickup
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
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	} >"$PF/master.cf"
	postconf -c "$PF" -n >"$WORK/postconf-n.log" 2>&1 || { cat "$WORK/postconf-n.log" >&2; die "postconf rejects $PF/main.cf"; }
	if grep -q 'warning' "$WORK/postconf-n.log"; then cat "$WORK/postconf-n.log" >&2; die "postconf warnings"; fi
}

# pf_start: start Postfix inside the namespace; sets MASTER_PID; waits (bounded) for every listener.
pf_start() {
	local i n ok
	nsx postfix -c "$PF" start >"$WORK/postfix-start.log" 2>&1 || { cat "$WORK/postfix-start.log" "$PFL/maillog" >&2; die "postfix start failed"; }
	for i in $(seq 1 100); do
		[[ -s $PFQ/pid/master.pid ]] && break
		sleep 0.1
	done
	MASTER_PID=$(tr -dc 0-9 <"$PFQ/pid/master.pid" 2>/dev/null || true)
	[[ -n $MASTER_PID && $(cat "/proc/$MASTER_PID/comm" 2>/dev/null) == master ]] || die "postfix master not running"
	for i in $(seq 1 100); do
		ok=1
		for n in "${ALL_N[@]}"; do
			[[ $(nsx ss -Hltn "src 127.0.0.$n and sport = :$PORT" | wc -l) -ge 1 ]] || ok=""
		done
		[[ -n $ok ]] && return 0
		sleep 0.1
	done
	die "postfix not listening on every 127.0.0.N:$PORT"
}

# pf_stop: `postfix stop`, then wait (bounded) for our master to exit; SIGKILL it if it does not.
pf_stop() {
	local i
	[[ -n $MASTER_PID ]] || return 0
	nsx postfix -c "$PF" stop >>"$WORK/postfix-start.log" 2>&1 || true
	for i in $(seq 1 100); do
		kill -0 "$MASTER_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$MASTER_PID" 2>/dev/null && [[ $(cat "/proc/$MASTER_PID/comm" 2>/dev/null) == master ]]; then
		kill -KILL "$MASTER_PID" 2>/dev/null || true
	fi
	MASTER_PID=""
}

# ---------------------------------------------------------------- helpers

# scenario NAME: run scn_NAME (up to 3 attempts) until chk_NAME accepts the capture(s).
scenario() {
	local name=$1 attempt
	for attempt in 1 2 3; do
		log "$name (attempt $attempt)"
		"scn_$name"
		"chk_$name" && return 0
		sleep 1
	done
	die "$name: capture check failed 3 times"
}

# msg NAME SUBJECT: fixed DATA content (headers + body) for swaks --data @file
msg() {
	local f="$WORK/$1.msg"
	{
		printf 'Date: Thu, 01 Jan 2026 00:00:00 +0000\n'
		printf 'From: sender@example.org\n'
		printf 'To: user@example.test\n'
		printf 'Subject: %s\n' "$2"
		printf 'Message-Id: <%s@client.example.org>\n' "$1"
		printf '\n'
		printf 'Hello from smtpcap (%s).\nSecond line.\n' "$1"
	} >"$f"
	echo "$f"
}

# cap NAME N: start the capture of scenario N into $CAP/NAME
cap() { lib_start_cap "$CAP/$1" "tcp and host 127.0.0.$2"; }

# py NAME N SCENARIO [args]: postfix_clients.py SCENARIO against 127.0.0.N from 127.0.1.N
py() {
	local name=$1 n=$2
	shift 2
	lib_py "$name" postfix_clients.py "$@" --server "127.0.0.$n" --bind "127.0.1.$n"
}

# common checks: STREAMS connections, clean TCP, exactly one frame to/from the scenario's server per side
chk_common() {
	local f=$1 streams=$2 n=$3 ok=0
	lib_expect "$f" streams "$streams" "$(lib_streams "$f")" || ok=1
	lib_clean_tcp "$f" || ok=1
	lib_expect "$f" "frames not client<->server" 0 "$(lib_count "$f" "!(ip.addr == 127.0.1.$n && ip.addr == 127.0.0.$n)")" || ok=1
	lib_expect "$f" "Postfix banner" "$streams" "$(lib_count "$f" 'smtp.response.code == 220 && smtp.rsp.parameter contains "ESMTP Postfix"')" || ok=1
	return $ok
}

# ---------------------------------------------------------------- scenarios

scn_clean() {
	cap clean.pcap $N_CLEAN
	lib_swaks clean 0 --server 127.0.0.$N_CLEAN --local-interface 127.0.1.$N_CLEAN \
		--to user@example.test --data @"$(msg clean 'smtpcap postfix clean')"
	lib_stop_caps
}
chk_clean() {
	local f="$CAP/clean.pcap" ok=0
	chk_common "$f" 1 $N_CLEAN || ok=1
	lib_expect "$f" "250 Ok: queued" 1 "$(lib_count "$f" 'smtp.response.code == 250 && smtp.rsp.parameter contains "Ok: queued as"')" || ok=1
	lib_expect "$f" "4xx/5xx" 0 "$(lib_count "$f" 'smtp.response.code >= 400')" || ok=1
	lib_expect "$f" "221" 1 "$(lib_count "$f" 'smtp.response.code == 221')" || ok=1
	return $ok
}

scn_pipelined() {
	cap pipelined.pcap $N_PIPE
	lib_swaks pipelined 0 --pipeline --server 127.0.0.$N_PIPE --local-interface 127.0.1.$N_PIPE \
		--to user@example.test --data @"$(msg pipelined 'smtpcap postfix pipelined')"
	lib_stop_caps
}
chk_pipelined() {
	local f="$CAP/pipelined.pcap" ok=0
	chk_common "$f" 1 $N_PIPE || ok=1
	lib_expect "$f" "PIPELINING offered" 1 "$(lib_count "$f" 'tcp.payload contains "250-PIPELINING"')" || ok=1
	lib_expect "$f" "MAIL+RCPT+DATA in one segment" 1 \
		"$(lib_count "$f" 'tcp.payload contains "MAIL FROM:" && tcp.payload contains "RCPT TO:" && tcp.payload contains "DATA\r\n"')" || ok=1
	lib_expect "$f" "250 Ok: queued" 1 "$(lib_count "$f" 'smtp.response.code == 250 && smtp.rsp.parameter contains "Ok: queued as"')" || ok=1
	lib_expect "$f" "4xx/5xx" 0 "$(lib_count "$f" 'smtp.response.code >= 400')" || ok=1
	return $ok
}

scn_bdat() {
	cap bdat.pcap $N_BDAT
	py bdat $N_BDAT bdat
	lib_stop_caps
}
chk_bdat() {
	local f="$CAP/bdat.pcap" ok=0
	chk_common "$f" 1 $N_BDAT || ok=1
	lib_expect "$f" "CHUNKING offered" 1 "$(lib_count "$f" 'tcp.payload contains "250 CHUNKING"')" || ok=1
	lib_expect "$f" "BDAT 50 segment" 1 "$(lib_count "$f" 'tcp.payload contains "BDAT 50\r\n" && tcp.len == 59')" || ok=1
	lib_expect "$f" "BDAT 0 LAST segment" 1 "$(lib_count "$f" 'tcp.payload == "BDAT 0 LAST\r\n"')" || ok=1
	lib_expect "$f" "250 Ok: N bytes queued as" 2 "$(lib_count "$f" 'smtp.response.code == 250 && smtp.rsp.parameter contains " bytes queued as "')" || ok=1
	lib_expect "$f" "4xx/5xx" 0 "$(lib_count "$f" 'smtp.response.code >= 400')" || ok=1
	return $ok
}

scn_barelf() {
	cap barelf.pcap $N_BARELF
	py barelf $N_BARELF barelf --wait 5
	lib_stop_caps
}
chk_barelf() {
	local f="$CAP/barelf.pcap" ok=0
	chk_common "$f" 1 $N_BARELF || ok=1
	lib_expect "$f" "%%EOF\\n.\\r\\n frames" 1 "$(lib_count "$f" 'tcp.payload contains "%%EOF\n.\r\n"')" || ok=1
	# smtpd_forbid_bare_newline = normalize: no end of data, no reply; the client's RST after 5 s
	lib_expect "$f" "replies other than 220/250/354" 0 "$(lib_count "$f" 'smtp.response.code && !(smtp.response.code in {220 250 354})')" || ok=1
	lib_expect "$f" "250 Ok: queued" 0 "$(lib_count "$f" 'smtp.rsp.parameter contains "queued"')" || ok=1
	lib_expect "$f" "client RSTs" 1 "$(lib_count "$f" 'tcp.flags.reset == 1 && tcp.dstport == 25')" || ok=1
	return $ok
}

scn_barelfreject() {
	cap barelf-reject.pcap $N_BARELFREJ
	py barelfreject $N_BARELFREJ barelf --wait 5 --after-silence dot
	lib_stop_caps
}
chk_barelfreject() {
	local f="$CAP/barelf-reject.pcap" ok=0
	chk_common "$f" 1 $N_BARELFREJ || ok=1
	lib_expect "$f" "%%EOF\\n.\\r\\n frames" 1 "$(lib_count "$f" 'tcp.payload contains "%%EOF\n.\r\n"')" || ok=1
	# smtpd_forbid_bare_newline = reject: no reply until a standard end of data, then 550 bare <LF>
	lib_expect "$f" "lone .\\r\\n frames" 1 "$(lib_count "$f" 'tcp.payload == ".\r\n"')" || ok=1
	lib_expect "$f" "550 bare <LF>" 1 "$(lib_count "$f" 'smtp.response.code == 550 && smtp.rsp.parameter contains "bare <LF> received"')" || ok=1
	lib_expect "$f" "221" 1 "$(lib_count "$f" 'smtp.response.code == 221')" || ok=1
	return $ok
}

scn_barelfaccept() {
	cap barelf-accept.pcap $N_BARELFACC
	py barelfaccept $N_BARELFACC barelf --wait 5
	lib_stop_caps
}
chk_barelfaccept() {
	local f="$CAP/barelf-accept.pcap" ok=0
	chk_common "$f" 1 $N_BARELFACC || ok=1
	lib_expect "$f" "%%EOF\\n.\\r\\n frames" 1 "$(lib_count "$f" 'tcp.payload contains "%%EOF\n.\r\n"')" || ok=1
	# smtpd_forbid_bare_newline = no: "\n.\r\n" ends the data at once
	lib_expect "$f" "250 Ok: queued" 1 "$(lib_count "$f" 'smtp.response.code == 250 && smtp.rsp.parameter contains "Ok: queued as"')" || ok=1
	lib_expect "$f" "221" 1 "$(lib_count "$f" 'smtp.response.code == 221')" || ok=1
	lib_expect "$f" "RSTs" 0 "$(lib_count "$f" 'tcp.flags.reset == 1')" || ok=1
	return $ok
}

scn_unauthpipe() {
	cap unauth-pipelining.pcap $N_UNAUTH
	py unauthpipe $N_UNAUTH unauthpipe
	lib_stop_caps
}
chk_unauthpipe() {
	local f="$CAP/unauth-pipelining.pcap" ok=0
	chk_common "$f" 2 $N_UNAUTH || ok=1
	lib_expect "$f" "PIPELINING offered" 0 "$(lib_count "$f" 'tcp.payload contains "250-PIPELINING"')" || ok=1
	lib_expect "$f" "MAIL+RCPT+DATA in one segment" 2 \
		"$(lib_count "$f" 'tcp.payload contains "MAIL FROM:" && tcp.payload contains "RCPT TO:" && tcp.payload contains "DATA\r\n"')" || ok=1
	lib_expect "$f" "250 Ok: queued (session 1)" 1 "$(lib_count "$f" 'smtp.response.code == 250 && smtp.rsp.parameter contains "Ok: queued as"')" || ok=1
	lib_expect "$f" "503 improper pipelining (session 2)" 1 "$(lib_count "$f" 'smtp.response.code == 503 && smtp.rsp.parameter contains "Improper use of SMTP command pipelining"')" || ok=1
	lib_expect "$f" "221" 2 "$(lib_count "$f" 'smtp.response.code == 221')" || ok=1
	return $ok
}

scn_syncerror() {
	cap sync-error.pcap $N_SYNC
	py syncerror $N_SYNC syncerror
	lib_stop_caps
}
chk_syncerror() {
	local f="$CAP/sync-error.pcap" ok=0
	chk_common "$f" 2 $N_SYNC || ok=1
	lib_expect "$f" "554 synchronization" 2 "$(lib_count "$f" 'smtp.response.code == 554 && smtp.rsp.parameter contains "SMTP protocol synchronization"')" || ok=1
	lib_expect "$f" "EHLO replies" 0 "$(lib_count "$f" 'tcp.payload contains "250-"')" || ok=1
	lib_expect "$f" "server FINs" 2 "$(lib_count "$f" 'tcp.flags.fin == 1 && tcp.srcport == 25')" || ok=1
	return $ok
}

scn_rejects() {
	cap rejects.pcap $N_REJECTS
	py rejects $N_REJECTS rejects
	lib_stop_caps
}
chk_rejects() {
	local f="$CAP/rejects.pcap" ok=0
	chk_common "$f" 1 $N_REJECTS || ok=1
	lib_expect "$f" "550 User unknown" 1 "$(lib_count "$f" 'smtp.response.code == 550 && smtp.rsp.parameter contains "User unknown"')" || ok=1
	lib_expect "$f" "454 Relay access denied" 1 "$(lib_count "$f" 'smtp.response.code == 454 && smtp.rsp.parameter contains "Relay access denied"')" || ok=1
	lib_expect "$f" "501" 1 "$(lib_count "$f" 'smtp.response.code == 501')" || ok=1
	lib_expect "$f" "552" 1 "$(lib_count "$f" 'smtp.response.code == 552')" || ok=1
	lib_expect "$f" "500 command not recognized" 1 "$(lib_count "$f" 'smtp.response.code == 500 && smtp.rsp.parameter contains "command not recognized"')" || ok=1
	lib_expect "$f" "221" 1 "$(lib_count "$f" 'smtp.response.code == 221')" || ok=1
	return $ok
}

scn_starttls() {
	rm -f "$CAP/starttls.keylog"
	cap starttls.pcap $N_TLS
	SMTPCAP_KEYLOG="$CAP/starttls.keylog" PERL5OPT="-I$HERE -Mswaks_keylog" \
		lib_swaks starttls 0 --tls --server 127.0.0.$N_TLS --local-interface 127.0.1.$N_TLS \
		--to user@example.test --data @"$(msg starttls 'smtpcap postfix starttls')"
	lib_stop_caps
}
chk_starttls() {
	local f="$CAP/starttls.pcap" k="$CAP/starttls.keylog" ok=0
	chk_common "$f" 1 $N_TLS || ok=1
	lib_expect "$f" "STARTTLS offered" 1 "$(lib_count "$f" 'tcp.payload contains "250-STARTTLS"')" || ok=1
	lib_expect "$f" "key log lines" 1 "$([[ -s $k ]] && echo 1 || echo 0)" || ok=1
	lib_expect "$f" "decrypted 250 Ok: queued" 1 "$(tshark -r "$f" -o "tls.keylog_file:$k" -Y 'smtp.response.code == 250 && smtp.rsp.parameter contains "Ok: queued as"' -T fields -e frame.number 2>/dev/null | grep -c . || true)" || ok=1
	return $ok
}

scn_timeout() {
	cap timeout.pcap $N_TIMEOUT
	py timeout $N_TIMEOUT timeout --wait 20
	lib_stop_caps
}
chk_timeout() {
	local f="$CAP/timeout.pcap" ok=0
	chk_common "$f" 1 $N_TIMEOUT || ok=1
	lib_expect "$f" "421 timeout" 1 "$(lib_count "$f" 'smtp.response.code == 421 && smtp.rsp.parameter contains "timeout exceeded"')" || ok=1
	lib_expect "$f" "server FIN" 1 "$(lib_count "$f" 'tcp.flags.fin == 1 && tcp.srcport == 25')" || ok=1
	return $ok
}

# ---------------------------------------------------------------- run
ALL=(clean pipelined bdat barelf barelfreject barelfaccept unauthpipe syncerror rejects starttls timeout)
RUN=("$@")
[[ ${#RUN[@]} -gt 0 ]] || RUN=("${ALL[@]}")
for s in "${RUN[@]}"; do
	declare -F "scn_$s" >/dev/null || die "unknown scenario $s (known: ${ALL[*]})"
done

lib_setup_ns "${ALL_N[@]}"
log "postfix $(postconf -d -h mail_version) in $PF"
pf_cert
pf_conf
pf_start
for s in "${RUN[@]}"; do
	scenario "$s"
done
pf_stop

# ---------------------------------------------------------------- checks + publish
log "checks"
for f in "$CAP"/*; do
	sz=$(stat -c %s "$f")
	[[ $sz -lt $((100 * 1024)) ]] || die "$f is $sz bytes (limit 100 KiB)"
done

log "publish to $OUTDIR"
mkdir -p "$OUTDIR"
for f in "${FILES[@]}"; do
	if [[ -f $CAP/$f ]]; then install -m 0644 "$CAP/$f" "$OUTDIR/$f"; fi
done
write_readme
log "done"
