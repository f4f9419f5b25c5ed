#!/bin/bash
# s4-nullmailer.sh: nullmailer 2.2 (chroot; nullmailer-send one-shot, pausetime 0) as client to host
# Exim 4.96 on 127.0.0.41 (namespace mo4). nm-plain; nm-defer (451 on RCPT for two runs, then
# delivered on a third); nm-middata (python server on 127.0.0.42 closes after 354 + ~200 bytes, run twice).
. "$(dirname "$0")/lib.sh"
. $SC/exim_server.sh
NS=mo4 A=127.0.0.41 B=127.0.0.42 D=$W/exim-nm
proc_mount
ns_up $NS $A $B
R=$ROOT
echo client.example.org >$R/etc/nullmailer/me; echo example.org >$R/etc/nullmailer/defaultdomain
echo 0 >$R/etc/nullmailer/pausetime; echo client.example.org >$R/etc/nullmailer/helohost
[[ -p $R/var/spool/nullmailer/trigger ]] || chroot $R mkfifo -m 0622 /var/spool/nullmailer/trigger
rm -f $R/var/spool/nullmailer/queue/* $R/var/spool/nullmailer/failed/*
LOG=$PC/nullmailer.log; : >$LOG
exim_srv_start $NS $A $D || exit 1
SRV=$EXIM_PID
msg() { printf 'From: a@example.org\nTo: b@example.test\nSubject: %s\n\nbody line\n' "$1"; }
inject() { in_root $NS timeout 10 nullmailer-inject -f a@example.org b@example.test >>$LOG 2>&1; echo "inject rc=$?" >>$LOG; }
flush() { echo "--- nullmailer-send $(date +%T)" >>$LOG; in_root $NS timeout 30 nullmailer-send >>$LOG 2>&1; echo "send rc=$? queue: $(ls $R/var/spool/nullmailer/queue | wc -l)" >>$LOG; }

echo "$A smtp --port=25" >$R/etc/nullmailer/remotes
echo "### nm-plain $(date +%T)" >>$LOG
cap_start $NS $PC/nm-plain.pcap "tcp and host $A"
msg plain | inject; flush; wait_closed $NS $A; sleep 0.3; cap_stop $CAP_PID $PC/nm-plain.pcap

echo "### nm-defer $(date +%T)" >>$LOG
touch $D/defer-flag
cap_start $NS $PC/nm-defer.pcap "tcp and host $A"
msg defer | inject; flush; flush
rm -f $D/defer-flag; flush
wait_closed $NS $A; sleep 0.3; cap_stop $CAP_PID $PC/nm-defer.pcap

echo "### nm-middata $(date +%T)" >>$LOG
echo "$B smtp --port=25" >$R/etc/nullmailer/remotes
cap_start $NS $PC/nm-middata.pcap "tcp and host $B"
in_ns $NS timeout 60 python3 $SC/close_mid_data_server.py $B 25 2 >$PC/nm-middata.server.log 2>&1 &
PS=$!; wait_listen $NS $B 25
head -c 30000 /dev/urandom | base64 -w 76 >$W/mid.txt
(msg middata; cat $W/mid.txt) | inject; flush; flush
wait_closed $NS $B; sleep 0.3; cap_stop $CAP_PID $PC/nm-middata.pcap
stop_pid $PS; stop_pid $SRV
rm -f $R/var/spool/nullmailer/queue/*
cp $D/log/mainlog $PC/nm-exim-mainlog.log 2>/dev/null
for n in plain defer middata; do analyse nm-$n; done
