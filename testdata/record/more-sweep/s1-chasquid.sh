#!/bin/bash
# s1-chasquid.sh: chasquid 1.11 (bookworm, in the chroot) as server on 127.0.0.11 in namespace mo1.
# Captures: chasquid-rcpts, chasquid-relay, chasquid-size, chasquid-starttls, chasquid-auth,
# chasquid-barelf, chasquid-stall (client 127.0.0.19 stalls after MAIL until chasquid's 1 min timeout).
. "$(dirname "$0")/lib.sh"
NS=mo1 A=127.0.0.11
proc_mount
ns_up $NS $A 127.0.0.12 127.0.0.19
R=$ROOT
cat >$R/etc/chasquid/chasquid.conf <<EOC
hostname: "mx.example.test"
max_data_size_mb: 1
smtp_address: "$A:25"
submission_address: "$A:587"
submission_over_tls_address: "$A:465"
mail_delivery_agent_bin: "/usr/local/bin/mda"
mail_delivery_agent_args: "%to%"
data_dir: "/var/lib/chasquid"
mail_log_path: "<stderr>"
EOC
printf '#!/bin/sh\ncat >> /var/tmp/mbox.$1\n' >$R/usr/local/bin/mda; chmod +x $R/usr/local/bin/mda
mkdir -p $R/etc/chasquid/domains/example.test $R/etc/chasquid/certs/mx.example.test $R/var/lib/chasquid
rm -f $R/etc/chasquid/domains/example.test/users
chroot $R chasquid-util -C=/etc/chasquid user-add b@example.test --password=secret >/dev/null
chroot $R chasquid-util -C=/etc/chasquid user-add c@example.test --password=secret >/dev/null
# chasquid 1.11 here rejected userdb users at RCPT ("Auth.Exists: Rejected by default"), so also aliases:
printf 'b: | /usr/local/bin/mda b\nc: | /usr/local/bin/mda c\n' >$R/etc/chasquid/domains/example.test/aliases
[[ -f $R/etc/chasquid/certs/mx.example.test/privkey.pem ]] || openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=mx.example.test \
  -keyout $R/etc/chasquid/certs/mx.example.test/privkey.pem -out $R/etc/chasquid/certs/mx.example.test/fullchain.pem 2>/dev/null
LOG=$TOP/pcaps/chasquid.log; : >$LOG
nsenter --net=/run/netns/$NS chroot $ROOT chasquid -config_dir /etc/chasquid -alsologtostderr -logtime -v 1 >>$LOG 2>&1 &
SRV=$!
wait_listen $NS $A 25 || { stop_pid $SRV; exit 1; }
SW="timeout 60 swaks --server $A --from a@example.org --helo client.example.org -li 127.0.0.12"

# stall: in the background, its own capture (client 127.0.0.19)
cap_start $NS $PC/chasquid-stall.pcap "tcp and host 127.0.0.19"; STALLCAP=$CAP_PID
in_ns $NS timeout 150 python3 - $A >$PC/chasquid-stall.client.log 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection((sys.argv[1], 25), source_address=("127.0.0.19", 0)); s.settimeout(140)
def rd():
    d = s.recv(4096); print("<-", d, time.strftime("%T"), flush=True); return d
rd(); s.sendall(b"EHLO client.example.org\r\n"); time.sleep(0.3); rd()
s.sendall(b"MAIL FROM:<a@example.org>\r\n"); rd()
t = time.time()
while True:
    d = rd()
    if not d: break
print("server closed after %.1f s" % (time.time() - t), flush=True); s.close()
PY
STALL=$!

run() { # NAME CMD...
  local n=$1; shift
  echo "### $n $(date +%T)" >>$LOG
  cap_start $NS $PC/$n.pcap "tcp and host 127.0.0.12"
  "$@" >$PC/$n.client.log 2>&1
  wait_closed $NS 127.0.0.12; sleep 0.3
  cap_stop $CAP_PID $PC/$n.pcap
}
run chasquid-rcpts  in_ns $NS $SW --to b@example.test,nobody@example.test,c@example.test
run chasquid-relay  in_ns $NS $SW --to x@elsewhere.org
head -c 1600000 /dev/urandom | base64 -w 76 >$W/big.txt
run chasquid-size   in_ns $NS $SW --to b@example.test --body @$W/big.txt
run chasquid-starttls in_ns $NS $SW --to b@example.test -tls
auth_pair() {
  in_ns $NS $SW --port 587 -tls --to x@elsewhere.org --auth PLAIN --auth-user b@example.test --auth-password wrong
  in_ns $NS $SW --port 587 -tls --to x@elsewhere.org --auth PLAIN --auth-user b@example.test --auth-password secret
}
run chasquid-auth   auth_pair
run chasquid-size-auth in_ns $NS $SW --port 587 -tls --to x@elsewhere.org --auth PLAIN --auth-user b@example.test --auth-password secret --body @$W/big.txt
run chasquid-barelf in_ns $NS python3 $REC/barelf_client.py --server $A --bind 127.0.0.12

for _ in $(seq 1 150); do kill -0 $STALL 2>/dev/null || break; sleep 1; done
wait $STALL; wait_closed $NS 127.0.0.19; sleep 0.3
cap_stop $STALLCAP $PC/chasquid-stall.pcap
stop_pid $SRV
for n in rcpts relay size size-auth starttls auth barelf stall; do analyse chasquid-$n; done
