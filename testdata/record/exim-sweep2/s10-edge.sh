set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s10; mkdir -p $D; S=127.0.0.10; C=127.0.1.10; C2=127.0.1.110
for a in $S $C $C2; do add_addr $a; done
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\nacl_smtp_connect = acl_conn\nsmtp_receive_timeout = 30s\n' > $D/extra.conf
cat > $D/tail.conf <<'EOT'
acl_conn:
  accept  hosts = 127.0.1.110
          delay = 2s
  accept
EOT
exim_conf $D $S $D/extra.conf || exit 1
python3 - $D/exim.conf $D/tail.conf <<'EOT'
import sys
c=open(sys.argv[1]).read(); t=open(sys.argv[2]).read()
c=c.replace('\nbegin routers\n', '\n'+t+'\nbegin routers\n',1)
open(sys.argv[1],'w').write(c)
EOT
exim -C $D/exim.conf -bV >/dev/null || { echo badconf; exit 1; }
exim_start $D $S; P1=$EXIM_PID
P=$B/caps/edge-exim.pcap
cap_start $P "tcp and host $S"
# a: dot-stuffing, terminator split "\r\n." | "\r\n" across segments, QUIT pipelined after it
cat > $D/c1.py <<'EOT'
STEPS=[('s',b'EHLO py.example.org\r\n'),('r',),('s',b'MAIL FROM:<a@example.org>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n'),('r',3),
('s',b'Subject: dots\r\n\r\n..leading dot line\r\n..\r\nlast line\r\n.'),('w',0.3),('s',b'\r\nQUIT\r\n'),('r',2),('fin',)]
EOT
# b: HELO, no pipelining, clean
cat > $D/c2.py <<'EOT'
STEPS=[('s',b'HELO py.example.org\r\n'),('r',),('s',b'MAIL FROM:<a@example.org>\r\n'),('r',),('s',b'RCPT TO:<user@example.test>\r\n'),('r',),('s',b'DATA\r\n'),('r',),
('s',b'Subject: helo\r\n\r\nhi\r\n.\r\n'),('r',),('s',b'QUIT\r\n'),('r',),('fin',)]
EOT
# c: stall of 12 s between EHLO reply and MAIL
cat > $D/c3.py <<'EOT'
STEPS=[('s',b'EHLO py.example.org\r\n'),('r',),('w',12),('s',b'MAIL FROM:<a@example.org>\r\n'),('r',),('s',b'RCPT TO:<user@example.test>\r\n'),('r',),('s',b'DATA\r\n'),('r',),
('s',b'Subject: slow\r\n\r\nhi\r\n.\r\n'),('r',),('s',b'QUIT\r\n'),('r',),('fin',)]
EOT
for i in 1 2 3; do timeout 60 nsenter --net=/run/netns/$NS python3 $REC/cl.py $S 25 $C $D/c$i.py 2>$D/c$i.log; sleep 0.3; done
# d: early talker against a 2 s greeting delay (raw client that does not wait for the banner)
cat > $D/early.py <<'EOT'
import socket,time,sys
s=socket.socket(); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1); s.bind(('127.0.1.110',0)); s.settimeout(20); s.connect(('127.0.0.10',25))
time.sleep(0.3); s.sendall(b'EHLO early.example.org\r\n')
try:
  while True:
    d=s.recv(4096)
    if not d: break
    print(d, file=sys.stderr)
    if b'220 ' in d: s.sendall(b'MAIL FROM:<a@example.org>\r\n')
except Exception as e: print(e, file=sys.stderr)
s.close()
EOT
timeout 30 nsenter --net=/run/netns/$NS python3 $D/early.py 2>$D/early.log
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
