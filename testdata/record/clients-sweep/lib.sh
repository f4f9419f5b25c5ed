# shellcheck shell=bash
# clients-sweep lib: namespace sw12 only, Exim 4.96 server, tcpdump. Bounded waits, stop by PID.
# Sources ../lib/ns.sh, ../lib/exim.sh and ../lib/capture.sh; sourced by run1.sh and batch2.sh here.
NS=sw12; B=${SWEEP:-/tmp/clients-sweep}; W=$B/w; SRV=127.0.0.12; CLI=127.0.1.12
REC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIB=$REC/../lib
# shellcheck source=../lib/ns.sh
source "$LIB/ns.sh"
# shellcheck source=../lib/exim.sh
source "$LIB/exim.sh"
# shellcheck source=../lib/capture.sh
source "$LIB/capture.sh"
nsx() { ip netns exec $NS "$@"; }
ns_up() {
  ns_ready "$NS" "$SRV" "$CLI"
}
# exim_setup: $W/exim.conf, an Exim on SRV ports 25, 465 (TLS on connect) and 587 with
# PIPELINING, CHUNKING, STARTTLS, 8BITMIME, SMTPUTF8 and SIZE (SIZELIMIT, default 10M), the RCPT ACL
# of lib/exim.sh, every accepted message thrown away.
exim_setup() {
  exim_workdir $W
  [ -f $W/cert.pem ] || openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=mx.example.test -keyout $W/key.pem -out $W/cert.pem 2>/dev/null
  chmod 644 $W/key.pem $W/cert.pem
  { exim_conf_head $W "$SRV.25 ; $SRV.465 ; $SRV.587" mx.example.test example.test
    cat <<EOC
daemon_smtp_ports = 25 : 465 : 587
tls_on_connect_ports = 465
smtp_banner = \$smtp_active_hostname ESMTP Exim \$version_number
message_size_limit = ${SIZELIMIT:-10M}
accept_8bitmime = true
pipelining_advertise_hosts = *
pipelining_connect_advertise_hosts =
chunking_advertise_hosts = *
smtputf8_advertise_hosts = *
prdr_enable = false
smtp_receive_timeout = 30s
log_selector = +smtp_connection +smtp_protocol_error +smtp_syntax_error +tls_cipher +smtp_incomplete_transaction +received_recipients +incoming_port +pipelining
tls_advertise_hosts = *
tls_certificate = $W/cert.pem
tls_privatekey = $W/key.pem
acl_smtp_rcpt = acl_check_rcpt
begin acl
EOC
    exim_conf_rcpt_acl
    cat <<EOC
begin routers
sink:
  driver = redirect
  domains = example.test
  data = :blackhole:
begin transports
EOC
  } > $W/exim.conf
  exim -C $W/exim.conf -bV >/dev/null || { echo exim conf bad; return 1; }
}
exim_start() { exim_daemon_start "$NS" $W/exim.conf $SRV 25; }
# cap_start PCAP TCPDUMP_OPTION... FILTER: lib/capture.sh's tcpdump_start in the namespace.
cap_start() { local p=$1; shift; tcpdump_start "$NS" "$p" "${@: -1}" "${@:1:$#-1}"; }
# cap_stop PCAP: once the connections to SRV have closed, lib/capture.sh's tcpdump_stop.
cap_stop() { ns_wait_closed "$NS" "$SRV"; sleep 1; tcpdump_stop "$CAP_PID" "$1"; }
report() { local p=$1
  ( time $B/smtpcap analyze "$p" ) > "$p.analyze.txt" 2>&1; echo "rc=$?" >> "$p.analyze.txt"
  $B/smtpcap analyze --format json "$p" > "$p.analyze.json" 2>&1
  $B/smtpcap streams "$p" > "$p.streams.txt" 2>&1
  tshark -r "$p" -T fields -e frame.number -e tcp.stream -e tcp.len -e smtp.req.command -e smtp.response.code -e tcp.analysis.retransmission -e tcp.analysis.out_of_order -e tcp.flags.str > "$p.oracle.txt" 2>/dev/null
  for s in $(cut -f2 "$p.oracle.txt" | sort -un | head -20); do timeout 60 $B/smtpcap follow -s $s "$p" > "$p.follow$s.txt" 2>&1; done; }
