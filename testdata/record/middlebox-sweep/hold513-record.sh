#!/bin/bash
# client 127.0.1.58/59 -> middlebox 127.0.0.42:25 -> (from 127.0.1.42) Postfix 127.0.0.31:25
set -u; source /tmp/msweep/lib.sh; pf_up; D=/tmp/msweep/hold513
one() { # NAME SRC TOTAL
  local name=$1 P=$D/$1.pcap
  cap_start $P; mlog_mark
  proxy_start $D/$name.proxy.log $B/hold513proxy.py 127.0.0.42 25 127.0.1.42 127.0.0.31 25
  nsenter --net=/run/netns/$NS timeout 90 python3 $B/clients.py envelope $2 127.0.0.42 25 $3 >$D/$name.client.log 2>&1; echo "client rc=$?" >>$D/$name.client.log
  cap_stop '127.0.0.42:25|127.0.0.31:25' $P
  proxy_stop; mlog_save $D/$name.maillog; oracle $P; report $P; echo "== $name" >&2
}
[[ $# -eq 0 || " $* " == *" 513 "* ]] && one hold513-513 127.0.1.58 513
[[ $# -eq 0 || " $* " == *" 512 "* ]] && one hold513-512 127.0.1.59 512
exit 0
