#!/bin/bash
NAME=s1-kill; FILTER="tcp and host 127.0.0.61"; CLIREGEX="127\.0\.1\.61"
waitlog() { for _ in $(seq 1 100); do grep -qs SENT-HALF "$1" && return 0; sleep 0.1; done; return 1; }
scenario() {
  S=127.0.0.61 C=127.0.1.61
  nsenter --net=/run/netns/psweep python3 $B/run.py s1_client_kill $S $C 2> $D/client0.log &
  CP=$!; waitlog $D/client0.log && sleep 1; [[ $(cat /proc/$CP/comm) == python3 ]] && kill -9 $CP; wait $CP; echo "client killed rc=$?" >> $D/client0.log
  sleep 2
  nsenter --net=/run/netns/psweep python3 $B/run.py s1_server_kill $S $C 2> $D/client1.log &
  CP=$!; waitlog $D/client1.log && sleep 1
  SP=$(nsx ss -Htnp state established "( sport = :25 )" dst $C | grep -o 'smtpd",pid=[0-9]*' | grep -o '[0-9]*$' | head -1)
  echo "smtpd of session: $SP" >> $D/kill.log
  [[ -n $SP && $(cat /proc/$SP/comm) == smtpd ]] && kill -9 $SP && echo "killed $SP" >> $D/kill.log
  for _ in $(seq 1 150); do kill -0 $CP 2>/dev/null || break; sleep 0.1; done; kill -0 $CP 2>/dev/null && kill $CP; wait $CP
}
source /tmp/psweep/common.sh
