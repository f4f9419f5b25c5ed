#!/bin/bash
# record.sh: captures of a server that stops reading in the middle of DATA, for the window-closed
# finding (testdata/pcaps/zerowindow). A real Exim 4.96 client sends a real Exim 4.96 server a
# ~400 KB message through the namespace's loopback, slowed to 4 Mbit/s with a tbf qdisc (the
# kernels here have no sch_netem) so that the transfer lasts long enough to stop the server in the
# middle of it. Stopping the server's receiving process (SIGSTOP) is what a hung content scanner,
# a full disk or a swapped-out host look like on the wire: the server's receive buffer fills, it
# advertises a zero TCP window, and the client can only probe.
#
#   paused-resumed.pcap      the server is stopped for 6 s once 100 KB have arrived, then
#                            continued: the window opens again and the message is accepted.
#   paused-killed.pcap       the server stays stopped for 20 s (the Exim client, sending BDAT, waits
#                            on), then the stopped process is killed, as a watchdog would: its
#                            kernel resets the connection and the message is lost.
#   paused-data-30s.pcap     the client sends with DATA; the server is stopped for 30 s, then
#                            continued, and the message is accepted. (The client's data_timeout is
#                            5 s, yet Exim 4.96 waits on: a write blocked on a closed window, the
#                            probes answered, is not a timeout to it.)
#   paused-client-aborts.pcap  abort_client.py (Python's smtplib, 5 s timeout) sends instead; the
#                            server stays stopped until the client has given up and reset the
#                            connection, then is continued.
#   deaf-client.pcap         deaf_client.py pipelines 20000 RCPTs without reading a reply: the
#                            client's window closes, then the server's (RFC 2920's deadlock); the
#                            client gives up after 10 s.
#   clean-big.pcap           the same message with DATA and no pause: flow control closes nothing
#                            for long.
#
# Run as root from anywhere: testdata/record/zerowindow/record.sh [SCRATCH_DIR [deaf]] ("deaf": only
# deaf-client.pcap). Captures land in
# SCRATCH_DIR/caps (default /tmp/zw/caps); copy them into testdata/pcaps/zerowindow by hand. Every
# wait is bounded; only the processes started here are stopped, by PID.
set -u
NS=zw1
B=${1:-/tmp/zw}
S=127.0.0.61 # the server
C=127.0.1.61 # the client
REC=$(cd "$(dirname "$0")" && pwd)
LIB=$REC/../lib
# shellcheck source=../lib/ns.sh
source "$LIB/ns.sh"
# shellcheck source=../lib/exim.sh
source "$LIB/exim.sh"
# shellcheck source=../lib/capture.sh
source "$LIB/capture.sh"
nsx() { nsenter --net="/run/netns/$NS" "$@"; }
trap 'cap_kill_all' EXIT

mkdir -p "$B/caps"
chmod 755 "$B"
ns_ready "$NS" $S $C
nsx tc qdisc replace dev lo root tbf rate 4mbit burst 16kb latency 400ms
# A small receive buffer, so the window closes soon after the server stops reading.
nsx sysctl -qw net.ipv4.tcp_rmem="4096 32768 65536"

# The server: accepts mail for example.test into an mbox.
D=$B/server
rm -rf "$D"; mkdir -p "$D"; exim_workdir "$D"
printf 'tls_advertise_hosts =\n' >"$D/main"
exim_conf_server "$D" $S "$D/main" /dev/null /dev/null >"$D/exim.conf"
exim_check_conf "$D/exim.conf" || exit 1

# mkclient NAME OPTIONS: an Exim client that sends example.test's mail to the server, with the smtp
# transport OPTIONS (one "name = value" a line).
mkclient() {
  local cd=$B/client-$1
  rm -rf "$cd"; mkdir -p "$cd"; exim_workdir "$cd"; chown Debian-exim:Debian-exim "$cd"
  exim_conf_client "$cd" $C "route_list = * $S" $C "$2" >"$cd/client.conf"
  exim_check_conf "$cd/client.conf" || exit 1
}

# The message: ~400 KB of text.
python3 -c "
print('Subject: a large report\nMessage-Id: <zw-report@example.org>\n')
for i in range(5000):
    print('report line %05d: the quick brown fox jumps over the lazy dog 0123456789' % i)" >"$B/big.msg"

