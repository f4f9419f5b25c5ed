# shellcheck shell=bash
# sendmail-sweep lib: shared helpers for the Sendmail recordings (testdata/pcaps/sendmail-sweep).
# Sourced by every sNN-*.sh here. Sendmail 8.17.1.9 (Debian bookworm) runs in a chroot that
# setup.sh builds, inside a network namespace whose loopback has MTU 1500 and TSO/GSO/GRO off;
# tcpdump listens on that loopback. Every wait is bounded; only processes started here are
# stopped, by PID.
#
#   SWEEP    scratch directory (default /tmp/sw-sendmail): root/ (the chroot), pcaps/ (NAME.pcap,
#            NAME.log = Sendmail's syslog with the "<--"/"---" dialogue at LogLevel=15,
#            NAME.client.txt), out/NAME/ (smtpcap and tshark views), run/, split/
#   SMTPCAP  the smtpcap binary views() runs (default $SWEEP/smtpcap, which setup.sh builds)
#   NSP      namespace name prefix (default sm: the scripts use ${NSP}1 .. ${NSP}9)
#
# A re-run writes into $SWEEP only; copy a capture into testdata/pcaps/sendmail-sweep by hand.
set -u
REC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)   # this directory: rawclient.py, pyserver.py
B=${SWEEP:-/tmp/sw-sendmail}
ROOT=$B/root
PC=$B/pcaps
SMTPCAP=${SMTPCAP:-$B/smtpcap}
NSP=${NSP:-sm}
mkdir -p "$PC" "$B/run"
[ -f "$ROOT/usr/share/sendmail/cf/m4/cf.m4" ] || { echo "no Sendmail chroot at $ROOT: run $REC/setup.sh first" >&2; exit 1; }

# wait_gone PID SECONDS: wait until PID (a child of this shell) has exited, at most SECONDS.
wait_gone() {
  local p=$1 t=${2:-10} i
  for ((i = 0; i < t * 10; i++)); do kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null; return 0; }; sleep 0.1; done
  return 1
}
# stop_pid PID...: SIGTERM each, wait at most 10 s, then SIGKILL.
stop_pid() {
  local p
  for p in "$@"; do
    kill -TERM "$p" 2>/dev/null
    wait_gone "$p" 10 || { kill -KILL "$p" 2>/dev/null; wait_gone "$p" 3; }
  done
}

# on exit (a script stopped or failed early), stop what is still running of ours: the sendmail
# daemon, tcpdump and the syslog catcher (each variable is emptied once its process is stopped)
SM_PID=""; CAP_PID=""; SYSLOG_PID=""
stop_ours() { local p; for p in "$SM_PID" "$CAP_PID" "$SYSLOG_PID"; do [ -n "$p" ] && stop_pid "$p"; done; return 0; }
trap stop_ours EXIT

