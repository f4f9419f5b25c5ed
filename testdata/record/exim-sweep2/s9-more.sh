set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s9; mkdir -p $D; S=127.0.0.9; C=127.0.1.9
for a in $S $C; do add_addr $a; done
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\nacl_smtp_data = acl_data\nacl_smtp_mail = acl_mail\nsmtp_accept_max = 1\n' > $D/extra.conf
cat > $D/tail.conf <<'EOT'
acl_data:
  defer   condition = ${if match{$h_subject:}{defer me}}
          message = 4.3.0 queue full, try later
  accept
acl_mail:
  deny    senders = spammer@example.org
          message = 5.7.1 sender blocked
  accept
EOT
exim_conf $D $S $D/extra.conf || exit 1
python3 - $D/exim.conf $D/tail.conf <<'EOT'
import sys
c=open(sys.argv[1]).read(); t=open(sys.argv[2]).read()
c=c.replace('\nbegin routers\n', '\n'+t+'\nbegin routers\n',1)
open(sys.argv[1],'w').write(c)
EOT
exim -C $D/exim.conf -bV >/dev/null || { echo badconf; exit 1; }
exim_start $D $S; P1=$EXIM_PID
P=$B/caps/more-exim.pcap
cap_start $P "tcp and host $S"
SW="timeout 30 nsenter --net=/run/netns/$NS swaks --server $S --local-interface $C --helo client.example.org"
# 1: pipelined, all RCPTs refused -> DATA 503/554
$SW --from sender@example.org --to nobody@example.test,x@other.example --pipeline > $D/sw1.log 2>&1
# 2: pipelined, MAIL refused
$SW --from spammer@example.org --to user@example.test --pipeline > $D/sw2.log 2>&1
# 3-5: data-phase defer, same Message-Id, 3 attempts 2s apart
for i in 1 2 3; do $SW --from sender@example.org --to user@example.test --pipeline --header 'Subject: defer me' --header 'Message-Id: <fixed-123@example.org>' > $D/sw3-$i.log 2>&1; sleep 2; done
# 6: two concurrent: first holds the slot (python idles 3s), second gets 421 at greeting
echo "STEPS=[('s',b'EHLO hold.example.org\r\n'),('r',),('w',3),('s',b'QUIT\r\n'),('r',),('fin',)]" > $D/hold.py
timeout 30 nsenter --net=/run/netns/$NS python3 $REC/cl.py $S 25 $C $D/hold.py 2>$D/hold.log &
HP=$!
sleep 1
$SW --from sender@example.org --to user@example.test > $D/sw6.log 2>&1
wait $HP
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
