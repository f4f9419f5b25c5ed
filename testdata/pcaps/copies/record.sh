#!/usr/bin/env bash
# record.sh: re-records the captures of this directory: the same two swaks
# sessions to a real Exim 4.96 (server.conf.in), with client and server in
# network namespaces of their own joined by a Linux bridge br0 in a third
# ("host") namespace, the way containers sit on a Docker/libvirt bridge:
#
#   bridge-any.pcap     tcpdump -i any in the host namespace: every packet is
#                       captured once per interface it crosses (the sender's
#                       bridge port on the way in, the receiver's on the way out)
#   bridge-single.pcap  tcpdump -i eth0 in the client namespace, at the same
#                       time: each packet once (the clean reference)
#
#   client ns  eth0 10.77.0.1/24 --- vc (br0 port)  host ns: br0  vs (br0 port) --- eth0 10.77.0.2/24  server ns
#
#   sudo testdata/pcaps/copies/record.sh
#
# Needs exim4-daemon-light, swaks, tcpdump, openssl, iproute2 and ethtool
# (apt-get install). Offloads (TSO/GSO/GRO) are off on every veth and on br0,
# MTU 1500, so the 20 KB message crosses as MSS-sized segments. MAC addresses
# are fixed so that re-recording gives the same link-layer bytes. Every wait
# is bounded; only the processes it starts are stopped, by PID; the
# namespaces and the temp dir are removed at the end.
set -uo pipefail
D=$(cd "$(dirname "$0")" && pwd)
NC=smtpcap-cp-client
NSV=smtpcap-cp-server
NH=smtpcap-cp-host
CLI=10.77.0.1
SRV=10.77.0.2
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
	ip netns del $NSV 2>/dev/null
	ip netns del $NH 2>/dev/null
	rm -rf "$W"
}
trap teardown EXIT


setup() {
	# leftovers of an interrupted run
	for ns in $NC $NSV $NH; do ip netns del $ns 2>/dev/null; done
	for ns in $NC $NSV $NH; do
		ip netns add $ns || exit 1
		ip netns exec $ns ip link set lo up
		ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		ip netns exec $ns sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	done
	local h=(ip netns exec $NH)
	"${h[@]}" ip link add br0 address 02:00:00:77:00:ff mtu 1500 type bridge
	"${h[@]}" ip link set br0 type bridge stp_state 0 forward_delay 0
	# client: vc (host ns, br0 port) <-> eth0 (client ns)
	"${h[@]}" ip link add vc address 02:00:00:77:00:11 mtu 1500 type veth \
		peer name eth0 address 02:00:00:77:00:01 mtu 1500 netns $NC
	# server: vs (host ns, br0 port) <-> eth0 (server ns)
	"${h[@]}" ip link add vs address 02:00:00:77:00:12 mtu 1500 type veth \
		peer name eth0 address 02:00:00:77:00:02 mtu 1500 netns $NSV
	for p in vc vs; do
		"${h[@]}" ip link set $p master br0
		noofl $NH $p
		"${h[@]}" ip link set $p up
	done
	noofl $NH br0
	"${h[@]}" ip link set br0 up
	ip netns exec $NC ip addr add $CLI/24 dev eth0
	ip netns exec $NSV ip addr add $SRV/24 dev eth0
	for ns in $NC $NSV; do
		noofl $ns eth0
		ip netns exec $ns ip link set eth0 up
	done
	# bridge ports forward once they are up (forward_delay 0); check the path
	# (before any capture) with a TCP connect to a closed port: "refused"
	# means the server's RST came back over the bridge
	local ok=
	for _ in $(seq 1 30); do
		local out
		out=$(ip netns exec $NC timeout 2 bash -c "exec 3<>/dev/tcp/$SRV/9" 2>&1)
		if [[ $out == *refused* ]]; then ok=1; break; fi
		sleep 0.2
	done
	[[ -n $ok ]] || { echo "no path $CLI -> $SRV over br0" >&2; exit 1; }

	exim_work
	sed "s#WORK#$W#g" "$D/server.conf.in" > "$W/server.conf"
	start_exim $NSV $SRV

	M=$W/msgs
	# about 20 KB (the same bytes every time): 15 segments of at most one MSS
	# (1448 bytes), cut also where swaks' 8 KiB writes end
	{ printf 'From: sender@example.org\r\nTo: user@example.test\r\nSubject: twenty kilobytes over a bridge\r\nDate: Thu, 03 Dec 2026 12:00:00 +0000\r\nMessage-ID: <big@example.org>\r\n\r\n'
	  for i in $(seq 1 280); do printf 'line %04d of a twenty kilobyte message crossing a Linux bridge .....\r\n' "$i"; done; } > "$M/big.eml"
	printf 'From: sender@example.org\r\nTo: a@example.test, nobody@example.test\r\nSubject: two recipients\r\nDate: Thu, 03 Dec 2026 12:00:01 +0000\r\nMessage-ID: <two@example.org>\r\n\r\nOne of the two recipients is refused.\r\n' > "$M/two.eml"
}

SW=(swaks --server $SRV --port 25 --helo client.example.test --from sender@example.org --timeout 20)

# sessions: the two swaks sessions, run in the client namespace (each bounded to 60 s)
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



# record: both captures at once, of the same two sessions, so that
# bridge-single holds exactly the packets of which bridge-any holds copies
# (-i br0 would put br0 in promiscuous mode, and with br0 promiscuous -i any
# sees a third copy of each packet, on br0; the client's own eth0 sees each
# packet once and changes nothing in the host namespace)
record() {
	start bridge-any $NH -i any
	start bridge-single $NC -i eth0
	sessions run
	stopcaps
	grep -h -E '^<~?\*\* ' "$W/run.swaks1" "$W/run.swaks2" >&2
	checkcaps bridge-any bridge-single
}

setup
try record
