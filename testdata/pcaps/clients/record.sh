#!/usr/bin/env bash
# record.sh: re-records the captures of this directory: everyday SMTP clients
# from Debian 12 (curl 7.88, msmtp 1.8.23, s-nail 14.9, Perl's Net::SMTP, Python 3.11's smtplib) talking to a real Exim 4.96
# (server.conf.in) on 127.0.0.2 in a network namespace of its own: port 25
# plain with STARTTLS, port 465 TLS from the first byte; SIZE 64K; RCPT to
# nobody@ refused with 550.
#
#   sudo testdata/pcaps/clients/record.sh [SCENARIO...]   (default: all)
#
# Needs exim4-daemon-light, curl, msmtp, s-nail, libio-socket-ssl-perl, tcpdump, openssl, iproute2 and
# ethtool (apt-get install). Every wait is bounded; only the processes it
# starts are stopped, by PID; the namespace is removed at the end.
set -uo pipefail
D=$(cd "$(dirname "$0")" && pwd)
NS=smtpcap-clients
SRV=127.0.0.2
W=$(mktemp -d)
chmod 755 "$W"
nsx() { ip netns exec $NS "$@"; }

setup() {
	ip netns add $NS
	nsx ip link set lo up
	nsx ip link set lo mtu 1500
	nsx ip addr add $SRV/8 dev lo 2>/dev/null || true
	nsx ethtool -K lo tso off gso off gro off
	mkdir -p "$W/spool" "$W/log" "$W/msgs"
	chown -R Debian-exim:Debian-exim "$W/spool" "$W/log"
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=mx.example.test \
		-keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null
	chgrp Debian-exim "$W/key.pem"
	chmod 640 "$W/key.pem"
	sed "s#WORK#$W#g" "$D/server.conf.in" > "$W/server.conf"
	ip netns exec $NS exim -bdf -C "$W/server.conf" > "$W/exim.out" 2>&1 &
	EXIM=$!
	for _ in $(seq 1 50); do nsx ss -ltn | grep -q "$SRV:25 " && break; sleep 0.1; done
	M=$W/msgs
	printf 'From: sender@example.org\r\nTo: user@example.test\r\nSubject: plain test\r\nDate: Thu, 03 Dec 2026 12:00:00 +0000\r\nMessage-ID: <plain@example.org>\r\n\r\nHello, this is a plain test.\r\nSecond line.\r\n' > "$M/plain.eml"
	# LF line endings, a line starting with a dot, two dots, a lone dot
	printf 'From: sender@example.org\nTo: user@example.test\nSubject: unix line endings\n\nThis file has LF line endings.\n.a line starting with a dot\n..two dots\n.\nafter a lone dot line\n' > "$M/lf.eml"
	printf 'Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln, \xe2\x82\xac 5.\n' > "$M/8bit-body.txt"
	# 100 KB, over the 64K limit (the same bytes every time)
	{ printf 'From: sender@example.org\r\nTo: user@example.test\r\nSubject: too big\r\n\r\n'
	  for i in $(seq 1 1300); do printf 'line %04d of a message larger than the server takes ..................\r\n' "$i"; done; } > "$M/big.eml"
}

teardown() {
	if [[ -n ${EXIM:-} ]]; then
		kill -TERM "$EXIM" 2>/dev/null
		for _ in $(seq 1 50); do kill -0 "$EXIM" 2>/dev/null || break; sleep 0.1; done
	fi
	ip netns del $NS 2>/dev/null
	rm -rf "$W"
}
trap teardown EXIT

# run NAME COMMAND...: capture one client run (bounded to 60 s).
run() {
	local name=$1
	shift
	# ip netns exec execs tcpdump: $! is tcpdump itself, to be stopped by PID
	ip netns exec $NS tcpdump -i lo --immediate-mode -U -w "$D/$name.pcap" "tcp and host $SRV" 2> "$W/$name.tcpdump" &
	local cap=$!
	for _ in $(seq 1 30); do grep -q listening "$W/$name.tcpdump" && break; sleep 0.1; done
	echo "== $name" >&2
	ip netns exec $NS timeout 60 "$@" > "$W/$name.client" 2>&1
	for _ in $(seq 1 100); do nsx ss -tn state established | grep -q "$SRV" || break; sleep 0.2; done
	sleep 1.5
	kill -TERM $cap
	for _ in $(seq 1 50); do kill -0 $cap 2>/dev/null || break; sleep 0.1; done
	wait $cap 2>/dev/null
}

