# lib.sh: namespace + tcpdump + exim helpers for /tmp/sw-node recordings
set -u
W=/tmp/sw-node
S=$W/scripts
P=$W/pcaps
. $S/ns.sh; . $S/capture.sh; . $S/exim.sh
NSX() { nsenter --net="/run/netns/$1" "${@:2}"; }
# setup NS ADDR
setup() { ns_exists "$1" || ns_loopback_up "$1"; ns_add_addr "$1" "$2"; }
# rec_start NS NAME ADDR ; rec_stop NAME
rec_start() { cap_start "$1" lo "$P/$2.pcap" "tcp and host $3"; REC_PID=$CAP_PID; }
rec_stop() { ns_wait_closed "$1" "$2"; sleep 0.5; cap_stop "$REC_PID" "$P/$3.pcap"; }
certs() {
  [[ -f $W/certs/key.pem ]] && return
  mkdir -p $W/certs
  openssl req -x509 -newkey rsa:2048 -nodes -keyout $W/certs/key.pem -out $W/certs/cert.pem -days 30 -subj /CN=mx.example.test 2>/dev/null
  chmod 644 $W/certs/*.pem
}
# exim_start NS ADDR PORT DIR EXTRA_MAIN_FILE ACLS_FILE : exim with TLS and greylist rcpt acl
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
# save exim main log as pcaps/NAME.log
exim_log() { cp "$1/log/mainlog" "$P/$2.log" 2>/dev/null; cat "$1/log/rejectlog" >> "$P/$2.log" 2>/dev/null; cat "$1/exim.out" >>"$P/$2.log" 2>/dev/null; true; }
