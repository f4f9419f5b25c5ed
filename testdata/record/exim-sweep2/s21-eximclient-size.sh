set -u; source "$(dirname "$0")/lib.sh"; ns_up
D=$B/s21; mkdir -p $D; S=127.0.0.21; C=127.0.1.21
for a in $S $C; do add_addr $a; done
chmod 755 $D
printf 'pipelining_advertise_hosts = *\ntls_advertise_hosts =\nmessage_size_limit = 10K\n' > $D/extra.conf
exim_conf $D $S $D/extra.conf || exit 1
mkcli() { # NAME CHUNKING SIZEADD
local CD=$D/cli-$1; exim_workdir $CD; chown Debian-exim:Debian-exim $CD
exim_conf_client $CD $C "route_list = * $S" $C "hosts_try_chunking = $2
size_addition = $3" > $CD/client.conf
exim -C $CD/client.conf -bV >/dev/null || { echo badcconf; exit 1; }
}
mkcli bdat-size '*' 1024
mkcli bdat-nosize '*' -1
mkcli data-nosize '' -1
exim_start $D $S; P1=$EXIM_PID
P=$B/caps/eximclient-size.pcap
cap_start $P "tcp and host $S"
python3 -c "
print('Subject: big via exim client\nMessage-Id: <big-1@example.org>\n')
print('\n'.join('exim client body line %05d qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq'%i for i in range(600)))" > $D/big.msg
for n in bdat-size bdat-nosize data-nosize; do
  exim -C $D/cli-$n/client.conf -odq -f sender@example.org user@example.test < $D/big.msg
  timeout 60 nsenter --net=/run/netns/$NS exim -C $D/cli-$n/client.conf -qqff -v > $D/cli-$n/qrun.log 2>&1
  sleep 1
done
cap_stop $C $P
stop_pid $P1
oracle $P; report $P