M=$W/msgs
CURL=(curl -sS --connect-timeout 10 --max-time 50)
MS="msmtp -C /dev/null --host=$SRV --domain=msmtpclient.example.org --from=sender@example.org --tls-certcheck=off"
scenario() {
	case $1 in
	curl-plain) run "$1" "${CURL[@]}" smtp://$SRV:25 --mail-from sender@example.org --mail-rcpt user@example.test --upload-file "$M/plain.eml" ;;
	curl-rcpt3) run "$1" "${CURL[@]}" smtp://$SRV:25 --mail-from sender@example.org --mail-rcpt a@example.test --mail-rcpt nobody@example.test --mail-rcpt c@example.test --upload-file "$M/plain.eml" ;;
	curl-lf) run "$1" "${CURL[@]}" smtp://$SRV:25 --mail-from sender@example.org --mail-rcpt user@example.test --upload-file "$M/lf.eml" ;;
	curl-lf-crlf) run "$1" "${CURL[@]}" smtp://$SRV:25 --crlf --mail-from sender@example.org --mail-rcpt user@example.test --upload-file "$M/lf.eml" ;;
	curl-smtps) run "$1" "${CURL[@]}" smtps://$SRV:465 -k --mail-from sender@example.org --mail-rcpt user@example.test --upload-file "$M/plain.eml" ;;
	curl-plain-to-465) run "$1" "${CURL[@]}" --max-time 8 smtp://$SRV:465 --mail-from sender@example.org --mail-rcpt user@example.test --upload-file "$M/plain.eml" ;;
	msmtp-plain) run "$1" sh -c "$MS --port=25 --tls=off user@example.test < $M/plain.eml" ;;
	msmtp-rcpt3) run "$1" sh -c "$MS --port=25 --tls=off a@example.test nobody@example.test c@example.test < $M/plain.eml" ;;
	msmtp-lf) run "$1" sh -c "$MS --port=25 --tls=off user@example.test < $M/lf.eml" ;;
	msmtp-big) run "$1" sh -c "$MS --port=25 --tls=off user@example.test < $M/big.eml" ;;
	msmtp-smtps) run "$1" sh -c "$MS --port=465 --tls=on --tls-starttls=off user@example.test < $M/plain.eml" ;;
	msmtp-smtps-to-25) run "$1" sh -c "$MS --timeout=8 --port=25 --tls=on --tls-starttls=off user@example.test < $M/plain.eml" ;;
	msmtp-starttls-to-465) run "$1" sh -c "$MS --timeout=8 --port=465 --tls=on user@example.test < $M/plain.eml" ;;
	perl-starttls) run "$1" perl "$D/netsmtp.pl" "$M/plain.eml" ;;
	# Python's smtplib writes its commands in lower case ("mail FROM:", "rcpt TO:", "data")
	smtplib-rcpt3) run "$1" /usr/bin/python3 -c "import smtplib, sys; s = smtplib.SMTP('$SRV', 25, local_hostname='pyclient.example.org'); print(s.sendmail('sender@example.org', ['a@example.test', 'nobody@example.test', 'c@example.test'], open('$M/plain.eml', 'rb').read())); s.quit()" ;;
	snail-8bit) run "$1" sh -c "HOME=$W LC_ALL=C.UTF-8 s-nail -:/ -Sv15-compat -Sttycharset=utf-8 -Sencoding=8bit -Smta=smtp://$SRV:25 -Ssmtp-auth=none -Sfrom=sender@example.org -Shostname=snail.example.org -s 'snail 8bit' user@example.test < $M/8bit-body.txt" ;;
	*) echo "unknown scenario $1" >&2 ;;
	esac
}
ALL=(curl-plain curl-rcpt3 curl-lf curl-lf-crlf curl-smtps curl-plain-to-465
	msmtp-plain msmtp-rcpt3 msmtp-lf msmtp-big msmtp-smtps msmtp-smtps-to-25 msmtp-starttls-to-465
	snail-8bit perl-starttls smtplib-rcpt3)
setup
if [[ $# -eq 0 ]]; then set -- "${ALL[@]}"; fi
for s in "$@"; do scenario "$s"; done
