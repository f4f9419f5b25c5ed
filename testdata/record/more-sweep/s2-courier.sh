#!/bin/bash
# s2-courier.sh: Courier 1.0.16 courieresmtpd under couriertcpd (foreground, in the chroot) on
# 127.0.0.21 in namespace mo2; clients from 127.0.0.22 (not a relay client) and 127.0.0.29 (stall).
. "$(dirname "$0")/lib.sh"
NS=mo2 A=127.0.0.21
proc_mount
ns_up $NS $A 127.0.0.22 127.0.0.29
R=$ROOT
echo mx.example.test >$R/etc/courier/me
echo example.test >$R/etc/courier/defaultdomain
printf 'localhost\nexample.test\nmx.example.test\n' >$R/etc/courier/locals
echo example.test >$R/etc/courier/esmtpacceptmailfor.dir/example
echo 1000000 >$R/etc/courier/sizelimit
echo 20 >$R/etc/courier/esmtptimeout
for u in b c; do chroot $R id $u >/dev/null 2>&1 || chroot $R useradd -m $u; done
chroot $R /usr/sbin/makesmtpaccess >/dev/null 2>&1 || chroot $R /usr/lib/courier/makesmtpaccess
chroot $R /usr/lib/courier/makeacceptmailfor
chroot $R /usr/lib/courier/makealiases 2>/dev/null
cat >$R/usr/local/bin/run-esmtpd <<EOC
#!/bin/sh
set -a
. /etc/courier/esmtpd
BOFHCHECKDNS=0
TARPIT=0
ESMTP_LOG_DIALOG=1
exec /usr/sbin/couriertcpd -user=courier -group=courier -address=$A -access=/etc/courier/smtpaccess.dat -nodnslookup -noidentlookup -maxprocs=40 -maxperip=5 25 /usr/sbin/courieresmtpd
EOC
chmod +x $R/usr/local/bin/run-esmtpd
LOG=$PC/courier.log; : >$LOG
mkdir -p $R/run/courier
echo 'b:secret' | chroot $R chpasswd
sed -i 's/^ESMTPAUTH_TLS=.*/ESMTPAUTH_TLS="PLAIN LOGIN"/' $R/etc/courier/esmtpd
mkdir -p $R/run/courier/authdaemon; chroot $R chown courier:courier /run/courier/authdaemon 2>/dev/null
nsenter --net=/run/netns/$NS chroot $ROOT env -i PATH=/usr/bin:/bin:/usr/sbin /usr/lib/courier/courier-authlib/authdaemond >>$PC/authdaemond.log 2>&1 &
AD=$!
for _ in $(seq 1 50); do [[ -S $R/run/courier/authdaemon/socket ]] && break; sleep 0.1; done
# courierd (the scheduler) so accepted mail is queued as on a real host
nsenter --net=/run/netns/$NS chroot $ROOT env -i PATH=/usr/bin:/bin:/usr/sbin /usr/lib/courier/courier/courierd >>$PC/courierd.log 2>&1 &
CD=$!
nsenter --net=/run/netns/$NS chroot $ROOT env -i PATH=/usr/bin:/bin:/usr/sbin /usr/local/bin/run-esmtpd >>$LOG 2>&1 &
SRV=$!
wait_listen $NS $A 25 || { stop_pid $SRV; stop_pid $CD; stop_pid $AD; exit 1; }
SW="timeout 60 swaks --server $A --from a@example.org --helo client.example.org -li 127.0.0.22"

cap_start $NS $PC/courier-stall.pcap "tcp and host 127.0.0.29"; STALLCAP=$CAP_PID
in_ns $NS timeout 100 python3 - $A >$PC/courier-stall.client.log 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection((sys.argv[1], 25), source_address=("127.0.0.29", 0)); s.settimeout(95)
def rd():
    d = s.recv(4096); print("<-", d, time.strftime("%T"), flush=True); return d
rd(); s.sendall(b"EHLO client.example.org\r\n"); time.sleep(0.3); rd()
s.sendall(b"MAIL FROM:<a@example.org>\r\n"); rd()
t = time.time()
try:
    while True:
        d = rd()
        if not d: break
    print("server closed after %.1f s" % (time.time() - t), flush=True)
except socket.timeout:
    print("no close after %.1f s; client QUITs" % (time.time() - t), flush=True); s.sendall(b"QUIT\r\n"); time.sleep(1)
s.close()
PY
STALL=$!

run() { # NAME CMD...
  local n=$1; shift
  echo "### $n $(date +%T)" >>$LOG
  cap_start $NS $PC/$n.pcap "tcp and host 127.0.0.22"
  "$@" >$PC/$n.client.log 2>&1
  wait_closed $NS 127.0.0.22; sleep 0.3
  cap_stop $CAP_PID $PC/$n.pcap
}
run courier-rcpts  in_ns $NS $SW --to b@example.test,nobody@example.test,c@example.test
run courier-relay  in_ns $NS $SW --to x@elsewhere.org
[[ -f $W/big.txt ]] || head -c 1600000 /dev/urandom | base64 -w 76 >$W/big.txt
run courier-size   in_ns $NS $SW --to b@example.test --body @$W/big.txt
run courier-starttls in_ns $NS $SW --to b@example.test -tls
auth_pair() {
  in_ns $NS $SW -tls --to x@elsewhere.org --auth PLAIN --auth-user b --auth-password wrong
  in_ns $NS $SW -tls --to x@elsewhere.org --auth PLAIN --auth-user b --auth-password secret
}
run courier-auth   auth_pair
run courier-barelf in_ns $NS python3 $REC/barelf_client.py --server $A --bind 127.0.0.22

for _ in $(seq 1 110); do kill -0 $STALL 2>/dev/null || break; sleep 1; done
wait $STALL; wait_closed $NS 127.0.0.29; sleep 0.3
cap_stop $STALLCAP $PC/courier-stall.pcap
stop_pid $SRV; stop_pid $CD; stop_pid $AD
for n in rcpts relay size starttls auth barelf stall; do analyse courier-$n; done
