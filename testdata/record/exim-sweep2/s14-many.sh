set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s14; mkdir -p $D; S=127.0.0.14; C=127.0.1.14
for a in $S $C; do add_addr $a; done
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\nacl_smtp_data = acl_data\nsmtp_accept_max = 0\nsmtp_accept_queue_per_connection = 0\n' > $D/extra.conf
cat > $D/tail.conf <<'EOT'
acl_data:
  deny    condition = ${if match{$h_subject:}{reject me}}
          message = 5.7.0 content rejected
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
P=$B/caps/many-exim.pcap
cap_start $P "tcp and host $S"
cat > $D/drive.py <<'EOT'
import sys, time
sys.path.insert(0, sys.argv[-1]); from cl import run
S,C=sys.argv[1],sys.argv[2]
def sess(frm,to,subj,mid):
    body=('From: %s\r\nSubject: %s\r\nMessage-Id: <%s>\r\n\r\nbody\r\n.\r\n'%(frm,subj,mid)).encode()
    return [('s',b'EHLO py.example.org\r\n'),('r',),('s',('MAIL FROM:<%s>\r\n'%frm).encode()),('r',),('s',('RCPT TO:<%s>\r\n'%to).encode()),('r',),
            ('s',b'DATA\r\n'),('r',),('s',body),('r',),('s',b'QUIT\r\n'),('r',),('fin',)]
log=open(sys.argv[3],'w')
for i in range(100):
    run(S,25,C,sess('monitor@example.org','ops@example.test','alert %d'%i,'alert-%d@example.org'%i),log)
for i in range(4):
    run(S,25,C,[('s',b'EHLO py.example.org\r\n'),('r',),('s',b'MAIL FROM:<monitor@example.org>\r\n'),('r',),('s',b'RCPT TO:<nobody@example.test>\r\n'),('r',),('s',b'QUIT\r\n'),('r',),('fin',)],log); time.sleep(0.5)
for i in range(4):
    run(S,25,C,sess('news@example.org','ops@example.test','reject me %d'%i,'rej-%d@example.org'%i),log); time.sleep(0.5)
EOT
timeout 200 nsenter --net=/run/netns/$NS python3 $D/drive.py $S $C $D/drive.log $REC
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
