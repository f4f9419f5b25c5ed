#!/bin/bash
# setup.sh: namespace sw11 + private postfix instance. Run once.
set -euo pipefail
RUN=${SWEEP:-/tmp/postfix-sweep2}/run; CONF=$RUN/conf; MAILLOG=$RUN/log/maillog
source "$(dirname "$0")/../lib/postfix.sh"
NS=sw11
ip netns list | grep -qw sw11 && { echo "sw11 exists"; exit 1; }
ip netns add sw11
nsx() { nsenter --net=/run/netns/sw11 "$@"; }
nsx ip link set lo up; nsx ip link set lo mtu 1500; nsx ethtool -K lo tso off gso off gro off >/dev/null
nsx sysctl -qw net.ipv4.tcp_early_retrans=0
for n in $(seq 11 30); do nsx ip addr add 127.0.0.$n/32 dev lo; nsx ip addr add 127.0.1.$n/32 dev lo; done
rm -rf $CONF $RUN/queue $RUN/data $RUN/log
mkdir -p "$CONF" "$RUN/queue" "$RUN/data" "$RUN/log"; chown postfix "$RUN/data"; chmod 755 "$RUN" ${SWEEP:-/tmp/postfix-sweep2}
pf_main_cf 127.0.0.1/32 >"$CONF/main.cf"
cat >>"$CONF/main.cf" <<EOC
header_checks = regexp:$CONF/header_checks
body_checks = regexp:$CONF/body_checks
smtpd_tls_cert_file = $RUN/cert.pem
smtpd_tls_key_file = $RUN/key.pem
smtpd_authorized_xclient_hosts = 127.0.1.19
EOC
printf 'root OK\npostmaster OK\nuser OK\nb OK\nc OK\nd OK\n' >"$CONF/recipients"
printf '/^Subject: reject me/ REJECT 5.7.1 Spammy subject\n/^Subject: discard me/ DISCARD\n/^Subject: hold me/ HOLD\n' >"$CONF/header_checks"
printf '/BADBODY/ REJECT bad body\n' >"$CONF/body_checks"
S="inet n - n - - smtpd"
{
echo "127.0.0.11:25 $S -o smtpd_helo_required=yes -o smtpd_helo_restrictions=reject_invalid_helo_hostname,reject_non_fqdn_helo_hostname,reject_unknown_helo_hostname"
echo "127.0.0.12:25 $S -o smtpd_client_restrictions=reject"
echo "127.0.0.13:25 $S -o message_size_limit=2000"
echo "127.0.0.14:25 $S -o {smtpd_reject_footer=\\c. See https://help.example.test/\\nCall 555-0100}"
echo "127.0.0.15:25 $S -o smtpd_tls_security_level=encrypt"
echo "127.0.0.16:25 $S"
echo "127.0.0.17:25 $S"
echo "127.0.0.18:25 $S -o smtpd_client_connection_count_limit=1 -o smtpd_client_message_rate_limit=2"
echo "127.0.0.19:25 $S"
echo "127.0.0.20:25 $S -o smtpd_client_connection_count_limit=0 -o smtpd_timeout=5s"
echo "127.0.0.21:25 $S -o smtpd_delay_reject=no -o smtpd_client_restrictions=reject"
pf_master_services
} >"$CONF/master.cf"
postconf -c "$CONF" -n >/dev/null
nsx postfix -c "$CONF" start
for _ in $(seq 1 100); do nsx ss -Hltn | grep -q "127.0.0.21:25" && break; sleep 0.1; done
nsx ss -Hltn
cat $RUN/queue/pid/master.pid
