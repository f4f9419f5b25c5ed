#!/bin/bash
# s01_osd_stall: OpenSMTPD's session timeout (default 300 s), two clients at once, each captured on
# its own address: osd-stall-timeout (127.0.2.1: EHLO, MAIL, RCPT accepted, then silence) and
# osd-starttls-stall (127.0.2.2: EHLO, STARTTLS, 220, then no TLS ClientHello); OpenSMTPD closes
# both after 300 s. Makes pcaps/osd-stall-timeout.pcap and pcaps/osd-starttls-stall.pcap (the
# server log of both is osd-stall-both.log, copied to each NAME.log) in $SWEEP; takes about 5.5
# minutes. Uses its own copy of the chroot ($SWEEP/root2, setup.sh) and namespace ${NSP}2, so
# run_all.sh runs it beside the others. Run setup.sh once first (see lib.sh).
set -u; ROOT=${SWEEP:-/tmp/sw-osmtpd}/root2
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=conf_osd.sh
source "$REC/conf_osd.sh"
NS=${NSP}2; A1=127.0.2.1; A2=127.0.2.2
ns_up "$NS" $A1 $A2
smtpd_start "$NS" osd-stall-both "$(osd_conf $A1 $A2)"
wait_port "$NS" $A1 25 || exit 1
cap_start "$NS" osd-stall-timeout "tcp and host $A1"; P1=$CAP_PID
cap_start "$NS" osd-starttls-stall "tcp and host $A2"; P2=$CAP_PID
cat > "$B/run/stall1.txt" <<'EOS'
T 400
R
S EHLO client.test\r\n
R
S MAIL FROM:<sender@client.test>\r\n
R
S RCPT TO:<alice@mx.test>\r\n
R
# now say nothing; wait for the server to give up
R
R
EOS
cat > "$B/run/stall2.txt" <<'EOS'
T 400
R
S EHLO client.test\r\n
R
S STARTTLS\r\n
R
# never start TLS
R
R
EOS
ip netns exec "$NS" timeout 420 python3 "$CL/raw.py" $A1 25 "$B/run/stall1.txt" > "$PC/osd-stall-timeout.client.txt" 2>&1 &
C1=$!
ip netns exec "$NS" timeout 420 python3 "$CL/raw.py" $A2 25 "$B/run/stall2.txt" > "$PC/osd-starttls-stall.client.txt" 2>&1 &
C2=$!
wait_pid $C1 430; wait_pid $C2 430
cap_stop $P1; cap_stop $P2
stop_pid "$SMTPD_PID"
cp "$PC/osd-stall-both.log" "$PC/osd-stall-timeout.log"; cp "$PC/osd-stall-both.log" "$PC/osd-starttls-stall.log"
ns_down "$NS"
analyze osd-stall-timeout; analyze osd-starttls-stall
log "done"
