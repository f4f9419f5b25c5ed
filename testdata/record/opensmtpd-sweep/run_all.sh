#!/bin/bash
# run_all.sh: re-record every capture of testdata/pcaps/opensmtpd-sweep into $SWEEP (default
# /tmp/sw-osmtpd; about 8 minutes: s01 waits out OpenSMTPD's 300 s session timeout in the
# background, in its own chroot copy root2). Run setup.sh once first. The recording ran these
# piecemeal; the certificate each s02 letter had is kept: ECDSA for m n o p, RSA for the rest
# (osd-starttls-tls12 and the go-osd-* captures show the RSA certificate). Ends with cleanup.sh.
S=$(cd "$(dirname "$0")" && pwd)
B=${SWEEP:-/tmp/sw-osmtpd}; mkdir -p "$B/run"
bash "$S/s01_osd_stall.sh" > "$B/run/s01.out" 2>&1 &
P=$!
bash "$S/s02_osd_server.sh" "a b c d e f g h i j k l q r s t u v w w1 x z"      # RSA key (TLS fails in 6.8 + OpenSSL 3)
OSD_KEY=mx-ec bash "$S/s02_osd_server.sh" "m n o p"                            # ECDSA key (fails the same way)
OSD_KEY=mx-ec OSD_EXTRA="smtp limit max-mails 1 max-rcpt 2" bash "$S/s02_osd_server.sh" "y"
bash "$S/s03_osd_relay.sh" "accept 451-rcpt 451-data drop-data drop-rcpt accept-tls"
NAME_SUFFIX=-reconnect RETRIES=3 RETRY_SLEEP=13 bash "$S/s03_osd_relay.sh" "451-data"
bash "$S/s04_aiosmtpd.sh"
bash "$S/s05_osd_to_exim.sh"
EXIM_ACL=none bash "$S/s05_osd_to_exim.sh"
# s01 takes about 330 s from its start; wait for it at most 10 more minutes
for _ in $(seq 1 60); do kill -0 $P 2>/dev/null || break; sleep 10; done
kill -0 $P 2>/dev/null && { echo "s01 still running (PID $P); stopping it" >&2; kill -TERM $P; }
wait $P
bash "$S/cleanup.sh"
