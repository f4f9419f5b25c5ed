#!/bin/bash
. "$(dirname "$0")/lib.sh"
sc_begin tarpit 3
: > $D/main.conf
cat > $D/acls.conf <<'E'
acl_tarpit:
  accept  local_parts = tarpit
          delay = 15s
  accept
E
# put the tarpit in front of the rcpt acl
sc_server $D/main.conf $D/acls.conf || exit 1
sed -i 's/^acl_check_rcpt:$/acl_check_rcpt:\n  accept  local_parts = tarpit\n          delay = 15s/' $D/srv/server.conf
stop_pid $SRV_PID; exim_check_conf $D/srv/server.conf || exit 1
exim_daemon_start "$NS" "$D/srv/server.conf" "$SADDR" 25; SRV_PID=$EXIM_PID
CD=$D/cli; exim_workdir $CD; chown Debian-exim:Debian-exim $CD
exim_conf_client $CD $CADDR "route_list = * $SADDR" $CADDR 'command_timeout = 5s' > $CD/client.conf
exim_check_conf $CD/client.conf || exit 1
sc_cap
timeout 40 nsenter --net=/run/netns/$NS swaks --server $SADDR --local-interface $CADDR --from a@example.org --to tarpit@example.test --timeout 5 > $D/swaks.txt 2>&1; echo "=== rc=$?" >> $D/swaks.txt
sleep 2
printf 'Subject: via exim client\nMessage-Id: <tarpit-1@example.org>\n\nhello\n' | exim -C $CD/client.conf -odq -f sender@example.org tarpit@example.test
for i in 1 2 3; do
  timeout 60 nsenter --net=/run/netns/$NS exim -C $CD/client.conf -qqff -v > $CD/qrun$i.log 2>&1; sleep 2
done
sleep 12
sc_end
cp $CD/log/mainlog $D/client-mainlog.txt
