# shellcheck shell=bash
# exim_server.sh: sourced; exim_srv_start NS ADDR DIR: host Exim as the server for dma/nullmailer.
# ACL: if DIR/defer-flag exists every RCPT gets 451 (defer), else example.test accepted.
. /work/main/testdata/record/lib/exim.sh
exim_srv_start() {
  local ns=$1 addr=$2 d=$3
  rm -rf "$d"; mkdir -p "$d"; exim_workdir "$d"
  printf 'acl_smtp_rcpt = acl_rcpt\n' >"$d/main"
  cat >"$d/conf" <<EOC
$(exim_conf_head "$d" "$addr" mx.example.test example.test)
smtp_banner = \$smtp_active_hostname ESMTP Exim \$version_number
pipelining_connect_advertise_hosts =
prdr_enable = false
tls_advertise_hosts =
acl_smtp_rcpt = acl_rcpt
begin acl
acl_rcpt:
  defer   condition = \${if exists{$d/defer-flag}}
          message   = greylisted, try again later
  accept  domains   = example.test
  deny    message   = relay not permitted

$(exim_conf_mbox_delivery "$d")
EOC
  exim_check_conf "$d/conf" || return 1
  exim_daemon_start "$ns" "$d/conf" "$addr" 25 -oX "25"
}
