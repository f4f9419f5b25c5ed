# lib.sh: what the sweep20 recordings share (Exim 4.96 in a network namespace of its own)
set -u
# B: this directory (scripts, the TLS key). W: the work directory, one
# subdirectory per scenario (logs, transcripts, reports); the capture is
# copied to testdata/pcaps/sweep20/NAME.pcap at the end.
B=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
W=${W:-/tmp/sweep20}
OUT=$B/../../pcaps/sweep20
. $B/../lib/ns.sh; . $B/../lib/capture.sh; . $B/../lib/exim.sh
SMTPCAP=${SMTPCAP:-smtpcap}
# sc_begin NAME N : dirs, namespace sw20-N, server SADDR=127.0.20.N, client CADDR=127.0.21.N
sc_begin() {
  NAME=$1; N=$2; D=$W/$NAME; NS=sw20-$N; SADDR=127.0.20.$N; CADDR=127.0.21.$N
  rm -rf "$D"; mkdir -p "$D/srv"; exim_workdir "$D/srv"
  ns_ready "$NS" "$SADDR" "$CADDR"
  nsenter --net=/run/netns/$NS ip link set lo up
}
# sc_server MAINFILE ACLFILE [ADDR]
sc_server() {
  local addr=${3:-$SADDR}
  exim_conf_server "$D/srv" "$addr" "$1" "$2" /dev/null > "$D/srv/server.conf"
  exim_check_conf "$D/srv/server.conf" || return 1
  exim_daemon_start "$NS" "$D/srv/server.conf" "$addr" 25
  SRV_PID=$EXIM_PID
}
sc_cap() { cap_start "$NS" lo "$D/$NAME.pcap" "tcp and (host $SADDR or host ${1:-$SADDR})"; CPID=$CAP_PID; }
nsx() { nsenter --net=/run/netns/$NS "$@"; }
sc_end() {
  ns_wait_closed "$NS" "$SADDR"; sleep 1
  cap_stop "$CPID" "$D/$NAME.pcap"
  [ -n "${SRV_PID:-}" ] && stop_pid "$SRV_PID"; SRV_PID=
  cp "$D/srv/log/mainlog" "$D/server-mainlog.txt" 2>/dev/null; cp "$D/srv/log/rejectlog" "$D/server-rejectlog.txt" 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  cp "$D/$NAME.pcap" "$OUT/$NAME.pcap"
  sc_report
}
sc_report() {
  local p=$D/$NAME.pcap
  timeout 60 $SMTPCAP analyze --format markdown "$p" > "$D/report.md" 2> "$D/report.err"; echo "analyze rc=$?" >> "$D/report.err"
  timeout 60 $SMTPCAP analyze --format json "$p" > "$D/report.json" 2>>"$D/report.err"
  timeout 60 $SMTPCAP streams "$p" > "$D/streams.txt" 2>&1
  tshark -r "$p" -T fields -e frame.number -e frame.time_relative -e tcp.stream -e tcp.flags.str -e tcp.len -e smtp.req.command -e smtp.req.parameter -e smtp.response.code -e smtp.rsp.parameter > "$D/oracle.tsv" 2>/dev/null
}
