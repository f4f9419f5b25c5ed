#!/bin/bash
# record.sh [OUTDIR]: record mx-fallback.pcap and mx-fallback-busy.pcap (see README.md) into OUTDIR
# (default testdata/pcaps/fallback). Run as root. Uses its own network namespace `fallback` (refuses
# to run if it exists; deletes it at exit) and a fresh work directory (mktemp; removed at exit unless
# FALLBACK_KEEP=1). Sources common.sh (the set-up it shares with record-postfix.sh) and
# ../lib/exim.sh. Every wait and loop bounded; only processes started here are stopped, by PID.
NS=fallback
TOOLS="exim openssl"
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=../lib/exim.sh
source "$LIB/exim.sh"

STARTED=()   # PIDs of the Exim daemon and busy clients started here
cleanup_own() {
  local p
  for p in "${STARTED[@]}"; do stop_pid "$p"; done
}
fallback_up

# The server on MX3: a self-signed certificate so STARTTLS is offered (the client does not use it).
mkdir -p "$W/tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=mx.example.test \
  -keyout "$W/tls/key.pem" -out "$W/tls/cert.pem" 2>/dev/null
chown -R Debian-exim:Debian-exim "$W/tls"; chmod 640 "$W/tls/key.pem"
SD=$W/srv; exim_workdir "$SD"
printf 'tls_advertise_hosts = *\ntls_certificate = %s\ntls_privatekey = %s\n' \
  "$W/tls/cert.pem" "$W/tls/key.pem" >"$W/srv-main.conf"
exim_conf_server "$SD" $MX3 "$W/srv-main.conf" /dev/null /dev/null >"$SD/exim.conf"
exim_check_conf "$SD/exim.conf" || exit 1
exim_daemon_start "$NS" "$SD/exim.conf" $MX3 25 -oX 25
STARTED+=("$EXIM_PID")
[[ $(cat "/proc/$EXIM_PID/comm" 2>/dev/null) == exim ]] || exit 1

# record NAME BUSY: one capture. A fresh Exim client (own spool, so no retry hints from an earlier
# run) delivers one message over MX1, MX2, MX3 in that order; with BUSY=1 busy_client.py holds a slow
# session from the same address to MX3 meanwhile: connect + EHLO, then Exim starts; MAIL 2 s later
# (while Exim's SYNs to MX2 go unanswered), RCPT 10 s, DATA 10 s, QUIT 5 s after that.
record() {
  local name=$1 busy=$2 cd=$W/cli-$1 p=$W/$1.pcap bpid="" i
  exim_workdir "$cd"
  exim_conf_client "$cd" $CLI "route_list = * \"$MX1 : $MX2 : $MX3\"
  hosts_randomize = false" $CLI "connect_timeout = 4s" >"$cd/client.conf"
  exim_check_conf "$cd/client.conf" || return 1
  cap_start "$NS" lo "$p" 'tcp port 25'
  if [[ $busy == 1 ]]; then
    nsenter --net="/run/netns/$NS" python3 "$REC/busy_client.py" $MX3 $CLI 2 10 10 5 >"$W/$name.busy.log" 2>&1 &
    bpid=$!; STARTED+=("$bpid")
    for i in $(seq 1 100); do grep -q '^ *[0-9.]* < 250 ' "$W/$name.busy.log" && break; sleep 0.1; done
    log "busy client $bpid after EHLO:"; cat "$W/$name.busy.log" >&2
  fi
  log "$name: exim -odi (client $CLI)"
  printf 'From: sender@example.org\nTo: user@example.test\nSubject: MX fallback (%s)\nMessage-Id: <%s@example.org>\n\nthird MX gets it\n' \
    "$name" "$name" | timeout 200 nsenter --net="/run/netns/$NS" exim -C "$cd/client.conf" -odi \
    -f sender@example.org user@example.test >"$W/$name.exim-client.out" 2>&1
  log "$name: exim client exit $?"
  if [[ -n $bpid ]]; then
    for i in $(seq 1 900); do kill -0 "$bpid" 2>/dev/null || break; sleep 0.1; done
    stop_pid "$bpid"; log "busy client:"; cat "$W/$name.busy.log" >&2
  fi
  fallback_finish "$name" "$p"
  log "$name: client mainlog"; cat "$cd/log/mainlog"
  log "$name: server mainlog so far"; cat "$SD/log/mainlog"
}

record mx-fallback 0
record mx-fallback-busy 1
ls -l "$OUT"
