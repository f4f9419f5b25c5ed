set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s4; mkdir -p $D; S=127.0.0.4; C=127.0.1.4
for a in $S $C; do add_addr $a; done
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\nmessage_size_limit = 10K\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
exim_start $D $S; P1=$EXIM_PID
P=$B/caps/size-exim.pcap
cap_start $P "tcp and host $S"
python3 - $D <<'EOT'
import sys
d=sys.argv[1]
body=b'From: a@example.org\r\nSubject: big\r\n\r\n'+b''.join(b'line %05d of a long body xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n'%i for i in range(700))+b'.\r\n'
print(len(body))
H="('s',b'EHLO py.example.org\\r\\n'),('r',),"
open(d+'/c1.py','w').write("STEPS=["+H+"('s',b'MAIL FROM:<a@example.org> SIZE=51200\\r\\n'),('r',),('s',b'QUIT\\r\\n'),('r',),('fin',)]\n")
open(d+'/c2.py','w').write("STEPS=["+H+"('s',b'MAIL FROM:<a@example.org>\\r\\n'),('r',),('s',b'RCPT TO:<user@example.test>\\r\\n'),('r',),('s',b'DATA\\r\\n'),('r',),('s',%r),('r',),('s',b'QUIT\\r\\n'),('r',),('fin',)]\n"%body)
open(d+'/c3.py','w').write("STEPS=["+H+"('s',b'MAIL FROM:<a@example.org> SIZE=1000\\r\\n'),('r',),('s',b'RCPT TO:<user@example.test>\\r\\n'),('r',),('s',b'DATA\\r\\n'),('r',),('s',%r),('r',),('s',b'QUIT\\r\\n'),('r',),('fin',)]\n"%body)
EOT
for i in 1 2 3; do timeout 60 nsenter --net=/run/netns/$NS python3 $REC/cl.py $S 25 $C $D/c$i.py 2>$D/c$i.log; sleep 0.3; done
cat > $D/big.txt <<'EOT'
EOT
python3 -c "print('\n'.join('swaks body line %05d yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy'%i for i in range(800)))" > $D/big.txt
timeout 30 nsenter --net=/run/netns/$NS swaks --server $S --local-interface $C --helo client.example.org --from sender@example.org --to user@example.test --pipeline --body @$D/big.txt > $D/sw4.log 2>&1
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
