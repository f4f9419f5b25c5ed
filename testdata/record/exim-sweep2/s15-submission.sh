set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s15; mkdir -p $D; S=127.0.0.15; C=127.0.1.15
for a in $S $C; do add_addr $a; done
cp $B/tls/*.pem $D/; chown Debian-exim $D/*.pem
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts = *\ntls_certificate = %s/cert.pem\ntls_privatekey = %s/key.pem\nauth_advertise_hosts = *\nacl_smtp_mail = acl_mail\n' $D $D > $D/extra.conf
cat > $D/tail.conf <<'EOT'

begin authenticators
PLAIN:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and{{eq{$auth2}{user}}{eq{$auth3}{secret}}}}
  server_set_id = $auth2
  server_advertise_condition = ${if eq{$tls_in_cipher}{}{no}{yes}}
EOT
exim_conf $D $S $D/extra.conf $D/tail.conf || exit 1
python3 - $D/exim.conf <<'EOT'
import sys
c=open(sys.argv[1]).read()
c=c.replace('\nbegin routers\n', '\nacl_mail:\n  deny    !authenticated = *\n          message = 530 5.7.0 Authentication required\n  accept\n\nbegin routers\n',1)
open(sys.argv[1],'w').write(c)
EOT
exim -C $D/exim.conf -bV >/dev/null || { echo badconf; exim -C $D/exim.conf -bV | head -3; exit 1; }
exim_start $D $S 587; P1=$EXIM_PID
P=$B/caps/submission-exim.pcap
cap_start $P "tcp and host $S"
SW="timeout 30 nsenter --net=/run/netns/$NS swaks --server $S --port 587 --local-interface $C --helo client.example.org --from sender@example.org --to user@example.test"
$SW > $D/sw1.log 2>&1
$SW --auth PLAIN --auth-user user --auth-password secret > $D/sw2.log 2>&1
$SW --pipeline > $D/sw3.log 2>&1
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
