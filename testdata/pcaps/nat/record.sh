#!/usr/bin/env bash
# record.sh: re-records the captures of this directory: swaks sessions to a
# real Exim 4.96 (server.conf.in), from a client namespace behind a NAT
# router namespace (nftables masquerade), the way a container's outbound mail
# leaves a Docker host. nat-any, nat-inside and nat-portmap hold the same two
# sessions (a 20 KB message; a 550 RCPT and an accepted one):
#
#   nat-any.pcap      tcpdump -i any in the router namespace: every packet is
#                     captured once on each side of the NAT (in0 with the
#                     client's private address 10.88.0.2, out0 with the
#                     router's 192.0.2.1); masquerade keeps the source port
#   nat-inside.pcap   tcpdump -i in0 in the router namespace, at the same time
#                     as nat-any: each packet once, as the client sees it (the
#                     clean reference)
#   nat-portmap.pcap  tcpdump -i any in the router namespace, new sessions,
#                     with "masquerade to :40000-40100": the two views differ
#                     in source address AND source port
#   nat-rejected.pcap         as nat-any, one session whose message (with a
#   nat-rejected-inside.pcap  Message-ID) is refused with 550 after DATA;
#                             and as nat-inside, at the same time
#
#   client ns eth0 10.88.0.2/24 --- in0 10.88.0.1/24  router ns  out0 192.0.2.1/24 --- eth0 192.0.2.25/24 server ns
#             (default via 10.88.0.1)                 ip_forward=1, masquerade
#                                                     10.88.0.0/24 out of out0
#
# The scenario dnat turns the topology around, as inbound mail is port-
# forwarded into a container (mailcow on a Docker host): the client is
# outside, the server inside, and the router rewrites the destination
# (nftables dnat in prerouting), not the source. The same two sessions:
#
#   nat-dnat.pcap          tcpdump -i any in the router namespace: every
#                          packet once on out0 (to/from the router's
#                          192.0.2.1) and once on in0 (to/from the server's
#                          private 10.88.0.25); the client's 198.51.100.7 and
#                          port are the same in both views
#   nat-dnat-outside.pcap  tcpdump -i out0 in the router namespace, at the
#                          same time as nat-dnat: each packet once, as the
#                          client sees it (the reference)
#
#   server ns eth0 10.88.0.25/24 --- in0 10.88.0.1/24  router ns  out0 192.0.2.1/24 --- eth0 198.51.100.7/24 client ns
#             (default via 10.88.0.1)                  ip_forward=1, dnat        (192.0.2.0/24 dev eth0)
#             Exim on 10.88.0.25:25                    192.0.2.1:25 to 10.88.0.25:25
#
#   sudo testdata/pcaps/nat/record.sh [SCENARIO...]
#
# SCENARIO is any, portmap, rejected or dnat; without one, all four are
# recorded in that order (each rewrites its own files only).
#
# Needs exim4-daemon-light, swaks, tcpdump, openssl, iproute2, ethtool and
# nftables (apt-get install). Offloads (TSO/GSO/GRO) are off on every veth,
# MTU 1500, so the 20 KB message crosses as MSS-sized segments. MAC addresses
# are fixed. The client's ephemeral ports are 50000-50999, so that the
# port-mapping NAT (40000-40100) always has to change them. The server has no
# route to 10.88.0.0/24 (in dnat, the client has none): a session only works
# through the NAT. Every wait is bounded; only the processes it starts are
# stopped, by PID; the namespaces and the temp dir are removed at the end.
set -uo pipefail
D=$(cd "$(dirname "$0")" && pwd)
NC=smtpcap-nat-client
NR=smtpcap-nat-router
NSV=smtpcap-nat-server
CLI=10.88.0.2
GW=10.88.0.1
PUB=192.0.2.1
SRV=192.0.2.25
# dnat: the outside client, and the server behind the router
OCLI=198.51.100.7
ISRV=10.88.0.25
# set by setup: the topology (snat or dnat), the address the client
# connects to, the address Exim listens on
MODE=
DST=
LISTEN=

case " $* " in *" -h "*|*" --help "*) sed -n '2,/^set -uo/p' "$0" | sed '$d'; exit 0;; esac
for s in "$@"; do
	case $s in any|portmap|rejected|dnat) ;; *) echo "record.sh: unknown scenario $s (any, portmap, rejected, dnat)" >&2; exit 2;; esac
