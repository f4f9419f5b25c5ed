set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s20; mkdir -p $D; S=127.0.0.20; C=127.0.1.20
for a in $S $C; do add_addr $a; done
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
exim_start $D $S; P1=$EXIM_PID
P=$B/caps/slowclient-exim.pcap
cap_start $P "tcp and host $S"
echo "STEPS=[('w',12),('s',b'EHLO py.example.org\r\n'),('r',),('s',b'QUIT\r\n'),('r',),('fin',)]" > $D/c1.py
timeout 60 nsenter --net=/run/netns/$NS python3 $REC/cl.py $S 25 $C $D/c1.py 2>$D/c1.log
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
