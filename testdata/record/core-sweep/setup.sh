# shellcheck shell=bash
# core-sweep set-up: namespace sw13 with its addresses, a TLS certificate, two Exim servers (s1 on
# 127.0.0.13 without PIPELINING, s2 on 127.0.0.14 with it) and Exim as a client. Sources
# ../lib/ns.sh and ../lib/exim.sh; run once before the scenarios (lib.sh's functions).
set -u
NS=sw13; W=${SWEEP:-/tmp/core-sweep}/w; mkdir -p $W
REC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/ns.sh
source "$REC/../lib/ns.sh"
# shellcheck source=../lib/exim.sh
source "$REC/../lib/exim.sh"
nsx() { nsenter --net=/run/netns/$NS "$@"; }
ns_loopback_up $NS
for a in 127.0.0.13 127.0.0.14 127.0.1.13 127.0.1.14 127.0.2.1 127.0.2.2 127.0.2.3 127.0.2.4 127.0.3.1 127.0.3.2 127.0.3.3 127.0.3.4; do ns_add_addr $NS $a; done
mkdir -p $W/tls; openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=mx.example.test -keyout $W/tls/key.pem -out $W/tls/cert.pem 2>/dev/null
chown -R Debian-exim:Debian-exim $W/tls; chmod 640 $W/tls/key.pem
mkconf() { # name addr pipelining
 local d=$W/$1; exim_workdir $d; chown Debian-exim:Debian-exim $d
 { exim_conf_head $d $2 mx.example.test example.test
   cat <<EOC
message_size_limit = 10M
accept_8bitmime = true
pipelining_advertise_hosts = $3
chunking_advertise_hosts = *
tls_advertise_hosts = *
tls_certificate = $W/tls/cert.pem
tls_privatekey = $W/tls/key.pem
smtp_receive_timeout = 5s
acl_smtp_rcpt = acl_check_rcpt
begin acl
acl_check_rcpt:
  deny    local_parts = nobody
  accept  domains     = example.test
  deny    message     = relay not permitted
EOC
   exim_conf_mbox_delivery $d
 } > $d/exim.conf
 exim -C $d/exim.conf -bV >/dev/null || echo BADCONF $1
}
mkconf s1 127.0.0.13 ":"
mkconf s2 127.0.0.14 "*"
# client exim
CD=$W/cli; exim_workdir $CD; chown Debian-exim:Debian-exim $CD
{ exim_conf_head $CD 127.0.1.14 client.example.org example.org
  cat <<EOC
tls_advertise_hosts =
begin routers
bdat:
  driver = manualroute
  domains = example.test
  local_parts = ^bdat.*
  route_data = 127.0.2.2
  self = send
  transport = remote_smtp
rst:
  driver = manualroute
  domains = example.test
  local_parts = ^rst.*
  route_data = 127.0.2.4
  self = send
  transport = remote_smtp
begin transports
remote_smtp:
  driver = smtp
  port = 25
  interface = 127.0.1.14
  helo_data = client.example.org
  allow_localhost
  hosts_try_chunking = *
  hosts_try_fastopen =
  hosts_try_prdr =
  hosts_try_dane =
  hosts_avoid_tls = *
begin retry
*   *   F,1h,1m
EOC
} > $CD/client.conf
exim -C $CD/client.conf -bV >/dev/null || echo BADCLI
