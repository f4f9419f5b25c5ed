#!/usr/bin/env bash
# record.sh: record STARTTLS sessions whose TLS handshake fails (and two that
# succeed, for contrast) between a real Postfix 3.7 smtpd (Debian bookworm's
# postfix) and swaks, in a private network namespace on its loopback.
#
# Usage (as root): testdata/record/tls/record.sh [OUTDIR]
#   OUTDIR defaults to testdata/pcaps/tls. SMTPCAP_KEEP=1 keeps the work dir
#   (Postfix's maillog, swaks' transcripts, config) after a successful run.
# Output, in OUTDIR (and nothing else there is written):
#   starttls-failures.pcap    every session, one TCP connection (tcp.stream) each,
#                             tcpdump -i lo 'tcp port 25' for the whole run
#   starttls-failures.keylog  the TLS secrets swaks' OpenSSL logged (NSS key log
#                             format, through ../swaks_keylog.pm), so tshark can
#                             decrypt stream 3's TLS 1.3 server flight and the
#                             clean sessions: tshark -o tls.keylog_file:FILE
# Sessions, in this order (stream N = session N+1), server 127.0.0.8N, client 127.0.1.8N:
#   1 version   Postfix TLS 1.3 only, swaks TLS 1.2 only
#   2 cipher    both TLS 1.2 only; Postfix excludes AES128, swaks offers only AES128 suites
#   3 verify12  swaks --tls-verify, TLS 1.2 only (no CA in OpenSSL's default store signs
#               Postfix's self-signed certificate)
#   4 verify13  swaks --tls-verify, TLS 1.3 only
#   5 clean13   swaks --tls with OpenSSL's defaults (TLS 1.3 and 1.2 offered), one message
#   6 clean12   swaks --tls, TLS 1.2 only, one message
# Postfix delivers the messages to discard(8): nothing leaves the namespace.
# The tshark oracle of the capture goes to the work dir (oracle/; kept with SMTPCAP_KEEP=1).
# Needs: postfix, swaks, tcpdump, tshark, openssl, iproute2, ethtool, perl
# Net::SSLeay >= 1.90. The certificate and key are throwaway ones made here by
# openssl in the work dir; the key is never copied out.
# Every wait is bounded; only processes started here (tcpdump, Postfix's
# start-fg wrapper and master) are stopped, by PID; the namespace is deleted on
# exit (testdata/record/netns.sh: ns_cleanup).
set -euo pipefail

SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RECORD=$SELF/..
OUT=${1:-$SELF/../../pcaps/tls}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
NAME=starttls-failures
PCAP=$OUT/$NAME.pcap
KEYLOG=$OUT/$NAME.keylog

# shellcheck source=../netns.sh
source "$RECORD/netns.sh"
[[ $(id -u) == 0 ]] || die "must run as root (namespace, port 25, tcpdump, postfix)"
for t in ip nsenter ethtool postfix postconf swaks tcpdump tshark openssl perl timeout ss; do
	command -v "$t" >/dev/null || die "missing tool: $t"
done
perl -MNet::SSLeay -e 'exit(defined(&Net::SSLeay::CTX_set_keylog_callback) ? 0 : 1)' ||
	die "Net::SSLeay lacks CTX_set_keylog_callback (need libnet-ssleay-perl >= 1.90)"

WORK=$(mktemp -d /tmp/smtpcap-tlsrec.XXXXXX)
chmod 755 "$WORK"
# postfix.sh keeps Postfix's run dir and its logs/, oracle/, conf/ under HERE: the work dir
HERE=$WORK
# shellcheck source=../postfix.sh
source "$RECORD/postfix.sh"

NS=smtpcap-tlsrec
SESSIONS=(version cipher verify12 verify13 clean13 clean12)
declare -A N=([version]=81 [cipher]=82 [verify12]=83 [verify13]=84 [clean13]=85 [clean12]=86)
ADDRS=()
for s in "${SESSIONS[@]}"; do ADDRS+=("127.0.0.${N[$s]}" "127.0.1.${N[$s]}"); done

# on_exit: on success (Postfix and tcpdump already stopped) drop the work dir, with the
# throwaway key, unless SMTPCAP_KEEP is set; then ns_cleanup with the script's status
on_exit() {
	local rc=$?
	if [[ $rc == 0 && -z ${SMTPCAP_KEEP:-} ]]; then rm -rf "$WORK"; else echo "work dir kept: $WORK" >&2; fi
	(exit "$rc")
	ns_cleanup
}

ns_traps
trap on_exit EXIT
ns_setup "$NS" "${ADDRS[@]}"

# ---- Postfix: one instance, one smtpd listener per session with its overrides
pf_dirs
mkdir -p "$CONF/tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=mx.example.test" \
	-keyout "$CONF/tls/key.pem" -out "$CONF/tls/cert.pem" 2>"$WORK/openssl.log"
