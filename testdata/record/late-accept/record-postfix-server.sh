#!/bin/bash
# record-postfix-server.sh: record.sh's duplicate-delivery case (testdata/pcaps/late-accept) with
# a real Postfix 3.7 (Debian bookworm's postfix) as the RECEIVING server and swaks as the client.
# Postfix's smtpd_end_of_data_restrictions start with "sleep 12" (as a slow policy service or
# milter would take): Postfix answers the end of data 12 s after it, without noticing that swaks,
# run with --timeout 5, gave up 5 s in and closed; swaks's kernel resets the 250. Then the sleep is
# removed (postfix reload) and swaks sends the same message again: accepted at once. Postfix's
# maillog shows both messages accepted ("queued as"), each handed to the discard transport.
#
#   late-250-postfix-server.pcap   the two connections.
#
# Usage (root): testdata/record/late-accept/record-postfix-server.sh OUTDIR. The capture lands in
# OUTDIR; Postfix's config, queue and maillog in OUTDIR/run. Copy the capture into
# testdata/pcaps/late-accept by hand. Every wait is bounded; only the processes started here are
# stopped, by PID (Postfix by its master's); the namespace is deleted on exit.
set -u
OUT=${1:?usage: record-postfix-server.sh OUTDIR}
NS=pfsl
S=127.0.0.91 # the server
C=127.0.1.91 # the client
LIB=$(cd "$(dirname "$0")/../lib" && pwd)
# shellcheck source=../lib/ns.sh
source "$LIB/ns.sh"
# shellcheck source=../lib/capture.sh
source "$LIB/capture.sh"
mkdir -p "$OUT"; chmod 755 "$OUT"
RUN=$OUT/run CONF=$OUT/run/conf MAILLOG=$OUT/run/log/maillog
# shellcheck source=../lib/postfix.sh
source "$LIB/postfix.sh"
cleanup() {
  cap_kill_all
  pf_daemon_stop "$NS"
  ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT

ns_ready "$NS" $S $C
pf_write_conf "127.0.0.0/8" "$S:25 inet n - n - - smtpd"
postconf -c "$CONF" -e "smtpd_end_of_data_restrictions = sleep 12, permit"
pf_daemon_start "$NS" $S || exit 1

send() { # LOG: swaks from C, giving up on any reply after 5 s
  nsenter --net="/run/netns/$NS" swaks --server $S --port 25 --local-interface $C --helo client.example.org \
    --from billing@example.org --to b@example.test --timeout 5 \
    --header "Subject: monthly invoice" --header "Message-Id: <invoice-2026-12-postfix@example.org>" \
    --body "Please find the invoice attached." >"$OUT/$1" 2>&1
}

pcap=$OUT/late-250-postfix-server.pcap
tcpdump_start "$NS" "$pcap" "tcp and host $S" -i lo --immediate-mode -U -s 0
send swaks1.log
sleep 9 # Postfix's 12 s are over: it has accepted, and the reset has come
postconf -c "$CONF" -e "smtpd_end_of_data_restrictions ="
nsenter --net="/run/netns/$NS" postfix -c "$CONF" reload >>"$RUN/postfix.out" 2>&1
sleep 1
send swaks2.log
ns_wait_closed "$NS" $S
sleep 1
tcpdump_stop "$CAP_PID" "$pcap"
grep -h "queued as\|timed out\|Timeout\|lost connection\|status=" "$MAILLOG" "$OUT"/swaks*.log >&2 || true
