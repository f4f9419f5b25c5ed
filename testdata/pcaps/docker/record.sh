#!/usr/bin/env bash
# record.sh: records the captures of this directory: the same two swaks
# sessions to a real Exim 4.96 (server.conf.in, from ../nat), sent from a
# "container" on the default Docker topology: the container's veth peer is a
# port of the bridge docker0 in the "host" namespace, which routes and
# masquerades 172.17.0.0/16 out of its uplink up0 to the server. A packet
# crosses three interfaces of the host namespace, so tcpdump -i any there
# captures it up to three times:
#
#   docker-any.pcap     tcpdump -i any in the host namespace (veth port,
#                       docker0, up0: each packet up to three times)
#   docker-uplink.pcap  tcpdump -p -i up0 in the host namespace, at the same
#                       time: each packet once, as the server sees it (the
#                       reference)
#
#   container ns                   host ns                                       server ns
#   eth0 172.17.0.2/16 --- vethc0a11 (docker0 port)   docker0 172.17.0.1/16
#   default via 172.17.0.1                            up0 192.0.2.1/24 --------- eth0 192.0.2.25/24
#                                  ip_forward=1, masquerade 172.17.0.0/16        Exim on 192.0.2.25:25
#                                  oifname != docker0 (Docker's rule)
#
#   sudo testdata/pcaps/docker/record.sh
#
# Needs exim4-daemon-light, swaks, tcpdump, openssl, iproute2, ethtool and
# nftables (apt-get install). Offloads (TSO/GSO/GRO) off on every veth and on
# docker0, MTU 1500, IPv6 off, fixed MACs. The server has no route to
# 172.17.0.0/16: a session only works through the NAT. Every wait is bounded;
# only the processes it starts are stopped, by PID; the namespaces and the
# temp dir are removed at the end.
set -uo pipefail
D=$(cd "$(dirname "$0")" && pwd)
NC=smtpcap-dk-container
NH=smtpcap-dk-host
NSV=smtpcap-dk-server
CLI=172.17.0.2
GW=172.17.0.1
PUB=192.0.2.1
SRV=192.0.2.25
W=$(mktemp -d)
chmod 755 "$W"
EXIM=
CAPS=()
# noofl, start, stopcaps, checkcaps, try, exim_work, start_exim, stop_exim
. "$D/../../record/netns-caps.sh"

teardown() {
	stopcaps
	stop_exim
	ip netns del $NC 2>/dev/null
	ip netns del $NH 2>/dev/null
	ip netns del $NSV 2>/dev/null
	rm -rf "$W"
}
trap teardown EXIT


