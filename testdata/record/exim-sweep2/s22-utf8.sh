set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s22; mkdir -p $D; S=127.0.0.22; C=127.0.1.22
for a in $S $C; do add_addr $a; done
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\nsmtputf8_advertise_hosts = *\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
sed -i 's/message     = unknown user/message     = 5.1.1 Empfänger unbekannt – bitte prüfen/' $D/exim.conf
exim -C $D/exim.conf -bV >/dev/null || exit 1
exim_start $D $S; P1=$EXIM_PID
P=$B/caps/utf8-exim.pcap
cap_start $P "tcp and host $S"
printf "STEPS=[('s',b'EHLO py.example.org\\\\r\\\\n'),('r',),('s','MAIL FROM:<jörg@example.org> SMTPUTF8\\\\r\\\\n'.encode()),('r',),('s','RCPT TO:<nobody@example.test>\\\\r\\\\n'.encode()),('r',),('s','RCPT TO:<müller@example.test>\\\\r\\\\n'.encode()),('r',),('s',b'DATA\\\\r\\\\n'),('r',),('s','Subject: Grüße\\\\r\\\\n\\\\r\\\\nhallo\\\\r\\\\n.\\\\r\\\\n'.encode()),('r',),('s',b'QUIT\\\\r\\\\n'),('r',),('fin',)]\n" > $D/c1.py
cat $D/c1.py
timeout 60 nsenter --net=/run/netns/$NS python3 $REC/cl.py $S 25 $C $D/c1.py 2>$D/c1.log
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
