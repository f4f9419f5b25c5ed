# shellcheck shell=bash
# node-sweep lib: shared helpers for the Node.js recordings (testdata/pcaps/node-sweep), sourced by
# s1-nodemailer-exim.sh, s2-smtp-server.sh and s3-haraka.sh. It sources the repository's shared
# ../lib/ns.sh (namespace, stop_pid), ../lib/capture.sh (tcpdump by PID) and ../lib/exim.sh (Exim 4.96
# from a private directory); the copies the sweep was first recorded with were the same files.
# Every wait is bounded; only processes started here are stopped, by PID.
#
#   SWEEP    scratch directory (default /tmp/sw-node); setup.sh fills it: node_modules/ (haraka
#            3.3.4, smtp-server 3.21.6, nodemailer 10.6.1), big.bin, small.bin, smtpcap. The scripts
#            write pcaps/NAME.pcap, pcaps/NAME.log (the server's log, with Exim's and the client's
#            appended) and pcaps/NAME.client.log, and use certs/, exim-s1/, exim-s3/, haraka/.
#   NSP      namespace name prefix (default nd: s1 uses ${NSP}1, s2 ${NSP}2, s3 ${NSP}3); a
#            namespace a script creates is deleted when it ends.
#   SMTPCAP  the smtpcap binary analyze.sh runs (default $SWEEP/smtpcap, which setup.sh builds)
#
# A re-run writes into $SWEEP only; copy a capture into testdata/pcaps/node-sweep by hand.
set -u
REC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)   # this directory: nm-client.js, ss-server.js, raw-client.py
W=${SWEEP:-/tmp/sw-node}
# shellcheck disable=SC2034 # S and SMTPCAP are for the scripts that source this
S=$REC
P=$W/pcaps
NSP=${NSP:-nd}
# shellcheck disable=SC2034
SMTPCAP=${SMTPCAP:-$W/smtpcap}
export SWEEP=$W
# the .js files live here, their modules in $W: let require() find them there
export NODE_PATH=$W/node_modules
# shellcheck source=../lib/ns.sh
. "$REC/../lib/ns.sh"
# shellcheck source=../lib/capture.sh
. "$REC/../lib/capture.sh"
# shellcheck source=../lib/exim.sh
. "$REC/../lib/exim.sh"
[[ -d $W/node_modules/smtp-server && -d $W/node_modules/nodemailer && -d $W/node_modules/haraka ]] ||
  { echo "no node_modules in $W: run $REC/setup.sh first" >&2; exit 1; }
mkdir -p "$P"
NSX() { nsenter --net="/run/netns/$1" "${@:2}"; }
NS_MADE=""   # the namespace setup created (deleted by ns_cleanup), empty if it was there already
# setup NS ADDR: namespace NS (made if missing, as ns_loopback_up makes it) with ADDR on its loopback
setup() {
  ns_exists "$1" || { ns_loopback_up "$1"; NS_MADE=$1; }
  ns_add_addr "$1" "$2"
}
# ns_cleanup: delete the namespace setup made (for the EXIT trap, after the processes in it are stopped)
ns_cleanup() { [[ -n $NS_MADE ]] && ip netns del "$NS_MADE" 2>/dev/null; NS_MADE=""; }
# rec_start NS NAME ADDR ; rec_stop NS ADDR NAME
rec_start() { cap_start "$1" lo "$P/$2.pcap" "tcp and host $3"; REC_PID=$CAP_PID; }
rec_stop() { ns_wait_closed "$1" "$2"; sleep 0.5; cap_stop "$REC_PID" "$P/$3.pcap"; }
# certs: a self-signed RSA certificate for mx.example.test in $W/certs (made once)
certs() {
  [[ -f $W/certs/key.pem ]] && return
  mkdir -p "$W/certs"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/certs/key.pem" -out "$W/certs/cert.pem" -days 30 -subj /CN=mx.example.test 2>/dev/null
  chmod 644 "$W"/certs/*.pem
}
# exim_start NS ADDR PORT DIR EXTRA_MAIN_FILE ACLS_FILE : exim with TLS (the certs above) and the
# shared rcpt ACL (nobody@ 550, grey@ 451 greylisted); EXTRA_MAIN_FILE may replace message_size_limit
exim_start() {
  local ns=$1 addr=$2 port=$3 d=$4 main=$5 acls=$6
  certs; rm -rf "$d"; exim_workdir "$d"
  { cat <<EOC
tls_certificate = $W/certs/cert.pem
tls_privatekey = $W/certs/key.pem
tls_advertise_hosts = *
daemon_smtp_ports = $port
message_size_limit = 20M
log_selector = +all -dnssec -subject
EOC
    cat "$main"; } > "$d/main.conf"
  grep -q message_size_limit "$main" && sed -i "/^message_size_limit = 20M/d" "$d/main.conf"
  exim_conf_server "$d" "$addr" "$d/main.conf" "$acls" /dev/null > "$d/exim.conf"
  exim_check_conf "$d/exim.conf" || return 1
  exim_daemon_start "$ns" "$d/exim.conf" "$addr" "$port" -oX "$port"
}
exim_stop() { stop_pid "$EXIM_PID"; }
# exim_log DIR NAME: save Exim's main log, reject log and daemon output as pcaps/NAME.log
exim_log() { cp "$1/log/mainlog" "$P/$2.log" 2>/dev/null; cat "$1/log/rejectlog" >> "$P/$2.log" 2>/dev/null; cat "$1/exim.out" >>"$P/$2.log" 2>/dev/null; true; }
