#!/bin/bash
# PIX/ASA-like fixup between client (127.0.1.5x) and proxy 127.0.0.41:25; proxy -> Postfix 127.0.0.31:25 from 127.0.1.41
set -u; source /tmp/msweep/lib.sh; pf_up; D=/tmp/msweep/pix
one() { # NAME PROXYFLAGS CLIENTCMD...
  local name=$1 pflags=$2; shift 2; local P=$D/$name.pcap
  cap_start $P; mlog_mark
  proxy_start $D/$name.proxy.log $B/pixproxy.py 127.0.0.41 25 127.0.1.41 127.0.0.31 25 $pflags
  nsx timeout 90 "$@" >$D/$name.client.log 2>&1; echo "client rc=$?" >>$D/$name.client.log
  cap_stop '127.0.0.41:25|127.0.0.31:25' $P
  proxy_stop; mlog_save $D/$name.maillog; oracle $P; report $P; echo "== $name" >&2
}
SW="swaks --server 127.0.0.41 --from a@example.org --to b@example.test --timeout 15"
[[ $# -eq 0 || " $* " == *" tls "* ]] && one pix-swaks-tls "" $SW --tls --local-interface 127.0.1.51
[[ $# -eq 0 || " $* " == *" tls2 "* ]] && one pix-swaks-tls-noehlomask "--no-ehlo-mask" $SW --tls --local-interface 127.0.1.52
[[ $# -eq 0 || " $* " == *" split "* ]] && one pix-split-verb "" python3 $B/clients.py split_rcpt 127.0.1.53 127.0.0.41 25 2
[[ $# -eq 0 || " $* " == *" split2 "* ]] && one pix-split-addr "" python3 $B/clients.py split_rcpt 127.0.1.54 127.0.0.41 25 14
[[ $# -eq 0 || " $* " == *" auth "* ]] && one pix-auth "" python3 $B/clients.py auth 127.0.1.55 127.0.0.41 25
[[ $# -eq 0 || " $* " == *" swauth "* ]] && one pix-swaks-auth "--no-ehlo-mask" $SW --auth PLAIN --auth-user user --auth-password secret --local-interface 127.0.1.56
[[ $# -eq 0 || " $* " == *" clean "* ]] && one pix-clean "" $SW --local-interface 127.0.1.57
exit 0
