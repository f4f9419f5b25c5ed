# shellcheck shell=bash
# opensmtpd-sweep lib: shared helpers for the OpenSMTPD / aiosmtpd / Go net/smtp recordings
# (testdata/pcaps/opensmtpd-sweep). Sourced by every sNN_*.sh here (set -u friendly). OpenSMTPD
# 6.8.0p2 and aiosmtpd 1.4.3 run in a Debian bookworm chroot that setup.sh builds, inside a network
# namespace whose loopback has MTU 1500 and TSO/GSO/GRO off; tcpdump listens on that loopback.
# Every wait is bounded; only processes started here are stopped, by PID.
#
#   SWEEP     scratch directory (default /tmp/sw-osmtpd): root/ and root2/ (the chroots), pcaps/
#             (NAME.pcap, NAME.log = the server's log for that capture, NAME.client.txt), out/NAME/
#             (smtpcap and tshark views), run/, split/, exim/ (s05), goclient/goclient
#   ROOT      the chroot (default $SWEEP/root; s01 uses $SWEEP/root2, a copy, to run beside the others)
#   SMTPCAP   the smtpcap binary analyze() runs (default $SWEEP/smtpcap, which setup.sh builds)
#   GOCLIENT  the Go net/smtp client (default $SWEEP/goclient/goclient, which setup.sh builds)
#   NSP       namespace name prefix (default os: the scripts use ${NSP}1 .. ${NSP}5)
#   NO_CHROOT if set, no check for the chroot (reanalyze.sh)
#
# A re-run writes into $SWEEP only; copy a capture into testdata/pcaps/opensmtpd-sweep by hand.
REC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)   # this directory: clients/, goclient/, conf_osd.sh
B=${SWEEP:-/tmp/sw-osmtpd}
PC=$B/pcaps
ROOT=${ROOT:-$B/root}
SMTPCAP=${SMTPCAP:-$B/smtpcap}
GOCLIENT=${GOCLIENT:-$B/goclient/goclient}
NSP=${NSP:-os}
CL=$REC/clients
mkdir -p "$PC" "$B/split" "$B/run"
[ -n "${NO_CHROOT:-}" ] || [ -x "$ROOT/usr/sbin/smtpd" ] || { echo "no OpenSMTPD chroot at $ROOT: run $REC/setup.sh first" >&2; exit 1; }

log() { echo "[$(date +%T)] $*" >&2; }

# ns_up NS ADDR... : fresh namespace (one of ours, ${NSP}N) with lo at mtu 1500, offloads off, extra addresses
ns_up() {
  local ns=$1 a; shift
  ip netns del "$ns" 2>/dev/null || true
  ip netns add "$ns"
  ip netns exec "$ns" ip link set lo mtu 1500
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true
  for a in "$@"; do ip netns exec "$ns" ip addr add "$a/8" dev lo 2>/dev/null || true; done
}
ns_down() { ip netns del "$1" 2>/dev/null || true; }

# chroot_prep: proc, /dev (bind), hosts, mailname, and the aiosmtpd server script at /opt/sw/aiosrv.py
chroot_prep() {
  mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  mountpoint -q "$ROOT/dev" || mount --bind /dev "$ROOT/dev"
  printf '127.0.0.1 localhost\n127.0.0.1 mx.test\n' > "$ROOT/etc/hosts"
  echo mx.test > "$ROOT/etc/mailname"
  install -D -m 644 "$CL/aiosrv.py" "$ROOT/opt/sw/aiosrv.py"
}