# --- chroot prep (idempotent): /proc, hosts, local-host-names, no DNS, queue owned by root, aliases ---
prep_root() {
  mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  grep -q mx.example.test "$ROOT/etc/hosts" || cat >> "$ROOT/etc/hosts" <<H
127.0.1.1 mx.example.test mx
127.0.2.1 peer.example.test peer
fd00::25 mx6.example.test
H
  echo mx.example.test > "$ROOT/etc/mail/local-host-names"
  cp "$ROOT/etc/mail/service.switch-nodns" "$ROOT/etc/mail/service.switch"
  touch "$ROOT/etc/mail/relay-domains" "$ROOT/etc/mail/trusted-users"
  chown 0:0 "$ROOT/var/spool/mqueue"; chmod 0700 "$ROOT/var/spool/mqueue"
  [ -f "$ROOT/etc/aliases" ] || printf 'postmaster: root\nmailer-daemon: postmaster\nabuse: root\n' > "$ROOT/etc/aliases"
  chown 0:0 "$ROOT/etc/aliases"; [ -f "$ROOT/etc/mail/aliases.db" ] && chown 0:0 "$ROOT/etc/mail/aliases.db"
  return 0
}
# mkaliases CFNAME: rebuild the aliases database with NAME.cf (after mkcf)
mkaliases() { chroot "$ROOT" /usr/sbin/sendmail -bi -C "/etc/mail/$1.cf" >/dev/null 2>&1; }
# mkcf NAME: write /etc/mail/NAME.mc from stdin and build NAME.cf with m4 (in the chroot)
mkcf() {
  cat > "$ROOT/etc/mail/$1.mc"
  chroot "$ROOT" sh -c "m4 /etc/mail/$1.mc > /etc/mail/$1.cf" || { echo "m4 failed"; return 1; }
}
# mkmap NAME: makemap hash /etc/mail/NAME from /etc/mail/NAME (in the chroot)
mkmap() {
  rm -f "$ROOT/etc/mail/$1.db"
  chroot "$ROOT" makemap hash "/etc/mail/$1" < "$ROOT/etc/mail/$1"
  chown 0:0 "$ROOT/etc/mail/$1.db"; chmod 644 "$ROOT/etc/mail/$1.db"
}
mc_head() { cat <<M
divert(-1)dnl
divert(0)dnl
define(\`_USE_ETC_MAIL_')dnl
include(\`/usr/share/sendmail/cf/m4/cf.m4')dnl
OSTYPE(\`debian')dnl
undefine(\`confHOST_STATUS_DIRECTORY')dnl
define(\`confDOMAIN_NAME', \`mx.example.test')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confSERVICE_SWITCH_FILE', \`/etc/mail/service.switch-nodns')dnl
define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl
define(\`confDELIVERY_MODE', \`q')dnl
define(\`confTO_IDENT', \`0s')dnl
define(\`confDONT_BLAME_SENDMAIL', \`GroupWritableDirPathSafe')dnl
FEATURE(\`use_cw_file')dnl
LOCAL_DOMAIN(\`mx.example.test')dnl
M
}
mc_tail() { cat <<M
MAILER_DEFINITIONS
MAILER(\`local')dnl
MAILER(\`smtp')dnl
M
}
# self-signed certificate for the STARTTLS scenarios (s07, s11), made once
mkcert() {
  mkdir -p "$ROOT/etc/mail/tls"
  [ -f "$ROOT/etc/mail/tls/sm.key" ] || chroot "$ROOT" openssl req -x509 -newkey rsa:2048 -nodes -keyout /etc/mail/tls/sm.key -out /etc/mail/tls/sm.crt -days 30 -subj /CN=mx.example.test >/dev/null 2>&1
  chown -R 0:0 "$ROOT/etc/mail/tls"; chmod 600 "$ROOT/etc/mail/tls/sm.key"; chmod 755 "$ROOT/etc/mail/tls"
}

# --- namespace ---
# ns_up NS ADDR...: a fresh namespace NS (one of ours, ${NSP}N), lo up at MTU 1500, offloads off,
# IPv4 addresses as /8, IPv6 as /128
ns_up() {
  local ns=$1 a; shift
  ip netns del "$ns" 2>/dev/null
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" link set lo mtu 1500
  ip netns exec "$ns" ethtool -K lo tso off gso off gro off >/dev/null 2>&1
  for a in "$@"; do
    case $a in *:*) ip -n "$ns" addr add "$a/128" dev lo nodad;; *) ip -n "$ns" addr add "$a/8" dev lo 2>/dev/null;; esac
  done
}
ns_down() { ip netns del "$1" 2>/dev/null; }

# --- syslog catcher on the chroot's /dev/log (sets SYSLOG_PID; it gives up by itself after 900 s) ---
syslog_start() { # syslog_start LOGFILE
  rm -f "$ROOT/dev/log"
  python3 -u - "$ROOT/dev/log" "$1" > /dev/null 2>&1 <<'P' &
import socket,sys,os,time
s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); s.bind(sys.argv[1]); os.chmod(sys.argv[1],0o666)
s.settimeout(1.0)
f=open(sys.argv[2],'a')
end=time.time()+900
while time.time()<end:
    try: d=s.recv(65535)
    except socket.timeout: continue
    f.write(time.strftime('%H:%M:%S ')+d.decode('utf-8','replace').rstrip('\x00\n')+'\n'); f.flush()
P
  SYSLOG_PID=$!
  local i; for ((i = 0; i < 50; i++)); do [ -S "$ROOT/dev/log" ] && break; sleep 0.1; done
}
syslog_stop() { sleep 0.5; stop_pid "$SYSLOG_PID"; SYSLOG_PID=""; rm -f "$ROOT/dev/log"; }

# --- sendmail daemon in the chroot, in the namespace (sets SM_PID: ip netns exec and chroot exec,
# so it is the daemon's own PID) ---
sm_start() { # sm_start NS CFNAME ADDR PORT [extra sendmail args...]
  local ns=$1 cf=$2 addr=$3 port=$4 i; shift 4
  rm -f "$ROOT"/var/spool/mqueue/* 2>/dev/null
  ip netns exec "$ns" chroot "$ROOT" /usr/sbin/sendmail -bD -C "/etc/mail/$cf.cf" -O LogLevel=15 "$@" >> "$B/run/sm-$cf.out" 2>&1 &
  SM_PID=$!
  for ((i = 0; i < 50; i++)); do
    ip netns exec "$ns" ss -ltnH | grep -q -- "$addr\]*:$port " && return 0; sleep 0.2; done
  echo "sendmail did not listen"; cat "$B/run/sm-$cf.out"; sm_stop; return 1
}
sm_stop() { stop_pid "$SM_PID"; SM_PID=""; }

# --- tcpdump on the namespace's loopback (sets CAP_PID) ---
cap_start() { # cap_start NS FILTER OUTFILE
  ip netns exec "$1" tcpdump -i lo --immediate-mode -U -w "$3" "$2" > "$B/run/tcpdump.out" 2>&1 &
  CAP_PID=$!
  local i; for ((i = 0; i < 30; i++)); do grep -q listening "$B/run/tcpdump.out" && break; sleep 0.1; done
  sleep 0.3
}
cap_stop() { sleep 1; stop_pid "$CAP_PID"; CAP_PID=""; }

# --- views NAME: every smtpcap view of pcaps/NAME.pcap, and tshark's, into out/NAME/ ---
views() {
  local n=$1 f=$PC/$1.pcap o=$B/out/$1 nst i; mkdir -p "$o"
  [ -x "$SMTPCAP" ] || { echo "no smtpcap at $SMTPCAP (setup.sh builds it): views skipped" >&2; return 0; }
  timeout 60 "$SMTPCAP" analyze "$f" > "$o/analyze.txt" 2>&1; echo "rc=$?" >> "$o/analyze.txt"
  timeout 60 "$SMTPCAP" analyze --format json "$f" > "$o/analyze.json" 2>&1
  nst=$(python3 -c 'import json,sys;print(len(json.load(open(sys.argv[1])).get("connections") or []))' "$o/analyze.json" 2>/dev/null || echo 1)
  : > "$o/follow.txt"
  for ((i = 0; i < (nst > 0 ? nst : 1); i++)); do
    { echo "## stream $i"; timeout 60 "$SMTPCAP" follow --stream "$i" "$f" 2>&1; echo "rc=$?"; } >> "$o/follow.txt"
  done
  timeout 60 "$SMTPCAP" streams "$f" > "$o/streams.txt" 2>&1; echo "rc=$?" >> "$o/streams.txt"
  rm -rf "$B/split/$n"; timeout 60 "$SMTPCAP" split -o "$B/split/$n" "$f" > "$o/split.txt" 2>&1; echo "rc=$?" >> "$o/split.txt"
  tshark -r "$f" -T fields -e frame.number -e frame.time_relative -e tcp.stream -e tcp.srcport -e tcp.flags.str -e tcp.len -e smtp.req.command -e smtp.req.parameter -e smtp.response.code -e smtp.rsp.parameter > "$o/tshark.txt" 2>/dev/null
}
