#!/bin/bash
# s03_osd_relay: OpenSMTPD 6.8 as the relay CLIENT towards aiosmtpd (clients/aiosrv.py in the chroot
# on 127.0.3.2), one mode per capture: swaks submits to OpenSMTPD on 127.0.3.1 (mail for
# remote.test is relayed), then "smtpctl schedule all" RETRIES times (default 4), RETRY_SLEEP
# seconds apart (default 3), then "smtpctl remove all" and OpenSMTPD is stopped. Captures only the
# OpenSMTPD -> aiosmtpd leg. Namespace ${NSP}3. Argument: the modes (default "accept 451-rcpt
# 451-data drop-data drop-rcpt"; run_all.sh adds accept-tls, and 451-data with RETRIES=3
# RETRY_SLEEP=13 NAME_SUFFIX=-reconnect). Makes in $SWEEP/pcaps: osr-accept, osr-451-rcpt,
# osr-451-data, osr-drop-data, osr-drop-rcpt, osr-accept-tls, osr-451-data-reconnect (each with
# .log = OpenSMTPD's, .aiosmtpd.log, .client.txt). Run setup.sh once first (see lib.sh).
set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
NS=${NSP}3; A=127.0.3.1; R=127.0.3.2
modes=${1:-"accept 451-rcpt 451-data drop-data drop-rcpt"}
for mode in $modes; do
  name=osr-$mode${NAME_SUFFIX:-}
  tls=0; scheme=smtp+notls; [[ $mode == *-tls ]] && { tls=1; scheme=smtp; }
  ns_up "$NS" $A $R
  chroot_prep
  rm -rf "$ROOT"/var/spool/smtpd/{queue,incoming,corrupt,purge,offline,temporary}/* 2>/dev/null
  ip netns exec "$NS" env ADDR=$R MODE="${mode%-tls}" TLS=$tls chroot "$ROOT" python3 /opt/sw/aiosrv.py > "$PC/$name.aiosmtpd.log" 2>&1 &
  AIO=$!; STARTED="$STARTED $AIO"
  wait_port "$NS" $R 25 || exit 1
  smtpd_start "$NS" "$name" "table aliases file:/etc/aliases
listen on $A port 25 hostname mx.test
action \"local\" maildir alias <aliases>
action \"out\" relay host $scheme://$R:25 helo mx.test
match from any for domain \"remote.test\" action \"out\"
match from any for domain \"mx.test\" action \"local\""
  wait_port "$NS" $A 25 || exit 1
  cap_start "$NS" "$name" "tcp and host $R"
  rcpts=alice@remote.test
  [ "$mode" = accept ] && rcpts=alice@remote.test,nosuch@remote.test,full@remote.test
  ip netns exec "$NS" timeout 30 swaks --server $A --from sender@mx.test --to $rcpts --h-Subject "relay $mode" > "$PC/$name.client.txt" 2>&1
  sleep 3
  # force the retry loop a few times
  for _ in $(seq 1 "${RETRIES:-4}"); do
    ip netns exec "$NS" timeout 10 chroot "$ROOT" smtpctl schedule all >> "$PC/$name.client.txt" 2>&1
    sleep "${RETRY_SLEEP:-3}"
  done
  ip netns exec "$NS" timeout 10 chroot "$ROOT" smtpctl show queue >> "$PC/$name.client.txt" 2>&1
  ip netns exec "$NS" timeout 10 chroot "$ROOT" smtpctl remove all >> "$PC/$name.client.txt" 2>&1
  sleep 1
  stop_pid "$SMTPD_PID"
  sleep 1
  stop_pid $AIO
  cap_stop "$CAP_PID"
  ns_down "$NS"
  analyze "$name"
  log "$name done"
done
