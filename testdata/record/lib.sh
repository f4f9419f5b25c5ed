# lib.sh: shell functions for recording captures inside a private network
# namespace, sourced by record-failures.sh. (record.sh predates it and keeps
# its own copies, so that the captures it made are not touched.)
#
# The caller sets NS (namespace name), WORK (temp dir) and HERE (this
# directory) before calling these, and calls lib_cleanup from its EXIT trap.
# Every wait is bounded; only processes started here are stopped, by PID.

PORT=25
STARTED_PIDS=() # processes started by the lib_* functions, stopped by PID in lib_cleanup
NS_CREATED=""

die() { echo "${0##*/}: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

# Run a command inside the namespace (nsenter execs it: no extra process).
nsx() { nsenter --net="/run/netns/$NS" "$@"; }

lib_check_tools() {
	[[ $(id -u) == 0 ]] || die "must run as root (network namespace, port 25, tcpdump)"
	local t
	for t in ip nsenter ethtool exim swaks tcpdump tshark editcap capinfos openssl python3 timeout ss; do
		command -v "$t" >/dev/null || die "missing tool: $t"
	done
	id Debian-exim >/dev/null 2>&1 || die "user Debian-exim missing (install exim4-daemon-light)"
}

# lib_setup_ns N...: create namespace $NS with loopback addresses for each N:
# 127.0.0.N (Exim), 127.0.1.N (clients), 127.0.2.N (proxy, client side),
# 127.0.3.N (proxy, server side).
lib_setup_ns() {
	if ip netns list | grep -qw "$NS"; then
		die "network namespace $NS already exists (left from an aborted run?); remove it with: ip netns del $NS"
	fi
	log "namespace $NS"
	ip netns add "$NS"
	NS_CREATED=1
	nsx ip link set lo up
	nsx ip link set lo mtu 1500
	nsx ethtool -K lo tso off gso off gro off 2>/dev/null || true
	local n k
	for n in "$@"; do
		for k in 0 1 2 3; do
			nsx ip addr add "127.0.$k.$n/32" dev lo
		done
	done
}

# lib_stop_pid PID: SIGTERM a process we started, wait for it (bounded), then SIGKILL.
lib_stop_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

lib_forget_pid() {
	local pid=$1 p keep=()
	for p in "${STARTED_PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
	STARTED_PIDS=("${keep[@]}")
}

lib_cleanup() {
	local p i
	for p in "${STARTED_PIDS[@]}"; do lib_stop_pid "$p"; done
	STARTED_PIDS=()
	if [[ -n $NS_CREATED ]]; then
		# Exim's per-connection children exit on their own (smtp_receive_timeout);
		# give them a bounded moment so the namespace is really gone.
		for i in $(seq 1 100); do
			[[ -z $(ip netns pids "$NS" 2>/dev/null) ]] && break
			sleep 0.2
		done
		ip netns del "$NS"
		NS_CREATED=""
	fi
}

# ---------------------------------------------------------------- TLS + Exim

lib_make_cert() {
	mkdir -p "$WORK/tls"
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=mx.example.test" \
		-keyout "$WORK/tls/key.pem" -out "$WORK/tls/cert.pem" 2>"$WORK/openssl.log"
	chown -R Debian-exim:Debian-exim "$WORK/tls"
	chmod 0640 "$WORK/tls/key.pem"
	mkdir -p "$WORK/spool" "$WORK/log" "$WORK/mail"
	chown Debian-exim:Debian-exim "$WORK/spool" "$WORK/log" "$WORK/mail"
}

# lib_exim_conf NAME ADDR RECEIVE_TIMEOUT PIPELINING_ADVERTISE_HOSTS: write
# $WORK/exim-NAME.conf (printed on stdout): record.sh's configuration (SIZE 10M,
# 8BITMIME, PIPELINING, CHUNKING, STARTTLS; RCPT ACL: example.test accepted
# except nobody@ (550)), listening on ADDR only, with the given
# smtp_receive_timeout and pipelining_advertise_hosts.
lib_exim_conf() {
	local name=$1 addr=$2 timeout=$3 pipe=$4
	local conf="$WORK/exim-$name.conf"
	cat >"$conf" <<EOF
# Exim 4 configuration "$name" for recording smtpcap test captures (record-failures.sh).
primary_hostname = mx.example.test
qualify_domain = example.test
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = $WORK/spool
log_file_path = $WORK/log/%slog
pid_file_path = $WORK/exim-$name.pid
local_interfaces = <; $addr
keep_environment =
# No DNS or ident lookups on connect.
host_lookup =
rfc1413_hosts =
smtp_banner = \$smtp_active_hostname ESMTP Exim \$version_number
# EHLO keywords: SIZE 10485760, 8BITMIME, PIPELINING (unless pipelining_advertise_hosts is empty), CHUNKING, STARTTLS.
message_size_limit = 10M
accept_8bitmime = true
pipelining_advertise_hosts = $pipe
pipelining_connect_advertise_hosts =
chunking_advertise_hosts = *
tls_advertise_hosts = *
tls_certificate = $WORK/tls/cert.pem
tls_privatekey = $WORK/tls/key.pem
smtp_receive_timeout = $timeout

acl_smtp_rcpt = acl_check_rcpt

begin acl

acl_check_rcpt:
  deny    local_parts = nobody
          message     = unknown user
  accept  domains     = example.test
  deny    message     = relay not permitted

begin routers

local_mbox:
  driver = accept
  domains = example.test
  transport = mbox

begin transports

mbox:
  driver = appendfile
  file = $WORK/mail/mbox
  user = Debian-exim
  group = Debian-exim
  mode = 0600
EOF
	exim -C "$conf" -bV >"$WORK/exim-$name-bV.log" 2>&1 || { cat "$WORK/exim-$name-bV.log" >&2; die "exim rejects $conf"; }
	echo "$conf"
}

# lib_start_exim CONF ADDR: start a foreground Exim daemon on ADDR:25; sets EXIM_PID.
lib_start_exim() {
	local conf=$1 addr=$2 i
	local out="$WORK/exim-$(basename "$conf" .conf).out"
	# Started directly (not through nsx) so that $! is exim's own PID.
	nsenter --net="/run/netns/$NS" exim -bdf -oX "$PORT" -C "$conf" >>"$out" 2>&1 &
	EXIM_PID=$!
	STARTED_PIDS+=("$EXIM_PID")
	for i in $(seq 1 100); do
		[[ $(nsx ss -Hltn "src $addr and sport = :$PORT" | wc -l) -ge 1 ]] && break
		kill -0 "$EXIM_PID" 2>/dev/null || { cat "$out" >&2; die "exim exited"; }
		sleep 0.1
	done
	[[ $(nsx ss -Hltn "src $addr and sport = :$PORT" | wc -l) -ge 1 ]] || die "exim not listening on $addr:$PORT"
	[[ $(cat "/proc/$EXIM_PID/comm") == exim ]] || die "PID $EXIM_PID is not exim"
}

lib_stop_exim() {
	lib_stop_pid "$EXIM_PID"
	lib_forget_pid "$EXIM_PID"
	EXIM_PID=""
}

# ---------------------------------------------------------------- proxy

# lib_start_proxy MODE N MAXCONNS: mboxproxy.py on 127.0.2.N:25 -> 127.0.0.N:25
# from 127.0.3.N; sets PROXY_PID, logs to $WORK/proxy-MODE.log.
lib_start_proxy() {
	local mode=$1 n=$2 max=$3 i
	local plog="$WORK/proxy-$mode.log"
	rm -f "$plog"
	nsenter --net="/run/netns/$NS" python3 -B "$HERE/mboxproxy.py" --mode "$mode" --listen "127.0.2.$n" \
		--upstream "127.0.0.$n" --bind "127.0.3.$n" --max-conns "$max" --lifetime 90 --idle 30 2>"$plog" &
	PROXY_PID=$!
	STARTED_PIDS+=("$PROXY_PID")
	for i in $(seq 1 100); do
		grep -q "listening on" "$plog" 2>/dev/null && return 0
		kill -0 "$PROXY_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$plog" >&2
	die "proxy $mode did not start"
}

# lib_wait_proxy: the proxy exits by itself once its MAXCONNS connections are
# finished; wait for that (bounded), else stop it.
lib_wait_proxy() {
	local i
	for i in $(seq 1 100); do
		kill -0 "$PROXY_PID" 2>/dev/null || break
		sleep 0.1
	done
	lib_stop_pid "$PROXY_PID"
	lib_forget_pid "$PROXY_PID"
	PROXY_PID=""
}

# ---------------------------------------------------------------- captures

CAP_PIDS=()
CAP_LOGS=()

# lib_start_cap FILE FILTER [tcpdump options...]: one more tcpdump on lo.
lib_start_cap() {
	local file=$1 filter=$2 i pid
	shift 2
	local err="$WORK/tcpdump.$(basename "$file").log"
	rm -f "$err" # a retry must not see the previous attempt's "listening on"
	nsenter --net="/run/netns/$NS" tcpdump -Z root -i lo --immediate-mode -U "$@" -w "$file" "$filter" 2>"$err" &
	pid=$!
	STARTED_PIDS+=("$pid")
	CAP_PIDS+=("$pid")
	CAP_LOGS+=("$err")
	for i in $(seq 1 100); do
		if [[ -f $err ]] && grep -q "listening on" "$err"; then
			[[ $(cat "/proc/$pid/comm") == tcpdump ]] || die "PID $pid is not tcpdump"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$err" >&2
	die "tcpdump did not start for $file"
}

# lib_stop_caps: 1 s pause after the clients are done, SIGTERM every running
# tcpdump, wait; fail on kernel drops.
lib_stop_caps() {
	local pid err
	sleep 1
	for pid in "${CAP_PIDS[@]}"; do
		kill -TERM "$pid"
		wait "$pid" || true
		lib_forget_pid "$pid"
	done
	for err in "${CAP_LOGS[@]}"; do
		grep -q '^0 packets dropped by kernel' "$err" || { cat "$err" >&2; die "tcpdump reports drops ($err)"; }
	done
	CAP_PIDS=()
	CAP_LOGS=()
}

# ---------------------------------------------------------------- clients

# lib_py LOGNAME SCRIPT args...: one bounded python client run inside the namespace
lib_py() {
	local name=$1 script=$2
	shift 2
	timeout 90 nsenter --net="/run/netns/$NS" python3 -B "$HERE/$script" "$@" >"$WORK/py.$name.log" 2>&1 ||
		{ cat "$WORK/py.$name.log" >&2; die "client $script failed"; }
}

# lib_swaks LOGNAME EXPECTED_RC swaks-args...: one bounded swaks run inside the namespace
lib_swaks() {
	local name=$1 want=$2 rc=0
	shift 2
	timeout 60 nsenter --net="/run/netns/$NS" swaks --from sender@example.org --helo client.example.org \
		--port "$PORT" --timeout 15s "$@" >"$WORK/swaks.$name.log" 2>&1 || rc=$?
	if [[ $rc != "$want" ]]; then
		cat "$WORK/swaks.$name.log" >&2
		die "swaks $name exited $rc, expected $want"
	fi
}

# ---------------------------------------------------------------- checks

# lib_count FILE FILTER: number of frames matching a tshark display filter
lib_count() {
	tshark -r "$1" -Y "$2" -T fields -e frame.number 2>/dev/null | grep -c . || true
}

# lib_streams FILE: number of TCP connections
lib_streams() {
	tshark -r "$1" -T fields -e tcp.stream 2>/dev/null | sort -u | grep -c . || true
}

# lib_expect FILE WHAT WANT GOT: report a mismatch (return 1)
lib_expect() {
	[[ $4 == "$3" ]] && return 0
	echo "$1: $2: got $4, expected $3" >&2
	return 1
}

# lib_clean_tcp FILE: no lost/unseen/retransmitted/out-of-order segment
lib_clean_tcp() {
	lib_expect "$1" "frames with lost/unseen/retransmitted/out-of-order segments" 0 \
		"$(lib_count "$1" 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment || tcp.analysis.retransmission || tcp.analysis.out_of_order')"
}
