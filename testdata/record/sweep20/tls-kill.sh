#!/bin/bash
. "$(dirname "$0")/lib.sh"
sc_begin tls-kill 6
mkdir -p $W/tls
[[ -f $W/tls/cert.pem ]] || openssl req -x509 -newkey rsa:2048 -nodes -keyout $W/tls/key.pem -out $W/tls/cert.pem -days 30 -subj /CN=mx.example.test >/dev/null 2>&1
chmod 644 $W/tls/*.pem # Exim reads them as its own user
cat > $D/main.conf <<E
tls_certificate = $W/tls/cert.pem
tls_privatekey = $W/tls/key.pem
E
: > $D/acls.conf
sc_server $D/main.conf $D/acls.conf || exit 1
head -c 450000 /dev/urandom | base64 -w 76 > $D/body.txt
nsx() { nsenter --net=/run/netns/$NS "$@"; }
nsx tc qdisc add dev lo root tbf rate 1mbit burst 16kb latency 400ms
sc_cap
# 1: client killed mid-DATA inside TLS
nsenter --net=/run/netns/$NS swaks --server $SADDR --local-interface $CADDR --tls --from a@example.org --to user@example.test --body @$D/body.txt --timeout 60 > $D/swaks1.txt 2>&1 &
SW=$!; sleep 2; kill -9 $SW; wait $SW; echo "=== killed swaks rc=$?" >> $D/swaks1.txt
sleep 3
# 2: server session process killed mid-DATA inside TLS
nsenter --net=/run/netns/$NS swaks --server $SADDR --local-interface $CADDR --tls --from b@example.org --to user@example.test --body @$D/body.txt --timeout 20 > $D/swaks2.txt 2>&1 &
SW=$!; sleep 2
CH=$(cat /proc/$SRV_PID/task/$SRV_PID/children 2>/dev/null); echo "server children: $CH" > $D/killed-server-child.txt
for c in $CH; do kill -9 $c; done
for i in $(seq 1 300); do kill -0 $SW 2>/dev/null || break; sleep 0.1; done; kill -0 $SW 2>/dev/null && kill -9 $SW; wait $SW; echo "=== rc=$?" >> $D/swaks2.txt
sleep 2
# 3: clean TLS session for comparison (small)
timeout 30 nsenter --net=/run/netns/$NS swaks --server $SADDR --local-interface $CADDR --tls --from c@example.org --to user@example.test --timeout 20 > $D/swaks3.txt 2>&1; echo "=== rc=$?" >> $D/swaks3.txt
sc_end
