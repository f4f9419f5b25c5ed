# shared helpers for smtpcap sendmail recordings. source me.
set -u
B=/tmp/sw-sendmail
ROOT=$B/root
PC=$B/pcaps
mkdir -p $PC $B/run
# --- chroot prep (idempotent) ---
prep_root() {
  mountpoint -q $ROOT/proc || mount -t proc proc $ROOT/proc
  grep -q mx.example.test $ROOT/etc/hosts || cat >> $ROOT/etc/hosts <<H
127.0.1.1 mx.example.test mx
127.0.2.1 peer.example.test peer
fd00::25 mx6.example.test
H
  echo mx.example.test > $ROOT/etc/mail/local-host-names
  cp $ROOT/etc/mail/service.switch-nodns $ROOT/etc/mail/service.switch
  touch $ROOT/etc/mail/relay-domains $ROOT/etc/mail/trusted-users
  chown 0:0 $ROOT/var/spool/mqueue; chmod 0700 $ROOT/var/spool/mqueue
  [ -f $ROOT/etc/aliases ] || printf 'postmaster: root\nmailer-daemon: postmaster\nabuse: root\n' > $ROOT/etc/aliases
  chown 0:0 $ROOT/etc/aliases $ROOT/etc/mail/aliases.db
}
# after mkcf: rebuild aliases
mkaliases() { chroot $ROOT /usr/sbin/sendmail -bi -C /etc/mail/$1.cf >/dev/null 2>&1; }
# --- build NAME.cf from mc text on stdin ---
mkcf() { # mkcf NAME  (mc on stdin)
  cat > $ROOT/etc/mail/$1.mc
  chroot $ROOT sh -c "m4 /etc/mail/$1.mc > /etc/mail/$1.cf" || { echo "m4 failed"; return 1; }
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
# --- namespace ---
ns_up() { # ns_up NS ADDR... (v4 /8 on lo or v6)
  local ns=$1; shift
  ip netns del $ns 2>/dev/null
  ip netns add $ns
  ip -n $ns link set lo up
  ip -n $ns link set lo mtu 1500
  ip netns exec $ns ethtool -K lo tso off gso off gro off >/dev/null 2>&1
  for a in "$@"; do
    case $a in *:*) ip -n $ns addr add $a/128 dev lo nodad;; *) ip -n $ns addr add $a/8 dev lo 2>/dev/null;; esac
  done
}
ns_down() { ip netns del $1 2>/dev/null; }
# --- syslog catcher on chroot /dev/log ---
syslog_start() { # syslog_start LOGFILE
  rm -f $ROOT/dev/log
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
  local i; for i in $(seq 1 50); do [ -S $ROOT/dev/log ] && break; sleep 0.1; done
}
syslog_stop() { sleep 0.5; kill -TERM $SYSLOG_PID 2>/dev/null; wait $SYSLOG_PID 2>/dev/null; rm -f $ROOT/dev/log; }
# --- sendmail daemon in chroot in namespace ---
sm_start() { # sm_start NS CFNAME ADDR PORT [extra sendmail args...]
  local ns=$1 cf=$2 addr=$3 port=$4; shift 4
  rm -f $ROOT/var/spool/mqueue/* 2>/dev/null
  ip netns exec $ns chroot $ROOT /usr/sbin/sendmail -bD -C /etc/mail/$cf.cf -O LogLevel=15 "$@" >> $B/run/sm-$cf.out 2>&1 &
  SM_PID=$!
  local i; for i in $(seq 1 50); do
    ip netns exec $ns ss -ltnH | grep -q -- "$addr\]*:$port " && return 0; sleep 0.2; done
  echo "sendmail did not listen"; cat $B/run/sm-$cf.out; return 1
}
sm_stop() { kill -TERM $SM_PID 2>/dev/null; local i; for i in $(seq 1 30); do kill -0 $SM_PID 2>/dev/null || break; sleep 0.2; done; kill -KILL $SM_PID 2>/dev/null; wait $SM_PID 2>/dev/null; }
# --- tcpdump ---
cap_start() { # cap_start NS FILTER OUTFILE
  ip netns exec $1 tcpdump -i lo --immediate-mode -U -w "$3" "$2" > $B/run/tcpdump.out 2>&1 &
  CAP_PID=$!
  local i; for i in $(seq 1 30); do grep -q listening $B/run/tcpdump.out && break; sleep 0.1; done
  sleep 0.3
}
cap_stop() { sleep 1; kill -TERM $CAP_PID 2>/dev/null; wait $CAP_PID 2>/dev/null; }
# --- run all smtpcap views ---
views() { # views NAME
  local n=$1 f=$PC/$1.pcap o=$B/out/$1; mkdir -p $o
  $B/smtpcap analyze $f > $o/analyze.txt 2>&1; echo "rc=$?" >> $o/analyze.txt
  $B/smtpcap analyze --format json $f > $o/analyze.json 2>&1
  local nst=$(python3 -c 'import json,sys;print(len(json.load(open(sys.argv[1])).get("connections") or []))' $o/analyze.json 2>/dev/null || echo 1)
  : > $o/follow.txt; local i; for i in $(seq 0 $((nst>0?nst-1:0))); do echo "## stream $i" >> $o/follow.txt; $B/smtpcap follow --stream $i $f >> $o/follow.txt 2>&1; echo "rc=$?" >> $o/follow.txt; done
  $B/smtpcap streams $f > $o/streams.txt 2>&1; echo "rc=$?" >> $o/streams.txt
  rm -rf $B/split/$n; $B/smtpcap split -o $B/split/$n $f > $o/split.txt 2>&1; echo "rc=$?" >> $o/split.txt
  tshark -r $f -T fields -e frame.number -e frame.time_relative -e tcp.stream -e tcp.srcport -e tcp.flags.str -e tcp.len -e smtp.req.command -e smtp.req.parameter -e smtp.response.code -e smtp.rsp.parameter > $o/tshark.txt 2>/dev/null
}
