#!/usr/bin/env bash
# record.sh: re-records snap96-exim.pcap: five sessions (swaks plain, swaks with one refused
# recipient, swaks STARTTLS, msmtp, swaks over IPv6) from a client namespace through a bridge
# namespace to Exim 4.96 (../clients/server.conf.in) in a server namespace, captured on the
# server's veth with `tcpdump -s 96`, which cuts every packet's payload after 30 bytes (10 over
# IPv6). Root; needs exim4-daemon-light, swaks, msmtp, tcpdump, iproute2, ethtool, openssl.
set -uo pipefail
D=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d)
chmod 755 "$W"
EXIM=
teardown() {
	if [[ -n $EXIM ]]; then
		kill -TERM "$EXIM" 2>/dev/null
		for _ in $(seq 1 30); do kill -0 "$EXIM" 2>/dev/null || break; sleep 0.1; done
	fi
	for n in h5c h5m h5s; do ip netns del $n 2>/dev/null; done
	rm -rf "$W"
}
trap teardown EXIT
mkdir -p "$W/spool" "$W/log"
chown -R Debian-exim:Debian-exim "$W/spool" "$W/log"
for n in h5c h5m h5s; do ip netns add $n; ip netns exec $n ip link set lo up; done
ip link add c0 netns h5c type veth peer name mc netns h5m
ip link add s0 netns h5s type veth peer name ms netns h5m
ip netns exec h5m ip link add br5 type bridge
ip netns exec h5m ip link set mc master br5
ip netns exec h5m ip link set ms master br5
for i in mc ms br5; do ip netns exec h5m ip link set $i up; done
ip netns exec h5c ip link set c0 up
ip netns exec h5s ip link set s0 up
ip netns exec h5c ip addr add 10.5.0.1/24 dev c0
ip netns exec h5s ip addr add 10.5.0.2/24 dev s0
ip netns exec h5c ip addr add fd05::1/64 dev c0 nodad
ip netns exec h5s ip addr add fd05::2/64 dev s0 nodad
for x in "h5c c0" "h5s s0" "h5m mc" "h5m ms"; do
	set -- $x
	ip netns exec $1 ethtool -K $2 tso off gso off gro off tx off >/dev/null 2>&1
done
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=mx.example.test -keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null
chgrp Debian-exim "$W/key.pem"
chmod 640 "$W/key.pem"
sed -e "s#WORK#$W#g" -e 's#^local_interfaces.*#local_interfaces = <; 10.5.0.2.25 ; 10.5.0.2.465 ; fd05::2.25#' "$D/../clients/server.conf.in" > "$W/server.conf"
ip netns exec h5s exim -bdf -C "$W/server.conf" > "$W/exim.out" 2>&1 &
EXIM=$!
for _ in $(seq 1 50); do ip netns exec h5s ss -ltn | grep -q "10.5.0.2:25 " && break; sleep 0.1; done

ip netns exec h5s tcpdump -i s0 -s 96 -U -w "$D/snap96-exim.pcap" tcp 2> "$W/tcpdump.log" &
CAP=$!
for _ in $(seq 1 50); do grep -q listening "$W/tcpdump.log" && break; sleep 0.1; done
S=10.5.0.2
SW="timeout 30 ip netns exec h5c swaks --server"
$SW $S --from a@example.org --to user@example.test --h-Subject one --body "first message" >/dev/null 2>&1
$SW $S --from a@example.org --to user@example.test,nobody@example.test --h-Subject two --body "second, one refused" >/dev/null 2>&1
$SW $S --tls --tls-verify=0 --from a@example.org --to user@example.test --h-Subject three --body "over starttls" >/dev/null 2>&1
printf 'From: a@example.org\r\nTo: user@example.test\r\nSubject: msmtp\r\n\r\nhello from msmtp\r\n' |
	timeout 30 ip netns exec h5c msmtp -C /dev/null --host=$S --port=25 --tls=off --domain=c.example.org --from=a@example.org user@example.test
$SW "[fd05::2]" -6 --from a@example.org --to user@example.test --h-Subject v6 --body "over ipv6" >/dev/null 2>&1
sleep 1.5
kill -TERM $CAP
for _ in $(seq 1 50); do kill -0 $CAP 2>/dev/null || break; sleep 0.1; done
wait $CAP 2>/dev/null
