set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s5; mkdir -p $D; S=127.0.0.5; C=127.0.1.5
for a in $S $C; do add_addr $a; done
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
exim_start $D $S; P1=$EXIM_PID
P=$B/caps/greylist-exim.pcap
cap_start $P "tcp and host $S"
# 4 attempts of the same envelope (RCPT deferred 451), 3 s apart; then swaks attempts x2 pipelined
echo "STEPS=[('s',b'EHLO py.example.org\r\n'),('r',),('s',b'MAIL FROM:<bounce@example.org> SIZE=1234\r\n'),('r',),('s',b'RCPT TO:<grey@example.test>\r\n'),('r',),('s',b'QUIT\r\n'),('r',),('fin',)]" > $D/c.py
for i in 1 2 3 4; do timeout 60 nsenter --net=/run/netns/$NS python3 $REC/cl.py $S 25 $C $D/c.py 2>$D/c$i.log; sleep 3; done
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
