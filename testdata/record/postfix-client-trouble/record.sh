#!/usr/bin/env bash
# Record testdata/pcaps/postfix-client-trouble: real Postfix 3.7 as the SENDING MTA (smtp(8) client)
# delivering to a second real Postfix (smtpd), in two troubles.
#
#   tls:  namespace pfctls, loopback. Receiver smtpd on 127.0.0.71 and 127.0.0.72 with STARTTLS offered
#         (smtpd_tls_security_level=may) but TLS 1.3 only; the sender's smtp(8) speaks TLS <= 1.2 only.
#         .71: sender smtp_tls_security_level=may     (handshake fails, deferred: the mail is new; flushed
#              once more: handshake fails, Postfix retries in plaintext in a new connection, delivered)
#         .72: sender smtp_tls_security_level=encrypt (handshake fails; deferred; flushed once more)
#   pmtu: the four namespaces of testdata/record/pmtu/record.sh (pfcc, pfcr1, pfcr2, pfcs; same addresses,
#         link R1-R2 MTU 1000, ICMP out of R1 toward the sender dropped by cls_bpf). The sender Postfix
#         runs in pfcc (10.7.1.2) with smtp_data_xfer_timeout=20s and smtp_data_done_timeout=20s, the
#         receiver in pfcs (10.7.3.2:25, smtpd_timeout=60s). A ~20 KB message stalls; deferred; flushed once
#         more (two attempts). Captures on c0 (sender side) and r2b (receiver side).
# Usage (root): bash record.sh OUTDIR [tls|pmtu]...   Every wait bounded; stops only its own PIDs;
# removes its namespaces on exit. Logs and configs stay in OUTDIR/work-*.
set -u
OUT=${1:?OUTDIR}; shift; mkdir -p "$OUT"; chmod 755 "$OUT"
PARTS=("$@"); [[ ${#PARTS[@]} -gt 0 ]] || PARTS=(tls pmtu)
PU=$(id -u postfix) PG=$(id -g postfix)
NSS_CREATED=() MASTERS=() TCPD=()
log() { echo "== $(date +%T) $*" >&2; }
nsx() { local n=$1; shift; nsenter --net="/run/netns/$n" "$@"; }

cleanup() {
  local p d i
  for p in "${TCPD[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for d in "${MASTERS[@]}"; do # NS:CONFDIR:PIDFILE
    local ns=${d%%:*} rest=${d#*:}; local conf=${rest%%:*} pf=${rest#*:}
    p=$(tr -dc 0-9 <"$pf" 2>/dev/null)
    nsx "$ns" postfix -c "$conf" stop >/dev/null 2>&1
    for i in $(seq 1 100); do [[ -n $p ]] && kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  for n in "${NSS_CREATED[@]}"; do
    for i in $(seq 1 50); do [[ -z $(ip netns pids "$n" 2>/dev/null) ]] && break; sleep 0.2; done
    ip netns del "$n" 2>/dev/null
  done
}
trap cleanup EXIT

COMMON_MASTER='pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd'

mk_instance() { # DIR ROLE(srv|cli) EXTRA_MAIN
  local d=$1
  mkdir -p "$d/etc" "$d/queue" "$d/data" "$d/log"; chown postfix "$d/data"; chmod 755 "$d"
  if [[ $2 == srv ]]; then
    cat >"$d/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
maillog_file = $d/log/maillog
maillog_file_prefixes = $d/log
myhostname = mx.example.test
mydomain = example.test
myorigin = example.test
mydestination = example.test
local_recipient_maps =
inet_protocols = ipv4
smtpd_banner = \$myhostname ESMTP Postfix
smtpd_peername_lookup = no
disable_dns_lookups = yes
biff = no
alias_maps =
alias_database =
local_transport = discard:
virtual_transport = discard:
relay_transport = discard:
default_transport = discard:
EOF
  else
    cat >"$d/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
maillog_file = $d/log/maillog
maillog_file_prefixes = $d/log
myhostname = client.example.org
mydomain = example.org
myorigin = client.example.org
mydestination =
mynetworks = 127.0.0.1/32
inet_protocols = ipv4
inet_interfaces = 127.0.0.1
disable_dns_lookups = yes
biff = no
alias_maps =
alias_database =
transport_maps = texthash:$d/etc/transport
# bounces and delay notices stay in the client's own queue (no local delivery)
bounce_notice_recipient = postmaster
queue_run_delay = 600s
delay_warning_time = 0
smtp_tls_loglevel = 1
EOF
  fi
  printf '%s\n' "$3" >>"$d/etc/main.cf"
}
pf_start() { # NS DIR
  nsx "$1" postfix -c "$2/etc" start >>"$2/postfix-ctl.log" 2>&1 || { cat "$2/postfix-ctl.log" >&2; return 1; }
  MASTERS+=("$1:$2/etc:$2/queue/pid/master.pid")
  local i; for i in $(seq 1 100); do [[ -s $2/queue/pid/master.pid ]] && break; sleep 0.1; done
}
cap_start() { # NS IFACE PCAP FILTER -> CAP_PID
  rm -f "$3"
  nsenter --net="/run/netns/$1" tcpdump -Z root -i "$2" --immediate-mode -U -w "$3" "$4" 2>"$3.err" &
  CAP_PID=$!; TCPD+=("$CAP_PID")
  local i; for i in $(seq 1 100); do grep -qs "listening on" "$3.err" && break; sleep 0.1; done
  sleep 0.3
}
cap_stop() { # PID
  kill -TERM "$1"; local i
  for i in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  wait "$1" 2>/dev/null
}
count() { grep -cE "$2" "$1" 2>/dev/null || true; }
wait_count() { # FILE PATTERN N SECS
  local i; for i in $(seq 1 $(($4 * 10))); do [[ $(count "$1" "$2") -ge $3 ]] && return 0; sleep 0.1; done
  log "timeout waiting for $3 x /$2/ in $1 (have $(count "$1" "$2"))"; return 1
}
wait_no_conn() { # NS ADDR SECS
  local i; for i in $(seq 1 $(($3 * 10))); do
    [[ -z $(nsx "$1" ss -Htn state all exclude time-wait exclude listening "( src $2 or dst $2 )") ]] && return 0; sleep 0.1; done
  log "connections with $2 still open"; nsx "$1" ss -tnoi >&2; return 1
}
hdr() { printf 'Date: Thu, 01 Jan 2026 00:00:00 +0000\nFrom: sender@client.example.org\nTo: %s\nSubject: %s\nMessage-Id: <%s@client.example.org>\n\n' "$1" "$2" "$3"; }

# ---------------------------------------------------------------- A: TLS that cannot agree
part_tls() {
  local NS=pfctls W=$OUT/work-tls
  ip netns list | grep -qw $NS && { log "namespace $NS exists"; return 1; }
  rm -rf "$W"; mkdir -p "$W"
  ip netns add $NS; NSS_CREATED+=($NS)
  nsx $NS ip link set lo up; nsx $NS ip link set lo mtu 1500; nsx $NS ethtool -K lo tso off gso off gro off >/dev/null 2>&1
  local n; for n in 71 72; do nsx $NS ip addr add 127.0.0.$n/32 dev lo; nsx $NS ip addr add 127.0.1.$n/32 dev lo; done
  mk_instance "$W/srv" srv "mynetworks = 127.0.0.1/32
inet_interfaces = 127.0.0.71 127.0.0.72
smtpd_tls_cert_file = $W/srv/etc/cert.pem
smtpd_tls_key_file = $W/srv/etc/key.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_protocols = >=TLSv1.3
smtpd_tls_mandatory_protocols = >=TLSv1.3"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=mx.example.test" \
    -keyout "$W/srv/etc/key.pem" -out "$W/srv/etc/cert.pem" 2>/dev/null; chmod 600 "$W/srv/etc/key.pem"
  { echo "127.0.0.71:smtp inet n - n - - smtpd"; echo "127.0.0.72:smtp inet n - n - - smtpd"; echo "$COMMON_MASTER"; } >"$W/srv/etc/master.cf"
  # Postfix 3.7 falls back to plaintext after a failed opportunistic handshake only for mail that has
  # waited at least minimal_backoff_time (new mail is deferred first): 2s here, retries forced by postqueue.
  mk_instance "$W/cli" cli "smtp_tls_protocols = <=TLSv1.2
smtp_tls_mandatory_protocols = <=TLSv1.2
minimal_backoff_time = 2s
maximal_backoff_time = 4s"
  printf 'may@example.test smtp71:[127.0.0.71]:25\nencrypt@example.test smtp72:[127.0.0.72]:25\n' >"$W/cli/etc/transport"
  { echo "$COMMON_MASTER"
    echo "smtp71 unix - - n - - smtp -o smtp_bind_address=127.0.1.71 -o smtp_tls_security_level=may"
    echo "smtp72 unix - - n - - smtp -o smtp_bind_address=127.0.1.72 -o smtp_tls_security_level=encrypt"; } >"$W/cli/etc/master.cf"
  postconf -c "$W/srv/etc" -n >/dev/null && postconf -c "$W/cli/etc" -n >/dev/null || return 1
  pf_start $NS "$W/srv" || return 1; pf_start $NS "$W/cli" || return 1
  for _ in $(seq 1 100); do [[ $(nsx $NS ss -Hltn 'sport = :25' | wc -l) -ge 2 ]] && break; sleep 0.1; done
  log "tls: instances up ($(postconf -d -h mail_version))"
  local CL=$W/cli/log/maillog
  # A1: may -> handshake fails, plaintext retry in a new connection
  cap_start $NS lo "$OUT/postfix-client-tls-may.pcap" "tcp and host 127.0.0.71"; local P=$CAP_PID
  { hdr may@example.test "tls may, no common protocol" tlsmay; echo "Opportunistic TLS that cannot agree."; } \
    | nsx $NS sendmail -C "$W/cli/etc" -f sender@client.example.org -i may@example.test
  wait_count "$CL" 'to=<may@example.test>.*status=(sent|deferred|bounced)' 1 60
  wait_no_conn $NS 127.0.0.71 30; sleep 3
  nsx $NS postqueue -c "$W/cli/etc" -f
  wait_count "$CL" 'to=<may@example.test>.*status=(sent|deferred|bounced)' 2 60
  wait_no_conn $NS 127.0.0.71 30; sleep 1; cap_stop $P
  # A2: encrypt -> handshake fails, deferred; flushed once more
  cap_start $NS lo "$OUT/postfix-client-tls-encrypt.pcap" "tcp and host 127.0.0.72"; P=$CAP_PID
  { hdr encrypt@example.test "tls encrypt, no common protocol" tlsenc; echo "Mandatory TLS that cannot agree."; } \
    | nsx $NS sendmail -C "$W/cli/etc" -f sender@client.example.org -i encrypt@example.test
  wait_count "$CL" 'to=<encrypt@example.test>.*status=(sent|deferred|bounced)' 1 60
  wait_no_conn $NS 127.0.0.72 30; sleep 3
  nsx $NS postqueue -c "$W/cli/etc" -f
  wait_count "$CL" 'to=<encrypt@example.test>.*status=(sent|deferred|bounced)' 2 60
  wait_no_conn $NS 127.0.0.72 30; sleep 1; cap_stop $P
  nsx $NS postqueue -c "$W/cli/etc" -p >"$W/cli-queue.txt" 2>&1
  TCPD=()
  sleep 1; cp "$CL" "$W/sender-maillog.txt"; cp "$W/srv/log/maillog" "$W/receiver-maillog.txt"
}

# ---------------------------------------------------------------- B: path-MTU black hole
part_pmtu() {
  local W=$OUT/work-pmtu NSS="pfcc pfcr1 pfcr2 pfcs" n d CLI=10.7.1.2 SRV=10.7.3.2
  for n in $NSS; do ip netns list | grep -qw $n && { log "namespace $n exists"; return 1; }; done
  rm -rf "$W"; mkdir -p "$W"
  for n in $NSS; do ip netns add $n; NSS_CREATED+=($n); nsx $n ip link set lo up; done
  ip link add c0 netns pfcc type veth peer name r1a netns pfcr1
  ip link add r1b netns pfcr1 type veth peer name r2a netns pfcr2
  ip link add r2b netns pfcr2 type veth peer name s0 netns pfcs
  nsx pfcc ip addr add 10.7.1.2/24 dev c0; nsx pfcr1 ip addr add 10.7.1.1/24 dev r1a
  nsx pfcr1 ip addr add 10.7.2.1/24 dev r1b; nsx pfcr2 ip addr add 10.7.2.2/24 dev r2a
  nsx pfcr2 ip addr add 10.7.3.1/24 dev r2b; nsx pfcs ip addr add 10.7.3.2/24 dev s0
  nsx pfcr1 ip link set r1b mtu 1000; nsx pfcr2 ip link set r2a mtu 1000
  for d in pfcc:c0 pfcr1:r1a pfcr1:r1b pfcr2:r2a pfcr2:r2b pfcs:s0; do
    nsx "${d%%:*}" ethtool -K "${d#*:}" tso off gso off gro off tx off rx off >/dev/null 2>&1
    nsx "${d%%:*}" ip link set "${d#*:}" up
  done
  nsx pfcc ip route add default via 10.7.1.1; nsx pfcr1 ip route add 10.7.3.0/24 via 10.7.2.2
  nsx pfcr2 ip route add 10.7.1.0/24 via 10.7.2.1; nsx pfcs ip route add default via 10.7.3.1
  nsx pfcr1 sysctl -qw net.ipv4.ip_forward=1; nsx pfcr2 sysctl -qw net.ipv4.ip_forward=1
  nsx pfcc sysctl -qw net.ipv4.tcp_mtu_probing=0
  nsx pfcr1 tc qdisc add dev r1a clsact || return 1
  nsx pfcr1 tc filter add dev r1a egress prio 1 protocol ip bpf \
    bytecode "6,40 0 0 12,21 0 3 2048,48 0 0 23,21 0 1 1,6 0 0 2,6 0 0 0" da || return 1
  mk_instance "$W/srv" srv "mynetworks = 10.7.1.0/24
inet_interfaces = $SRV"
  { echo "$SRV:smtp inet n - n - - smtpd -o smtpd_timeout=60s"; echo "$COMMON_MASTER"; } >"$W/srv/etc/master.cf"
  mk_instance "$W/cli" cli "minimal_backoff_time = 600s
maximal_backoff_time = 1200s
smtp_tls_security_level = none
smtp_data_xfer_timeout = 20s
smtp_data_done_timeout = 20s"
  sed -i 's/^inet_interfaces = .*/inet_interfaces = loopback-only/' "$W/cli/etc/main.cf"
  printf 'big@example.test smtp:[%s]:25\n' $SRV >"$W/cli/etc/transport"
  echo "$COMMON_MASTER" >"$W/cli/etc/master.cf"
  postconf -c "$W/srv/etc" -n >/dev/null && postconf -c "$W/cli/etc" -n >/dev/null || return 1
  pf_start pfcs "$W/srv" || return 1; pf_start pfcc "$W/cli" || return 1
  for _ in $(seq 1 100); do nsx pfcs ss -Hltn | grep -q "$SRV:25" && break; sleep 0.1; done
  for _ in $(seq 1 20); do
    nsx pfcc timeout 3 bash -c "exec 3<>/dev/tcp/$SRV/25 && head -1 <&3 && printf 'QUIT\r\n' >&3" 2>/dev/null | grep -q '^220 ' && break; sleep 0.5
  done
  log "pmtu: instances up"
  local CL=$W/cli/log/maillog F="ip and ((host $CLI and host $SRV) or icmp)"
  cap_start pfcr2 r2b "$OUT/postfix-client-pmtu-receiver-side.pcap" "$F"; local PS=$CAP_PID
  cap_start pfcc c0 "$OUT/postfix-client-pmtu-sender-side.pcap" "$F"; local PC=$CAP_PID
  { hdr big@example.test "pmtu 20 KB through a black hole" pmtu20k
    for i in $(seq 1 280); do printf 'line %03d: the quick brown fox jumps over the lazy dog 0123456789\n' "$i"; done; } \
    | nsx pfcc sendmail -C "$W/cli/etc" -f sender@client.example.org -i big@example.test
  wait_count "$CL" 'to=<big@example.test>.*status=(sent|deferred|bounced)' 1 90
  wait_no_conn pfcc $SRV 150; sleep 2
  nsx pfcc postqueue -c "$W/cli/etc" -f
  wait_count "$CL" 'to=<big@example.test>.*status=(sent|deferred|bounced)' 2 90
  wait_no_conn pfcc $SRV 150; sleep 2
  cap_stop $PC; cap_stop $PS; TCPD=()
  nsx pfcr1 tc -s qdisc show dev r1a >"$W/r1-clsact.txt" 2>&1
  nsx pfcc nstat -saz IcmpInMsgs TcpRetransSegs TcpExtTCPTimeouts >"$W/sender-nstat.txt" 2>&1
  sleep 1; cp "$CL" "$W/sender-maillog.txt"; cp "$W/srv/log/maillog" "$W/receiver-maillog.txt"
}

for p in "${PARTS[@]}"; do "part_$p" || log "part $p failed"; done
log done
