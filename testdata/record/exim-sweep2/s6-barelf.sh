set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s6; mkdir -p $D; S=127.0.0.6; C=127.0.1.6
for a in $S $C; do add_addr $a; done
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\nsmtp_receive_timeout = 4s\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
exim_start $D $S; P1=$EXIM_PID
P=$B/caps/barelf-timeout-exim.pcap
cap_start $P "tcp and host $S"
H="('s',b'EHLO py.example.org\r\n'),('r',),('s',b'MAIL FROM:<a@example.org>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n'),('r',3)"
echo "STEPS=[$H,('s',b'From: a@example.org\r\nSubject: bare LF end\r\n\r\nbody line\r\n%%EOF\n.\r\n'),('eof',)]" > $D/c1.py
echo "STEPS=[$H,('s',b'From: a@example.org\nSubject: LF only\n\nbody line\n.\n'),('eof',)]" > $D/c2.py
for i in 1 2; do timeout 60 nsenter --net=/run/netns/$NS python3 $REC/cl.py $S 25 $C $D/c$i.py 2>$D/c$i.log; sleep 0.3; done
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
