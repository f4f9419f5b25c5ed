#!/bin/bash
# s1: nodemailer client -> Exim 4.96 server in namespace nd1 (127.0.1.1:25)
. /tmp/sw-node/scripts/lib.sh
NS=nd1 A=127.0.1.1 D=$W/exim-s1
setup $NS $A
trap 'cap_kill_all; [[ -n ${EXIM_PID:-} ]] && stop_pid $EXIM_PID' EXIT
: > $D.main; : > $D.acls
one() { # NAME CASE [extra main line]
  local name=$1 kase=$2
  printf '%s\n' "${3:-}" > $W/extra.main
  exim_start $NS $A 25 $D $W/extra.main /dev/null || exit 1
  rec_start $NS $name $A
  timeout 60 nsenter --net=/run/netns/$NS node $S/nm-client.js $kase $A 25 > $P/$name.client.log 2>&1
  rec_stop $NS $A $name
  exim_stop; EXIM_PID=
  exim_log $D $name; cat $P/$name.client.log >> $P/$name.log
}
cases=${*:-plain attach binary tls tlsfail pool poolidle grey}
for c in $cases; do
  case $c in
  poolidle) one nm-exim-$c $c 'smtp_receive_timeout = 4s' ;;
  toobig) one nm-exim-toobig attach "message_size_limit = 1M" ;;
  *) one nm-exim-$c $c ;;
  esac
done