chmod 0600 "$CONF/tls/key.pem"
{
	pf_main_cf 127.0.0.1/32
	cat <<EOF
# opportunistic TLS with a throwaway self-signed certificate (CN=mx.example.test)
smtpd_tls_security_level = may
smtpd_tls_cert_file = $CONF/tls/cert.pem
smtpd_tls_key_file = $CONF/tls/key.pem
smtpd_tls_loglevel = 1
EOF
} >"$CONF/main.cf"
printf 'root OK\npostmaster OK\n' >"$CONF/recipients"
{
	echo "# service type private unpriv chroot wakeup maxproc command"
	echo "127.0.0.81:25 inet n - n - - smtpd -o smtpd_tls_protocols=>=TLSv1.3 -o smtpd_tls_mandatory_protocols=>=TLSv1.3"
	echo "127.0.0.82:25 inet n - n - - smtpd -o { smtpd_tls_protocols = >=TLSv1.2, <=TLSv1.2 }" \
		"-o { smtpd_tls_mandatory_protocols = >=TLSv1.2, <=TLSv1.2 } -o smtpd_tls_exclude_ciphers=AES128"
	echo "127.0.0.83:25 inet n - n - - smtpd"
	echo "127.0.0.84:25 inet n - n - - smtpd"
	echo "127.0.0.85:25 inet n - n - - smtpd"
	echo "127.0.0.86:25 inet n - n - - smtpd"
	pf_master_services
	echo "tlsmgr unix - - n 1000? 1 tlsmgr"
} >"$CONF/master.cf"
pf_check_conf -n -M
pf_start 127.0.0.81 127.0.0.82 127.0.0.83 127.0.0.84 127.0.0.85 127.0.0.86

# ---- swaks options per session (all: --tls, i.e. STARTTLS required)
swaks_opts() {
	case $1 in
	version) echo "--tls-protocol tlsv1_2" ;;
	cipher) echo "--tls-protocol tlsv1_2 --tls-cipher ECDHE-RSA-AES128-GCM-SHA256:AES128-GCM-SHA256" ;;
	verify12) echo "--tls-protocol tlsv1_2 --tls-verify" ;;
	verify13) echo "--tls-protocol tlsv1_3 --tls-verify" ;;
	clean13) echo "" ;; # OpenSSL's defaults: offers TLS 1.3 and 1.2
	clean12) echo "--tls-protocol tlsv1_2" ;;
	esac
}

# wait_closed ADDR: max 20 s until nothing but TIME-WAIT is left to or from ADDR, then 1 s more
wait_closed() {
	for _ in $(seq 1 200); do
		# shellcheck disable=SC2143
		[[ -z $(nsx ss -Htn state connected "( src $1 or dst $1 )" | grep -v TIME-WAIT) ]] && break
		sleep 0.1
	done
	sleep 1
}

rm -f "$KEYLOG"
ns_cap_start "$PCAP" "tcp port 25" "$WORK/tcpdump.err"
for s in "${SESSIONS[@]}"; do
	srv=127.0.0.${N[$s]} cli=127.0.1.${N[$s]} rc=0
	log "session $s: swaks $cli -> $srv:25 --tls $(swaks_opts "$s")"
	off=$(stat -c %s "$MAILLOG")
	# shellcheck disable=SC2046 # the options are words
	SMTPCAP_KEYLOG=$KEYLOG PERL5OPT="-I$RECORD -Mswaks_keylog" timeout 30 \
		nsenter --net="/run/netns/$NS" swaks --server "$srv" --port 25 --local-interface "$cli" \
		--helo client.example.org --from a@example.org --to root@example.test \
		--header "Subject: smtpcap tls $s" --body "STARTTLS test session $s" \
		--tls $(swaks_opts "$s") >"$WORK/logs/$s.swaks.log" 2>&1 || rc=$?
	echo "swaks exit status $rc" >>"$WORK/logs/$s.swaks.log"
	wait_closed "$srv"
	for _ in $(seq 1 50); do tail -c +$((off + 1)) "$MAILLOG" | grep -q 'disconnect from' && break; sleep 0.1; done
	tail -c +$((off + 1)) "$MAILLOG" | sed "s|$RUN|RUNDIR|g" >"$WORK/logs/$s.maillog"
	case $s in
	clean*) [[ $rc == 0 ]] || fail "$s: swaks exit status $rc" ;;
	*) [[ $rc != 0 ]] || fail "$s: swaks succeeded, a failure was wanted" ;;
	esac
done
ns_cap_stop 127.0.0.0/24 "$WORK/tcpdump.err" all
pf_finish

# ---- checks: six connections, nothing lost or retransmitted
n=$(tshark -r "$PCAP" -T fields -e tcp.stream 2>/dev/null | sort -u | grep -c . || true)
[[ $n == "${#SESSIONS[@]}" ]] || fail "$n TCP streams, want ${#SESSIONS[@]}"
n=$(tshark -r "$PCAP" -Y 'tcp.analysis.lost_segment || tcp.analysis.retransmission || tcp.analysis.out_of_order' \
	2>/dev/null | grep -c . || true)
[[ $n == 0 ]] || fail "$n lost/retransmitted/out-of-order segments"
tshark -r "$PCAP" -o tls.desegment_ssl_records:TRUE -T fields -e frame.number -e tcp.stream -e tcp.len \
	-e tls.record.content_type -e tls.record.opaque_type -e tls.record.version -e tls.handshake.type -e tls.alert_message.level \
	-e tls.alert_message.desc -e tls.handshake.extensions.supported_version -e smtp.req.command \
	-e smtp.response.code >"$WORK/oracle/$NAME.txt" 2>/dev/null
[[ $PROBLEMS == 0 ]] || die "$PROBLEMS problem(s), see above"
log "wrote $PCAP and $KEYLOG"
