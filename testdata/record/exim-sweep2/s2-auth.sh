set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s2; mkdir -p $D; S=127.0.0.2; C=127.0.1.2
for a in $S $C; do add_addr $a; done
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\nauth_advertise_hosts = *\n' > $D/extra.conf
cat > $D/tail.conf <<'EOT'

begin authenticators

PLAIN:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and{{eq{$auth2}{user}}{eq{$auth3}{secret}}}}
  server_set_id = $auth2
  server_advertise_condition = true

LOGIN:
  driver = plaintext
  public_name = LOGIN
  server_prompts = <| Username: | Password:
  server_condition = ${if and{{eq{$auth1}{user}}{eq{$auth2}{secret}}}}
  server_set_id = $auth1
  server_advertise_condition = true
EOT
exim_conf $D $S $D/extra.conf $D/tail.conf || exit 1
exim_start $D $S; P1=$EXIM_PID
P=$B/caps/auth-exim.pcap
cap_start $P "tcp and host $S"
SW="timeout 30 nsenter --net=/run/netns/$NS swaks --server $S --port 25 --local-interface $C --helo client.example.org --from sender@example.org --to user@example.test"
$SW --auth PLAIN --auth-user user --auth-password secret > $D/sw1.log 2>&1
$SW --auth LOGIN --auth-user user --auth-password secret > $D/sw2.log 2>&1
$SW --auth PLAIN --auth-user user --auth-password wrong > $D/sw3.log 2>&1
$SW --auth LOGIN --auth-user user --auth-password wrong > $D/sw4.log 2>&1
# python: AUTH LOGIN cancelled with *, then AUTH PLAIN without initial response, then mail
cat > $D/c5.py <<'EOT'
STEPS=[('s',b'EHLO py.example.org\r\n'),('r',),('s',b'AUTH LOGIN\r\n'),('r',),('s',b'*\r\n'),('r',),
('s',b'AUTH PLAIN\r\n'),('r',),('s',b'AHVzZXIAc2VjcmV0\r\n'),('r',),
('s',b'MAIL FROM:<a@example.org>\r\n'),('r',),('s',b'RCPT TO:<user@example.test>\r\n'),('r',),('s',b'DATA\r\n'),('r',),
('s',b'Subject: t\r\n\r\nhello\r\n.\r\n'),('r',),('s',b'QUIT\r\n'),('r',),('fin',)]
EOT
timeout 60 nsenter --net=/run/netns/$NS python3 $REC/cl.py $S 25 $C $D/c5.py 2>$D/c5.log
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
