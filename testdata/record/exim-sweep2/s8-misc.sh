set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s8; mkdir -p $D; S=127.0.0.8; C=127.0.1.8; C2=127.0.1.88
for a in $S $C $C2; do add_addr $a; done
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\nacl_smtp_connect = acl_conn\nacl_smtp_vrfy = acl_vrfy\nacl_smtp_expn = acl_expn\n' > $D/extra.conf
cat > $D/tail.conf <<'EOT'

begin acl
acl_conn:
  deny    hosts = 127.0.1.88
          message = 5.7.1 service refused for your network
  accept
acl_vrfy:
  accept  local_parts = user
  deny    message = no such user here
acl_expn:
  deny    message = EXPN not allowed
EOT
exim_conf $D $S $D/extra.conf || exit 1
# merge the extra acls into the acl section: append before "begin routers"
python3 - $D/exim.conf $D/tail.conf <<'EOT'
import sys
c=open(sys.argv[1]).read(); t=open(sys.argv[2]).read().replace('\nbegin acl\n','')
c=c.replace('acl_check_rcpt:\n','acl_check_rcpt:\n  drop    local_parts = dropme\n          message = dropping you\n',1)
c=c.replace('\nbegin routers\n', t+'\nbegin routers\n',1)
open(sys.argv[1],'w').write(c)
EOT
exim -C $D/exim.conf -bV >/dev/null || { echo badconf; exit 1; }
exim_start $D $S; P1=$EXIM_PID
P=$B/caps/misc-exim.pcap
cap_start $P "tcp and host $S"
M="('s',b'MAIL FROM:<a@example.org>\r\n'),('r',),('s',b'RCPT TO:<user@example.test>\r\n'),('r',),('s',b'DATA\r\n'),('r',),('s',b'Subject: m\r\n\r\nhello\r\n.\r\n'),('r',)"
cat > $D/c1.py <<EOT
STEPS=[('s',b'HELO py.example.org\r\n'),('r',),('s',b'NOOP\r\n'),('r',),('s',b'HELP\r\n'),('r',),('s',b'VRFY user\r\n'),('r',),('s',b'VRFY bob\r\n'),('r',),('s',b'EXPN staff\r\n'),('r',),
('s',b'FOO bar\r\n'),('r',),$M,('s',b'RSET\r\n'),('r',),('s',b'MAIL FROM:<b@example.org>\r\n'),('r',),('s',b'RSET\r\n'),('r',),$M,('s',b'QUIT\r\n'),('r',),('fin',)]
EOT
cat > $D/c2.py <<EOT
STEPS=[('s',b'EHLO py.example.org\r\n'),('r',),('s',b'XYZZY\r\n'),('r',),('s',b'PLUGH\r\n'),('r',),('s',b'FROB\r\n'),('r',),('s',b'QUUX\r\n'),('r',),('eof',)]
EOT
cat > $D/c3.py <<EOT
STEPS=[('s',b'EHLO py.example.org\r\n'),('r',),('s',b'MAIL FROM:<a@example.org>\r\n'),('r',),('s',b'RCPT TO:<dropme@example.test>\r\n'),('r',),('eof',)]
EOT
for i in 1 2 3; do timeout 60 nsenter --net=/run/netns/$NS python3 $REC/cl.py $S 25 $C $D/c$i.py 2>$D/c$i.log; sleep 0.3; done
timeout 30 nsenter --net=/run/netns/$NS swaks --server $S --local-interface $C2 --helo client.example.org --from sender@example.org --to user@example.test > $D/sw4.log 2>&1
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