# server_child: the PID of the server process holding the established connection from the client.
server_child() {
  nsx ss -Htnp state established "( sport = :25 )" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1
}
# received: the bytes the server's socket has taken in so far (0 if there is none yet).
received() {
  local n
  n=$(nsx ss -Htni state established "( sport = :25 )" | sed -n 's/.*bytes_received:\([0-9]*\).*/\1/p' | head -1)
  echo "${n:-0}"
}

# record NAME PAUSE: NAME.pcap of one delivery; PAUSE is "none", a number of seconds to keep the
# server stopped, "kill" (stopped 20 s, then killed) or "abort" (abort_client.py sends instead of
# Exim; the server stays stopped until it has given up, then is continued).
record() {
  local name=$1 pause=$2 cd=$B/client-$1 pcap=$B/caps/$1.pcap
  exim_daemon_start "$NS" "$D/exim.conf" $S 25 -oX 25
  local srv=$EXIM_PID
  tcpdump_start "$NS" "$pcap" "tcp and host $S" -i lo --immediate-mode -U -s 0
  local qrun
  if [[ $pause == abort ]]; then
    mkdir -p "$cd"
    nsx python3 "$REC/abort_client.py" $S $C "$B/big.msg" >"$cd/qrun.log" 2>&1 &
    qrun=$!
  else
    exim -C "$cd/client.conf" -odq -f reports@example.org user@example.test <"$B/big.msg"
    nsx exim -C "$cd/client.conf" -qqff -v >"$cd/qrun.log" 2>&1 &
    qrun=$!
  fi
  if [[ $pause != none ]]; then
    local child="" i
    for i in $(seq 1 1000); do # 20 s at most
      child=$(server_child)
      [[ -n $child && $(received) -gt 100000 ]] && break
      sleep 0.02
    done
    [[ -n $child ]] || { echo "no server child" >&2; return 1; }
    kill -STOP "$child"
    echo "$name: stopped server child $child after $(received) bytes" >&2
    if [[ $pause == kill ]]; then
      sleep 20
      kill -KILL "$child"
    elif [[ $pause == abort ]]; then
      for i in $(seq 1 300); do kill -0 $qrun 2>/dev/null || break; sleep 0.1; done # the client gives up
      sleep 1
      kill -CONT "$child"
    else
      sleep "$pause"
      kill -CONT "$child"
    fi
  fi
  for i in $(seq 1 600); do kill -0 $qrun 2>/dev/null || break; sleep 0.1; done
  ns_wait_closed "$NS" $S
  sleep 1
  tcpdump_stop "$CAP_PID" "$pcap"
  stop_pid "$srv"
  grep -hs "=>\|==\|\*\*\|timeout" "$cd/log/mainlog" >&2 || grep -hs "gave up" "$cd/qrun.log" >&2 || true
}

# record_deaf: deaf-client.pcap, deaf_client.py pipelining 20000 RCPTs without reading, with
# send buffers as small as the receive buffers (so the server's replies back up soon).
record_deaf() {
  local pcap=$B/caps/deaf-client.pcap
  nsx sysctl -qw net.ipv4.tcp_wmem="4096 16384 16384"
  exim_daemon_start "$NS" "$D/exim.conf" $S 25 -oX 25
  local srv=$EXIM_PID
  tcpdump_start "$NS" "$pcap" "tcp and host $S" -i lo --immediate-mode -U -s 0
  nsx python3 "$REC/deaf_client.py" $S $C 20000 >&2
  ns_wait_closed "$NS" $S
  sleep 1
  tcpdump_stop "$CAP_PID" "$pcap"
  stop_pid "$srv"
  nsx sysctl -qw net.ipv4.tcp_wmem="4096 16384 4194304"
}

if [[ $# -gt 1 && $2 == deaf ]]; then
  record_deaf
  exit
fi
mkclient paused-resumed "data_timeout = 30s"
record paused-resumed 6
mkclient paused-killed "data_timeout = 30s"
record paused-killed kill
mkclient paused-data-30s "hosts_try_chunking =
data_timeout = 5s"
record paused-data-30s 30
record paused-client-aborts abort
mkclient clean-big "hosts_try_chunking =
data_timeout = 30s"
record clean-big none
record_deaf
