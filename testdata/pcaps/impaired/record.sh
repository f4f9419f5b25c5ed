#!/usr/bin/env bash
# record.sh: re-records the captures of this directory: real Linux TCP stacks recovering from
# loss, reordering, duplication and delay between swaks/msmtp and Exim 4.96. The kernels here
# have no sch_netem, so testdata/record/impair (a userspace netem stand-in, built here) forwards
# the frames between two veth pairs and impairs them:
# client ns (vc 10.9.0.1) <-veth-> [middle ns: vcm  impair  vsm] <-veth-> server ns (vs 10.9.0.2)
# MTU 1500, tso/gso/gro/tx/rx checksum offloads off on all four veth ends. Each scenario is
# captured on both sides at once: NAME-srv.pcap (on vs) and NAME-cli.pcap (on vc).
#   sudo testdata/pcaps/impaired/record.sh [SCENARIO...]   (default: mix)
# Needs exim4-daemon-light, swaks, msmtp, tcpdump, iproute2, ethtool and Go.
set -uo pipefail
D=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d); chmod 755 "$W"
(cd "$D/../../record/impair" && go build -o "$W/impair" .) || exit 1
SRV=10.9.0.2
cx() { ip netns exec h3c "$@"; }
sx() { ip netns exec h3s "$@"; }
mx() { ip netns exec h3m "$@"; }
setup() {
	for n in h3c h3s h3m; do ip netns add $n; ip netns exec $n ip link set lo up; done
	ip link add vc netns h3c type veth peer name vcm netns h3m
	ip link add vs netns h3s type veth peer name vsm netns h3m
	cx ip addr add 10.9.0.1/24 dev vc; sx ip addr add $SRV/24 dev vs
	for p in "h3c vc" "h3s vs" "h3m vcm" "h3m vsm"; do set -- $p
		ip netns exec $1 ip link set $2 mtu 1500 up
		ip netns exec $1 ethtool -K $2 tso off gso off gro off tx off rx off >/dev/null 2>&1
		ip netns exec $1 sysctl -qw net.ipv6.conf.$2.disable_ipv6=1
	done
	mkdir -p "$W/spool" "$W/log" "$W/msgs"; chown -R Debian-exim:Debian-exim "$W/spool" "$W/log"
	cat > "$W/server.conf" <<EOC
primary_hostname = mx.example.test
qualify_domain = example.test
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = $W/spool
log_file_path = $W/log/%slog
pid_file_path = $W/exim.pid
local_interfaces = <; $SRV.25
daemon_smtp_ports = 25
host_lookup =
rfc1413_hosts =
smtp_banner = \$smtp_active_hostname ESMTP Exim \$version_number
message_size_limit = 10M
pipelining_advertise_hosts = *
chunking_advertise_hosts =
tls_advertise_hosts =
smtp_receive_timeout = 30s
log_selector = +smtp_connection +smtp_protocol_error +smtp_syntax_error +smtp_incomplete_transaction +received_recipients +incoming_port +pipelining
acl_smtp_rcpt = acl_check_rcpt
begin acl
acl_check_rcpt:
  deny    local_parts = nobody
          message = unknown user
  accept  domains = example.test
  deny    message = relay not permitted
begin routers
sink:
  driver = redirect
  domains = example.test
  data = :blackhole:
begin transports
EOC
	ip netns exec h3s exim -bdf -C "$W/server.conf" > "$W/exim.out" 2>&1 &
	EXIM=$!
	for _ in $(seq 1 50); do sx ss -ltn | grep -q "$SRV:25 " && break; sleep 0.1; done
	M=$W/msgs
	mk() { # mk FILE NLINES: CRLF message; every 97th line starts with a dot
		{ printf 'From: sender@example.org\r\nTo: user@example.test\r\nSubject: %s\r\nMessage-ID: <%s@example.org>\r\n\r\n' "$1" "$1"
		  awk -v n=$2 'BEGIN{for(i=1;i<=n;i++){ if(i%97==0) printf ".dot line %06d ..........\r\n", i; else printf "line %06d of the body, some filler text to make it longer %08x\r\n", i, i*2654435761%4294967296 }}'
		} > "$M/$1.eml"
	}
	mk small 50; mk medium 2800
}
teardown() {
	[[ -n ${EXIM:-} ]] && { kill -TERM "$EXIM" 2>/dev/null; for _ in $(seq 1 50); do kill -0 "$EXIM" 2>/dev/null || break; sleep 0.1; done; }
	for n in h3c h3s h3m; do ip netns del $n 2>/dev/null; done
	rm -rf "$W"
}
trap teardown EXIT