# wait_pid PID SECONDS : bounded wait for a child to exit
wait_pid() {
  local p=$1 t=${2:-10} i
  for ((i = 0; i < t * 10; i++)); do kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null; return 0; }; sleep 0.1; done
  return 1
}
# stop_pid PID : SIGTERM, at most 10 s, then SIGKILL; PID leaves STARTED
stop_pid() {
  kill -TERM "$1" 2>/dev/null; wait_pid "$1" 10 || { kill -KILL "$1" 2>/dev/null; wait_pid "$1" 3; }
  STARTED=" $STARTED "; STARTED=${STARTED// $1 / }
}

# cap_start NS NAME FILTER -> sets CAP_PID (tcpdump writing $PC/NAME.pcap)
cap_start() {
  local ns=$1 name=$2 filt=$3 i
  rm -f "$PC/$name.pcap"
  ip netns exec "$ns" tcpdump -i lo --immediate-mode -U -w "$PC/$name.pcap" "$filt" 2>"$B/run/$name.tcpdump.err" &
  CAP_PID=$!; STARTED="$STARTED $CAP_PID"
  for ((i = 0; i < 50; i++)); do grep -q 'listening on' "$B/run/$name.tcpdump.err" 2>/dev/null && break; sleep 0.1; done
}
# cap_stop PID
cap_stop() { sleep 1; stop_pid "$1"; }

# wait_port NS ADDR PORT : bounded wait until something listens
wait_port() {
  local ns=$1 a=$2 p=$3 i
  for ((i = 0; i < 100; i++)); do ip netns exec "$ns" ss -ltnH "src $a:$p or src 0.0.0.0:$p" 2>/dev/null | grep -q . && return 0; sleep 0.1; done
  log "port $a:$p never came up"; return 1
}

# smtpd_start NS NAME CONFTEXT -> SMTPD_PID (smtpd -d in the chroot: ip netns exec and chroot exec,
# so it is smtpd's own PID); log to $PC/NAME.log
smtpd_start() {
  local ns=$1 name=$2 conf=$3
  chroot_prep
  printf '%s\n' "$conf" > "$ROOT/etc/smtpd-$name.conf"
  chmod 644 "$ROOT/etc/smtpd-$name.conf"
  ip netns exec "$ns" chroot "$ROOT" smtpd -d -f "/etc/smtpd-$name.conf" > "$PC/$name.log" 2>&1 &
  SMTPD_PID=$!; STARTED="$STARTED $SMTPD_PID"
}

# on exit (a script stopped or failed early): stop what is still running of what this shell started
# and registered in STARTED (tcpdump, smtpd, and the servers the scripts add)
STARTED=""
stop_started() { local p; for p in $STARTED; do kill -0 "$p" 2>/dev/null && stop_pid "$p"; done; return 0; }
trap stop_started EXIT

# analyze NAME: run every smtpcap command on $PC/NAME.pcap, and tshark, into $B/out/NAME/
analyze() {
  local name=$1 f=$PC/$1.pcap o=$B/out/$1 st
  [ -x "$SMTPCAP" ] || { log "no smtpcap at $SMTPCAP (setup.sh builds it): analyze skipped"; return 0; }
  mkdir -p "$o"; rm -rf "$B/split/$name"
  timeout 60 "$SMTPCAP" analyze "$f" > "$o/analyze.txt" 2>&1; echo "rc=$?" >> "$o/analyze.txt"
  timeout 60 "$SMTPCAP" analyze --format json "$f" > "$o/analyze.json" 2>"$o/analyze.json.err"
  : > "$o/follow.txt"
  for st in $(python3 -c "import json,sys;[print(c['stream']) for c in json.load(open(sys.argv[1]))['connections']]" "$o/analyze.json" 2>/dev/null); do
    { echo "### stream $st"; timeout 60 "$SMTPCAP" follow --stream "$st" "$f" 2>&1; echo "rc=$?"; } >> "$o/follow.txt"
  done
  timeout 60 "$SMTPCAP" streams "$f" > "$o/streams.txt" 2>&1; echo "rc=$?" >> "$o/streams.txt"
  timeout 60 "$SMTPCAP" split -o "$B/split/$name" "$f" > "$o/split.txt" 2>&1; echo "rc=$?" >> "$o/split.txt"
  tshark -r "$f" -T fields -e frame.number -e frame.time_relative -e tcp.stream -e tcp.srcport -e tcp.flags.str -e tcp.len -e smtp.req.command -e smtp.req.parameter -e smtp.response.code -e smtp.rsp.parameter > "$o/tshark.txt" 2>&1
}
