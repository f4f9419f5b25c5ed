#!/bin/bash
# s05_osd_to_exim: OpenSMTPD 6.8 as the relay client towards the host's Exim 4.96 (which offers
# PIPELINING and CHUNKING; OpenSMTPD uses neither), namespace ${NSP}5: swaks submits one message
# for alice, nosuch, defer1 and bob @remote.test to OpenSMTPD on 127.0.5.1, which relays to Exim on
# 127.0.5.2; then "smtpctl schedule all" three times, 3 s apart, "smtpctl remove all", and
# OpenSMTPD is stopped. Captures only the OpenSMTPD -> Exim leg. Makes pcaps/osx-exim.pcap (Exim's
# RCPT ACL refuses nosuch* with 550 and defers defer* with 451) or, with EXIM_ACL=none,
# pcaps/osx-exim-idle.pcap (Exim accepts every recipient), each with .log (OpenSMTPD's),
# .exim.log, .client.txt, in $SWEEP. osx-exim-idle was recorded by an earlier run whose Exim
# configuration was not kept; EXIM_ACL=none is rebuilt from what its capture and log show (all four
# recipients got 250). Exim runs on the host (exim4-daemon-light), as root, with the configuration
# written here into $SWEEP/exim. Run setup.sh once first (see lib.sh).
set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
NS=${NSP}5; A=127.0.5.1; R=127.0.5.2; name=osx-exim
[ "${EXIM_ACL:-}" = none ] && name=osx-exim-idle
command -v exim >/dev/null || { echo "needs exim on the host" >&2; exit 1; }
ns_up "$NS" $A $R
chroot_prep
rm -rf "$B/exim/spool" "$B"/exim/*log; mkdir -p "$B/exim/spool"
{ cat <<EOC
primary_hostname = exim.test
spool_directory = $B/exim/spool
log_file_path = $B/exim/%slog
log_selector = +smtp_protocol_error +smtp_syntax_error +smtp_no_mail +smtp_connection +received_recipients +pipelining
local_interfaces = $R
daemon_smtp_ports = 25
exim_user = root
exim_group = root
never_users =
queue_only = true
pipelining_advertise_hosts = *
chunking_advertise_hosts = *
acl_smtp_rcpt = acl_rcpt
acl_smtp_data = acl_data
host_lookup =
rfc1413_hosts =
begin acl
acl_rcpt:
EOC
  if [ "${EXIM_ACL:-}" != none ]; then cat <<'EOC'
  deny    local_parts = ^nosuch
          message = 5.1.1 <$local_part@$domain>: Invalid recipient
  defer   local_parts = ^defer
          message = 4.2.0 <$local_part@$domain>: greylisted, try again later
EOC
  fi
  cat <<'EOC'
  accept
acl_data:
  accept
begin routers
bh:
  driver = redirect
  data = :blackhole:
EOC
} > "$B/exim/exim.conf"
ip netns exec "$NS" exim -bdf -C "$B/exim/exim.conf" > "$PC/$name.exim-stderr.txt" 2>&1 &
EXIM=$!; STARTED="$STARTED $EXIM"
wait_port "$NS" $R 25 || { cat "$PC/$name.exim-stderr.txt"; exit 1; }
rm -rf "$ROOT"/var/spool/smtpd/{queue,incoming,corrupt,purge,offline,temporary}/* 2>/dev/null
smtpd_start "$NS" $name "table aliases file:/etc/aliases
listen on $A port 25 hostname mx.test
action \"local\" maildir alias <aliases>
action \"out\" relay host smtp+notls://$R:25 helo mx.test
match from any for domain \"remote.test\" action \"out\"
match from any for domain \"mx.test\" action \"local\""
wait_port "$NS" $A 25 || exit 1
cap_start "$NS" $name "tcp and host $R"
ip netns exec "$NS" timeout 30 swaks --server $A --from sender@mx.test --to alice@remote.test,nosuch@remote.test,defer1@remote.test,bob@remote.test --h-Subject "relay to exim" > "$PC/$name.client.txt" 2>&1
sleep 3
for _ in 1 2 3; do ip netns exec "$NS" timeout 10 chroot "$ROOT" smtpctl schedule all >> "$PC/$name.client.txt" 2>&1; sleep 3; done
ip netns exec "$NS" timeout 10 chroot "$ROOT" smtpctl show queue >> "$PC/$name.client.txt" 2>&1
ip netns exec "$NS" timeout 10 chroot "$ROOT" smtpctl remove all >> "$PC/$name.client.txt" 2>&1
stop_pid "$SMTPD_PID"; sleep 1
stop_pid $EXIM
cap_stop "$CAP_PID"
cat "$B/exim/mainlog" "$B/exim/rejectlog" > "$PC/$name.exim.log" 2>/dev/null
ns_down "$NS"
analyze $name; log "$name done"