SW=(swaks --server $SRV --from sender@example.org --helo client.example.org --timeout 60)
MS="msmtp -C /dev/null --host=$SRV --port=25 --tls=off --domain=msmtp.example.org --from=sender@example.org --timeout=60"
clients() { # the same four sessions in every scenario
	local M=$W/msgs
	echo "## 1 swaks small plain";      cx timeout 90 "${SW[@]}" --to user@example.test --data "$M/small.eml"; echo "rc=$?"
	echo "## 2 swaks medium pipelined"; cx timeout 90 "${SW[@]}" --pipeline --to a@example.test,nobody@example.test,b@example.test --data "$M/medium.eml" | tail -25; echo "rc=${PIPESTATUS[0]}"
	echo "## 3 msmtp medium";           cx timeout 120 sh -c "$MS user@example.test < $M/medium.eml"; echo "rc=$?"
	echo "## 4 swaks small pipelined";  cx timeout 90 "${SW[@]}" --pipeline --to c@example.test --data "$M/small.eml" | tail -5; echo "rc=${PIPESTATUS[0]}"
}

# run NAME BUFOPT -- IMPAIR-ARGS...
run() {
	local name=$1 buf=$2; shift 3
	echo "== $name: impair $* ; tcpdump $buf" >&2
	rm -f "$D/$name-srv.pcap" "$D/$name-cli.pcap"
	ip netns exec h3m "$W/impair" -a vcm -b vsm -seed 7 "$@" > "$W/$name.impair" 2>&1 &
	local imp=$!
	ip netns exec h3s tcpdump -i vs $buf -U -w "$D/$name-srv.pcap" "tcp port 25" 2> "$W/$name-srv.tcpdump" &
	local c1=$!
	ip netns exec h3c tcpdump -i vc $buf -U -w "$D/$name-cli.pcap" "tcp port 25" 2> "$W/$name-cli.tcpdump" &
	local c2=$!
	for _ in $(seq 1 30); do grep -q listening "$W/$name-srv.tcpdump" && grep -q listening "$W/$name-cli.tcpdump" && break; sleep 0.1; done
	local l0; l0=$(wc -l < "$W/log/mainlog" 2>/dev/null || echo 0)
	clients > "$W/$name.client" 2>&1
	for _ in $(seq 1 100); do sx ss -tn state established | grep -q "$SRV:25" || break; sleep 0.2; done
	sleep 1.5
	for p in $c1 $c2; do kill -TERM $p; done
	for p in $c1 $c2; do for _ in $(seq 1 50); do kill -0 $p 2>/dev/null || break; sleep 0.1; done; wait $p 2>/dev/null; done
	kill -TERM $imp; for _ in $(seq 1 50); do kill -0 $imp 2>/dev/null || break; sleep 0.1; done; wait $imp 2>/dev/null
	tail -n +$((l0+1)) "$W/log/mainlog" >&2
	grep -h "dropped by kernel" "$W/$name-srv.tcpdump" "$W/$name-cli.tcpdump" >&2
	cat "$W/$name.impair" "$W/$name.client" >&2
}
scenario() {
	local I=--immediate-mode
	case $1 in
	clean)     run $1 $I -- ;;
	loss2)     run $1 $I -- -c2s-loss 2 -s2c-loss 2 ;;
	loss10)    run $1 $I -- -c2s-loss 10 -s2c-loss 10 ;;
	reorder)   run $1 $I -- -c2s-delay 10ms -c2s-reorder 25 -s2c-delay 10ms -s2c-reorder 25 ;;
	dup)       run $1 $I -- -c2s-dup 5 -s2c-dup 5 ;;
	jitter)    run $1 $I -- -c2s-delay 20ms -c2s-jitter 15ms -s2c-delay 20ms -s2c-jitter 15ms ;;
	corrupt)   run $1 $I -- -c2s-corrupt 1 -s2c-corrupt 1 ;;
	corrupt5)  run $1 $I -- -c2s-corrupt 5 -s2c-corrupt 5 ;;
	burst)     run $1 $I -- -c2s-burst-at 300 -c2s-burst-len 40 -c2s-loss 1 -c2s-burst 75 -s2c-loss 1 -s2c-burst 75 ;;
	asym-c2s)  run $1 $I -- -c2s-loss 10 ;;
	asym-s2c)  run $1 $I -- -s2c-loss 10 ;;
	mix)       run $1 $I -- -c2s-loss 5 -c2s-reorder 25 -c2s-delay 20ms -c2s-jitter 5ms -c2s-dup 2 -s2c-loss 5 -s2c-reorder 25 -s2c-delay 20ms -s2c-jitter 5ms -s2c-dup 2 ;;
	tcpdrop)   run $1 "-B 64" -- ;;
	*) echo "unknown $1" >&2 ;;
	esac
}
ALL=(mix)
setup
[[ $# -eq 0 ]] && set -- "${ALL[@]}"
for s in "$@"; do scenario "$s"; done
