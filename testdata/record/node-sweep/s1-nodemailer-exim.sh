#!/bin/bash
# s1: nodemailer 10.6.1 (nm-client.js) as the client of Exim 4.96 (the shared rcpt ACL: nobody@ 550,
# grey@ 451 greylisted; STARTTLS with a self-signed certificate) in namespace ${NSP}1, 127.0.1.1:25.
# One Exim daemon per case; each case makes pcaps/nm-exim-CASE.pcap in $SWEEP:
#   plain      3 recipients pipelined, nobody@ 550          attach   a 3 MB random attachment (*)
#   binary     200 kB Content-Transfer-Encoding: binary     tls      STARTTLS, certificate not checked
#   tlsfail    STARTTLS, TLS 1.3, certificate checked       tlsfail12  the same limited to TLS 1.2
#   pool       pooled transport, 4 messages, one to nobody@ poolidle  the same, Exim's
#              smtp_receive_timeout 4s, a 5th message 6 s later
#   grey       grey@ alone, then grey@ and bob@             utf8     SMTPUTF8 addresses
#   toobig     attach against message_size_limit 1M (*)
# (*) nm-exim-attach and nm-exim-toobig (4.6 MB each) were not copied into the repository.
# Usage: s1-nodemailer-exim.sh [CASE...]   (default: all of them)
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
NS=${NSP}1 A=127.0.1.1 D=$W/exim-s1
setup "$NS" "$A"
EXIM_PID=
trap 'cap_kill_all; [[ -n $EXIM_PID ]] && stop_pid "$EXIM_PID"; ns_cleanup' EXIT
one() { # NAME CASE [extra main line]
  local name=$1 kase=$2
  printf '%s\n' "${3:-}" > "$W/extra.main"
  exim_start "$NS" "$A" 25 "$D" "$W/extra.main" /dev/null || exit 1
  rec_start "$NS" "$name" "$A"
  timeout 60 nsenter --net="/run/netns/$NS" node "$S/nm-client.js" "$kase" "$A" 25 > "$P/$name.client.log" 2>&1
  rec_stop "$NS" "$A" "$name"
  exim_stop; EXIM_PID=
  exim_log "$D" "$name"; cat "$P/$name.client.log" >> "$P/$name.log"
}
cases=${*:-plain attach binary tls tlsfail tlsfail12 pool poolidle grey utf8 toobig}
for c in $cases; do
  case $c in
  poolidle) one "nm-exim-$c" "$c" 'smtp_receive_timeout = 4s' ;;
  toobig) one nm-exim-toobig attach "message_size_limit = 1M" ;;
  plain|attach|binary|tls|tlsfail|tlsfail12|pool|grey|utf8) one "nm-exim-$c" "$c" ;;
  *) echo "unknown case $c" >&2 ;;
  esac
done
