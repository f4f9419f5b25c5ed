# netns-caps.sh: capture and Exim helpers shared by the record.sh scripts that
# record across several network namespaces (testdata/pcaps/copies, nat,
# docker), sourced by them. The caller sets D (where the captures go), W
# (a temp dir) and CAPS=() before using these. Every wait is bounded;
# only the tcpdumps started here are stopped, by PID.

# noofl NS DEV: turn TSO/GSO/GRO off on DEV, so that segments are the
# MSS-sized ones a network carries, not 64 KiB "segments".
noofl() { ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || echo "ethtool -K $2 failed in $1" >&2; }

# start NAME NS TCPDUMP-ARGS...: start one tcpdump writing $D/NAME.pcap
# ('tcp port 25'), wait until it listens. -B 32768: with -i any and the
# default buffer (2 MiB) tcpdump 4.99.3 here lost 10 to 32 of the ~124
# packets of a 20 KB message in every try ("packets dropped by kernel");
# with -B 32768 none.
start() {
	local name=$1 ns=$2
	shift 2
	rm -f "$D/$name.pcap"
	# ip netns exec execs tcpdump: $! is tcpdump itself, to be stopped by PID
	ip netns exec "$ns" tcpdump "$@" -B 32768 --immediate-mode -U -w "$D/$name.pcap" 'tcp port 25' 2> "$W/$name.tcpdump" &
	CAPS+=($!)
	for _ in $(seq 1 30); do grep -qs listening "$W/$name.tcpdump" && break; sleep 0.1; done
	grep -q listening "$W/$name.tcpdump" || { echo "tcpdump for $name did not start" >&2; cat "$W/$name.tcpdump" >&2; exit 1; }
}

# stopcaps: SIGTERM each tcpdump started, by PID, and wait for it
stopcaps() {
	local p
	for p in "${CAPS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${CAPS[@]}"; do
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	CAPS=()
}

# checkcaps NAME...: after stopcaps, print what each tcpdump captured and
# dropped; fail (return 1) when the kernel dropped any packet.
checkcaps() {
	local name
	for name in "$@"; do
		echo "== $name: $(grep -E 'captured|dropped' "$W/$name.tcpdump" | tr '\n' ' ')" >&2
	done
	for name in "$@"; do
		grep -q '^0 packets dropped by kernel' "$W/$name.tcpdump" || return 1
	done
}

# try FUNC: run one recording, again (at most 3 times in all) while the
# kernel drops packets; exit 1 if it always did.
try() {
	local t
	for t in 1 2 3; do
		"$1" && return 0
		echo "packets dropped ($1, try $t)" >&2
	done
	echo "packets dropped in every try of $1; the captures are incomplete" >&2
	exit 1
}

# exim_work: the spool, log and message directories under $W, and a
# self-signed certificate ($W/cert.pem, $W/key.pem) for STARTTLS.
exim_work() {
	mkdir -p "$W/spool" "$W/log" "$W/msgs"
	chown -R Debian-exim:Debian-exim "$W/spool" "$W/log"
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=mx.example.test \
		-keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null
	chgrp Debian-exim "$W/key.pem"
	chmod 640 "$W/key.pem"
}

# start_exim NS ADDR: start Exim in NS with $W/server.conf (the caller
# writes it) and wait until it listens on ADDR:25; sets EXIM.
start_exim() {
	local ns=$1 addr=$2
	# ip netns exec execs exim: $! is the Exim daemon itself
	ip netns exec "$ns" exim -bdf -C "$W/server.conf" > "$W/exim.out" 2>&1 &
	EXIM=$!
	for _ in $(seq 1 50); do
		ip netns exec "$ns" ss -ltn | grep -q "$addr:25 " && return 0
		sleep 0.1
	done
	echo "exim is not listening on $addr:25" >&2
	cat "$W/exim.out" >&2
	exit 1
}

# stop_exim: SIGTERM the Exim daemon started, by PID, and wait for it.
stop_exim() {
	[[ -n ${EXIM:-} ]] || return 0
	kill -TERM "$EXIM" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$EXIM" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$EXIM" 2>/dev/null && kill -KILL "$EXIM" 2>/dev/null
	wait "$EXIM" 2>/dev/null
	EXIM=
}
