set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s18; mkdir -p $D; S=127.0.0.18; C=127.0.1.18
for a in $S $C; do add_addr $a; done
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
exim_start $D $S; P1=$EXIM_PID
P=$B/caps/helo-ext-exim.pcap
cap_start $P "tcp and host $S"
# 1: HELO then MAIL with SIZE= and BODY=8BITMIME (extensions not negotiated)
echo "STEPS=[('s',b'HELO py.example.org\r\n'),('r',),('s',b'MAIL FROM:<a@example.org> SIZE=100 BODY=8BITMIME\r\n'),('r',),('s',b'MAIL FROM:<a@example.org>\r\n'),('r',),('s',b'RCPT TO:<user@example.test>\r\n'),('r',),('s',b'DATA\r\n'),('r',),('s',b'Subject: h\r\n\r\nhi\r\n.\r\n'),('r',),('s',b'QUIT\r\n'),('r',),('fin',)]" > $D/c1.py
# 2: HELO then pipelined MAIL+RCPT+DATA (PIPELINING not offered after HELO)
echo "STEPS=[('s',b'HELO py.example.org\r\n'),('r',),('s',b'MAIL FROM:<a@example.org>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n'),('r',3),('s',b'QUIT\r\n'),('r',),('fin',)]" > $D/c2.py
# 3: EHLO twice, second resets; message after; then NOOP pipelined with QUIT
echo "STEPS=[('s',b'EHLO py.example.org\r\n'),('r',),('s',b'MAIL FROM:<a@example.org>\r\n'),('r',),('s',b'EHLO py.example.org\r\n'),('r',),('s',b'MAIL FROM:<a@example.org>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n'),('r',3),('s',b'Subject: e\r\n\r\nhi\r\n.\r\n'),('r',),('s',b'NOOP\r\nQUIT\r\n'),('r',2),('fin',)]" > $D/c3.py
for i in 1 2 3; do timeout 60 nsenter --net=/run/netns/$NS python3 $REC/cl.py $S 25 $C $D/c$i.py 2>$D/c$i.log; sleep 0.3; done
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