setup() {
	# leftovers of an interrupted run
	for ns in $NC $NH $NSV; do ip netns del $ns 2>/dev/null; done
	for ns in $NC $NH $NSV; do
		ip netns add $ns || exit 1
		ip netns exec $ns ip link set lo up
		ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		ip netns exec $ns sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	done
	local h=(ip netns exec $NH)
	# made in this order: up0 ifindex 2, docker0 3, the veth port 4
	"${h[@]}" ip link add up0 address 02:00:00:02:00:01 mtu 1500 type veth \
		peer name eth0 address 02:00:00:02:00:25 mtu 1500 netns $NSV
	"${h[@]}" ip link add docker0 address 02:42:ac:11:00:01 mtu 1500 type bridge
	"${h[@]}" ip link set docker0 type bridge stp_state 0 forward_delay 0
	"${h[@]}" ip link add vethc0a11 address 02:00:00:17:00:11 mtu 1500 type veth \
		peer name eth0 address 02:42:ac:11:00:02 mtu 1500 netns $NC
	"${h[@]}" ip link set vethc0a11 master docker0
	"${h[@]}" ip addr add $GW/16 dev docker0
	"${h[@]}" ip addr add $PUB/24 dev up0
	for p in up0 vethc0a11 docker0; do
		noofl $NH $p
		"${h[@]}" ip link set $p up
	done
	"${h[@]}" sysctl -qw net.ipv4.ip_forward=1
	# Docker's rule: -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
	"${h[@]}" nft -f - <<-EOF || exit 1
		table ip nat {
			chain post {
				type nat hook postrouting priority srcnat; policy accept;
				ip saddr 172.17.0.0/16 oifname != "docker0" masquerade
			}
		}
	EOF
	ip netns exec $NC ip addr add $CLI/16 dev eth0
	ip netns exec $NSV ip addr add $SRV/24 dev eth0
	for ns in $NC $NSV; do
		noofl $ns eth0
		ip netns exec $ns ip link set eth0 up
	done
	ip netns exec $NC ip route add default via $GW

	# the path (before any capture): a TCP connect from the container to a
	# closed port of the server must be "refused" (the RST came back through
	# the NAT and the bridge)
	local ok= out=
	for _ in $(seq 1 30); do
		out=$(ip netns exec $NC timeout 2 bash -c "exec 3<>/dev/tcp/$SRV/9" 2>&1)
		if [[ $out == *refused* ]]; then ok=1; break; fi
		sleep 0.2
	done
	[[ -n $ok ]] || { echo "no path $CLI -> $SRV through docker0 and the NAT: $out" >&2; exit 1; }

	exim_work
	# ../nat/server.conf.in listens on 192.0.2.25 port 25
	sed "s#WORK#$W#g" "$D/../nat/server.conf.in" > "$W/server.conf"
	grep -qx "local_interfaces = <; $SRV.25" "$W/server.conf" || { echo "server.conf: no local_interfaces $SRV.25" >&2; exit 1; }
	start_exim $NSV $SRV

	M=$W/msgs
	# about 20 KB (the same bytes every time)
	{ printf 'From: sender@example.org\r\nTo: user@example.test\r\nSubject: twenty kilobytes from a container\r\nDate: Thu, 03 Dec 2026 12:00:00 +0000\r\nMessage-ID: <big@example.org>\r\n\r\n'
	  for i in $(seq 1 280); do printf 'line %04d of a twenty kilobyte message leaving a Docker host ..\r\n' "$i"; done; } > "$M/big.eml"
	printf 'From: sender@example.org\r\nTo: a@example.test, nobody@example.test\r\nSubject: two recipients\r\nDate: Thu, 03 Dec 2026 12:00:01 +0000\r\nMessage-ID: <two@example.org>\r\n\r\nOne of the two recipients is refused.\r\n' > "$M/two.eml"
}

SW=(swaks --server $SRV --port 25 --helo client.example.test --from sender@example.org --timeout 20)

# sessions: the two swaks sessions, run in the container namespace (each bounded to 60 s)
sessions() {
	local name=$1
	ip netns exec $NC timeout 60 "${SW[@]}" --to user@example.test --data "@$M/big.eml" > "$W/$name.swaks1" 2>&1
	ip netns exec $NC timeout 60 "${SW[@]}" --to a@example.test,nobody@example.test --data "@$M/two.eml" > "$W/$name.swaks2" 2>&1
	# wait until no connection to the server is established on either end
	for _ in $(seq 1 100); do
		ip netns exec $NC ss -tn state established | grep -q "$SRV:25" && { sleep 0.2; continue; }
		ip netns exec $NSV ss -tn state established | grep -q "$SRV:25" && { sleep 0.2; continue; }
		break
	done
	sleep 1.5
}



# record: both captures at once, of the same two sessions (-p: up0 not made
# promiscuous; docker0 is left alone, a promiscuous bridge would add copies)
record() {
	start docker-any $NH -i any
	start docker-uplink $NH -p -i up0
	sessions run
	stopcaps
	grep -h -E '^<~?\*\* ' "$W/run.swaks1" "$W/run.swaks2" >&2
	checkcaps docker-any docker-uplink
}

setup
try record
ip netns exec $NH ip -o link show >&2
