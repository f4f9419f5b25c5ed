set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s11b; mkdir -p $D; S=127.0.0.11; C=127.0.1.11
for a in $S $C; do add_addr $a; done
rm -f $D/pass
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\nsmtp_accept_max_per_connection = 2\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
python3 - $D/exim.conf $D <<'EOT'
import sys
c=open(sys.argv[1]).read()
c=c.replace('acl_check_rcpt:\n','acl_check_rcpt:\n  defer   local_parts = greypass\n          condition = ${if exists{%s/pass}{no}{yes}}\n          message = 4.7.1 greylisted, come back later\n'%sys.argv[2],1)
open(sys.argv[1],'w').write(c)
EOT
chmod 755 $D
exim -C $D/exim.conf -bV >/dev/null || { echo badconf; exit 1; }
exim_start $D $S; P1=$EXIM_PID
P=$B/caps/greypass-nomid-exim.pcap
cap_start $P "tcp and host $S"
SW="timeout 30 nsenter --net=/run/netns/$NS swaks --server $S --local-interface $C --helo client.example.org"
echo "STEPS=[('s',b'EHLO py.example.org\\r\\n'),('r',),('s',b'MAIL FROM:<sender@example.org>\\r\\nRCPT TO:<greypass@example.test>\\r\\nDATA\\r\\n'),('r',3),('s',b'Subject: g\\r\\n\\r\\nhi\\r\\n.\\r\\n'),('r',),('s',b'QUIT\\r\\n'),('r',),('fin',)]" > $D/gok.py
echo "STEPS=[('s',b'EHLO py.example.org\\r\\n'),('r',),('s',b'MAIL FROM:<sender@example.org>\\r\\n'),('r',),('s',b'RCPT TO:<greypass@example.test>\\r\\n'),('r',),('s',b'QUIT\\r\\n'),('r',),('fin',)]" > $D/gdef.py
for i in 1 2 3 4; do
  [[ $i == 4 ]] && touch $D/pass
  timeout 30 nsenter --net=/run/netns/$NS python3 $REC/cl.py $S 25 $C $D/g$([[ $i == 4 ]] && echo ok || echo def).py 2>$D/g$i.log; sleep 2
done
# three messages on one connection; server allows 2
M() { echo "('s',b'MAIL FROM:<a@example.org>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n'),('r',3),('s',b'Subject: m$1\r\n\r\nhi\r\n.\r\n'),('r',)"; }
echo "STEPS=[('s',b'EHLO py.example.org\r\n'),('r',),$(M 1),$(M 2),('s',b'MAIL FROM:<a@example.org>\r\n'),('r',),('eof',)]" > $D/c5.py
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
