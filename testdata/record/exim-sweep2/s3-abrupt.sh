set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s3; mkdir -p $D; S=127.0.0.3; C=127.0.1.3
for a in $S $C; do add_addr $a; done
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\nsmtp_receive_timeout = 5s\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
exim_start $D $S; P1=$EXIM_PID
P=$B/caps/abrupt-exim.pcap
cap_start $P "tcp and host $S"
ENV="('s',b'EHLO py.example.org\r\n'),('r',),('s',b'MAIL FROM:<a@example.org>\r\n'),('r',),('s',b'RCPT TO:<user@example.test>\r\n'),('r',),('s',b'DATA\r\n'),('r',),('s',b'From: a@example.org\r\nSubject: cut\r\n\r\nfirst part of the body\r\n'),('w',0.5),('s',b'second part, no end\r\n'),('w',0.5)"
echo "STEPS=[$ENV,('fin',)]" > $D/c1.py
echo "STEPS=[$ENV,('rst',)]" > $D/c2.py
echo "STEPS=[('s',b'EHLO py.example.org\r\n'),('r',),('eof',)]" > $D/c3.py
echo "STEPS=[$ENV,('eof',)]" > $D/c4.py
for i in 1 2 3 4; do timeout 60 nsenter --net=/run/netns/$NS python3 $REC/cl.py $S 25 $C $D/c$i.py 2>$D/c$i.log; sleep 0.5; done
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
