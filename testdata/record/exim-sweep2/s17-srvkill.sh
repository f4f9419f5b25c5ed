set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s17; mkdir -p $D; S=fd00::17; C=fd00::18
for a in $S $C; do add_addr $a; done
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\nsmtp_receive_timeout = 30s\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
exim_start $D $S; P1=$EXIM_PID
P=$B/caps/srvkill-ipv6-exim.pcap
cap_start $P "tcp and host $S"
echo "STEPS=[('s',b'EHLO\r\n'),('r',),('s',b'HELO py.example.org\r\n'),('r',),('s',b'MAIL FROM:<a@example.org>\r\n'),('r',),('s',b'RCPT TO:<user@example.test>\r\n'),('r',),('s',b'DATA\r\n'),('r',),('s',b'Subject: k\r\n\r\npart one\r\n'),('w',3),('s',b'part two\r\n'),('w',1),('s',b'part three\r\n.\r\n'),('r',),('eof',)]" > $D/c1.py
timeout 60 nsenter --net=/run/netns/$NS python3 $REC/cl.py $S 25 $C $D/c1.py 2>$D/c1.log &
CP=$!
sleep 1.5
CH=$(pgrep -P $P1 | head -1); echo "child=$CH $(cat /proc/$CH/comm 2>/dev/null)"
[[ -n $CH ]] && kill -KILL $CH
wait $CP
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