done
[[ $# -gt 0 ]] || set -- any portmap rejected dnat

W=$(mktemp -d)
chmod 755 "$W"
EXIM=
CAPS=()
# noofl, start, stopcaps, checkcaps, try, exim_work, start_exim, stop_exim
. "$D/../../record/netns-caps.sh"

# down: stop Exim (by PID) and remove the namespaces
down() {
	stop_exim
	ip netns del $NC 2>/dev/null
	ip netns del $NR 2>/dev/null
	ip netns del $NSV 2>/dev/null
}

teardown() {
	stopcaps
	down
	rm -rf "$W"
}
trap teardown EXIT


# nat [PORTS]: (re)load the router's NAT table: masquerade 10.88.0.0/24 out
# of out0, keeping the source port (no argument) or mapping it into PORTS
nat() {
	local l4= to=
	# a port range needs a transport protocol match
	[[ -n ${1:-} ]] && { l4=" meta l4proto tcp"; to=" to :$1"; }
	ip netns exec $NR nft -f - <<-EOF || exit 1
		table ip nat
		delete table ip nat
		table ip nat {
			chain post {
				type nat hook postrouting priority srcnat; policy accept;
				ip saddr 10.88.0.0/24 oifname "out0"$l4 masquerade$to
			}
		}
	EOF
}

# portfwd: (re)load the router's NAT table for dnat: TCP to the router's
# 192.0.2.1 port 25 arriving on out0 goes to the server's 10.88.0.25:25 (no
# source NAT: the server sees the client's own address)
portfwd() {
	ip netns exec $NR nft -f - <<-EOF || exit 1
		table ip nat
		delete table ip nat
		table ip nat {
			chain pre {
				type nat hook prerouting priority dstnat; policy accept;
				iifname "out0" ip daddr $PUB tcp dport 25 dnat to $ISRV:25
			}
		}
	EOF
}

# path: a TCP connect from the client to a closed port of the server must be
# "refused": the server's RST came back through the NAT (not captured: the
# filter is tcp port 25). In dnat only port 25 is forwarded (the router
# itself would refuse another): the client must read Exim's 220 greeting
# from 192.0.2.1:25 (before any capture starts).
path() {
	local out
	if [[ $MODE == dnat ]]; then
		for _ in $(seq 1 30); do
			out=$(ip netns exec $NC timeout 3 bash -c "exec 3<>/dev/tcp/$PUB/25 && read -r -t 2 l <&3 && printf '%s' \"\$l\"" 2>&1)
			[[ $out == "220 "* ]] && return 0
			sleep 0.2
		done
		echo "no path $OCLI -> $PUB:25 -> $ISRV:25 through the NAT: $out" >&2
		exit 1
	fi
	for _ in $(seq 1 30); do
		out=$(ip netns exec $NC timeout 2 bash -c "exec 3<>/dev/tcp/$SRV/9" 2>&1)
		[[ $out == *refused* ]] && return 0
		sleep 0.2
	done
	echo "no path $CLI -> $SRV through the NAT: $out" >&2
	exit 1
}

# setup MODE: the namespaces, links and addresses, and Exim, for MODE snat
# (client inside on in0, server outside on out0: any, portmap, rejected) or
# dnat (server inside on in0, client outside on out0). in0 is made first in
# both (ifindex 2, out0 3).
setup() {
	MODE=$1
	# leftovers of an interrupted run, or of the other mode
	down
	for ns in $NC $NR $NSV; do
		ip netns add $ns || exit 1
		ip netns exec $ns ip link set lo up
		ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		ip netns exec $ns sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	done
	local r=(ip netns exec $NR) inns=$NC inmac=02:00:00:88:00:02 outns=$NSV outmac=02:00:00:02:00:25
	[[ $MODE == dnat ]] && { inns=$NSV inmac=02:00:00:88:00:25 outns=$NC outmac=02:00:00:51:00:07; }
	# inside: in0 (router ns) <-> eth0 (client ns; dnat: server ns)
	"${r[@]}" ip link add in0 address 02:00:00:88:00:01 mtu 1500 type veth \
		peer name eth0 address $inmac mtu 1500 netns $inns
	# outside: out0 (router ns) <-> eth0 (server ns; dnat: client ns)
	"${r[@]}" ip link add out0 address 02:00:00:02:00:01 mtu 1500 type veth \
		peer name eth0 address $outmac mtu 1500 netns $outns
	"${r[@]}" ip addr add $GW/24 dev in0
	"${r[@]}" ip addr add $PUB/24 dev out0
	for p in in0 out0; do
		noofl $NR $p
		"${r[@]}" ip link set $p up
	done
	"${r[@]}" sysctl -qw net.ipv4.ip_forward=1
	if [[ $MODE == dnat ]]; then
		DST=$PUB LISTEN=$ISRV
		ip netns exec $NC ip addr add $OCLI/24 dev eth0
		ip netns exec $NSV ip addr add $ISRV/24 dev eth0
	else
		DST=$SRV LISTEN=$SRV
		ip netns exec $NC ip addr add $CLI/24 dev eth0
		ip netns exec $NSV ip addr add $SRV/24 dev eth0
	fi
	for ns in $NC $NSV; do
		noofl $ns eth0
		ip netns exec $ns ip link set eth0 up
	done
	if [[ $MODE == dnat ]]; then
		# the client reaches 192.0.2.0/24 on its link, nothing else; the
		# router reaches it on out0; the server answers via the router,
		# which undoes the DNAT
		ip netns exec $NC ip route add 192.0.2.0/24 dev eth0
		"${r[@]}" ip route add 198.51.100.0/24 dev out0
		ip netns exec $NSV ip route add default via $GW
	else
		ip netns exec $NC ip route add default via $GW
	fi
	ip netns exec $NC sysctl -qw net.ipv4.ip_local_port_range="50000 50999"

	exim_work
	# server.conf.in listens on 192.0.2.25; dnat's Exim on 10.88.0.25
	sed "s#WORK#$W#g; s#^local_interfaces = <; $SRV\.25\$#local_interfaces = <; $LISTEN.25#" "$D/server.conf.in" > "$W/server.conf"
	grep -qx "local_interfaces = <; $LISTEN.25" "$W/server.conf" || { echo "server.conf: no local_interfaces $LISTEN.25" >&2; exit 1; }
	start_exim $NSV $LISTEN

	M=$W/msgs
	# about 20 KB (the same bytes every time): 14 segments of at most one MSS
	# (1448 bytes), cut also where swaks' 8 KiB writes end
	{ printf 'From: sender@example.org\r\nTo: user@example.test\r\nSubject: twenty kilobytes through a NAT\r\nDate: Thu, 03 Dec 2026 12:00:00 +0000\r\nMessage-ID: <big@example.org>\r\n\r\n'
	  for i in $(seq 1 280); do printf 'line %04d of a twenty kilobyte message crossing a NAT router .....\r\n' "$i"; done; } > "$M/big.eml"
	printf 'From: sender@example.org\r\nTo: a@example.test, nobody@example.test\r\nSubject: two recipients\r\nDate: Thu, 03 Dec 2026 12:00:01 +0000\r\nMessage-ID: <two@example.org>\r\n\r\nOne of the two recipients is refused.\r\n' > "$M/two.eml"
	printf 'From: sender@example.org\r\nTo: user@example.test\r\nSubject: refused at the end of DATA\r\nDate: Thu, 03 Dec 2026 12:00:02 +0000\r\nMessage-ID: <rej@example.org>\r\nX-Reject: yes\r\n\r\nThe server refuses this message after DATA.\r\n' > "$M/rej.eml"
}

SW=(--port 25 --helo client.example.test --from sender@example.org --timeout 20)

# send NAME N SWAKS-ARGS...: one swaks session in the client namespace,
# bounded to 60 s, its output kept as NAME.swaksN
send() {
	local name=$1 n=$2
	shift 2
	ip netns exec $NC timeout 60 swaks --server "$DST" "${SW[@]}" "$@" > "$W/$name.swaks$n" 2>&1
}

# settle: wait until no connection to the server is established on either
# end, then a little longer for the last ACKs
settle() {
	for _ in $(seq 1 100); do
		ip netns exec $NC ss -tn state established | grep -q "$DST:25" && { sleep 0.2; continue; }
		ip netns exec $NSV ss -tn state established | grep -q ":25 " && { sleep 0.2; continue; }
		break
	done
	sleep 1.5
}

# sessions NAME: the two sessions of nat-any, nat-portmap and nat-dnat
sessions() {
	send "$1" 1 --to user@example.test --data "@$M/big.eml"
	send "$1" 2 --to a@example.test,nobody@example.test --data "@$M/two.eml"
	settle
}

# rejsession NAME: the one session of nat-rejected: refused after DATA
rejsession() {
	send "$1" 1 --to user@example.test --data "@$M/rej.eml"
	settle
}



# record SESSIONS NAME...: run the sessions, stop the captures started,
# report, check for drops
record() {
	local run=$1
	shift
	"$run" "$1"
	stopcaps
	grep -h -E '^<~?\*\* ' "$W/$1".swaks* >&2
	checkcaps "$@"
}


# scenario 1: masquerade keeping the source port. nat-inside (-p: in0 not
# made promiscuous) at the same time, of the same sessions.
any() {
	nat
	path
	start nat-any $NR -i any
	start nat-inside $NR -p -i in0
	record sessions nat-any nat-inside
}

# scenario 2: masquerade mapping the source port into 40000-40100
portmap() {
	nat 40000-40100
	path
	start nat-portmap $NR -i any
	record sessions nat-portmap
}

# scenario 3: masquerade keeping the source port; one message refused with
# 550 after DATA (it has a Message-ID). nat-rejected-inside as nat-inside.
rejected() {
	nat
	path
	start nat-rejected $NR -i any
	start nat-rejected-inside $NR -p -i in0
	record rejsession nat-rejected nat-rejected-inside
}

# scenario 4 (dnat topology): port 25 of the router's outside address
# forwarded to the server inside; the client's address is kept.
# nat-dnat-outside (-p: out0 not made promiscuous) at the same time, of the
# same sessions: the view of the client outside.
dnat() {
	portfwd
	path
	start nat-dnat $NR -i any
	start nat-dnat-outside $NR -p -i out0
	record sessions nat-dnat nat-dnat-outside
}

for s in "$@"; do
	want=snat
	[[ $s == dnat ]] && want=dnat
	if [[ $MODE != "$want" ]]; then
		[[ -n $MODE ]] && ip netns exec $NR nft list ruleset >&2
		setup $want
	fi
	try "$s"
done
ip netns exec $NR nft list ruleset >&2
exit 0
