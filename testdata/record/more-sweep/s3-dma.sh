#!/bin/bash
# s3-dma.sh: dma 0.13 (chroot) as client delivering to host Exim 4.96 on 127.0.0.31 (namespace mo3).
# dma-plain: one message; dma-defer: Exim 451s every RCPT, dma -D killed after 5 s (it sleeps to retry),
# then "dma -D -q" twice (flag removed before the second: delivered); dma-middata: a python server
# on 127.0.0.32 answers 354 then closes after ~200 bytes, then dma -q once more.
. "$(dirname "$0")/lib.sh"
. $SC/exim_server.sh
NS=mo3 A=127.0.0.31 B=127.0.0.32 D=$W/exim-dma
proc_mount
ns_up $NS $A $B
R=$ROOT
echo client.example.org >$R/etc/mailname
rm -f $R/var/spool/dma/*
dmaconf() { printf 'SMARTHOST %s\nPORT 25\nMAILNAME /etc/mailname\n' "$1" >$R/etc/dma/dma.conf; }
LOG=$PC/dma.log; : >$LOG
exim_srv_start $NS $A $D || exit 1
SRV=$EXIM_PID
msg() { printf 'From: a@example.org\nTo: b@example.test\nSubject: %s\n\nbody line\n' "$1"; }
dma_send() { msg "$1" | in_root $NS timeout "$2" dma -D -f a@example.org b@example.test >>$LOG 2>&1; echo "dma send rc=$?" >>$LOG; }
dma_q() { in_root $NS timeout "$1" dma -D -q >>$LOG 2>&1; echo "dma -q rc=$?" >>$LOG; }

dmaconf $A
echo "### dma-plain $(date +%T)" >>$LOG
cap_start $NS $PC/dma-plain.pcap "tcp and host $A"
dma_send plain 20; wait_closed $NS $A; sleep 0.3; cap_stop $CAP_PID $PC/dma-plain.pcap

echo "### dma-defer $(date +%T)" >>$LOG
touch $D/defer-flag
cap_start $NS $PC/dma-defer.pcap "tcp and host $A"
dma_send defer 5; ls $R/var/spool/dma >>$LOG
dma_q 5; ls $R/var/spool/dma >>$LOG
rm -f $D/defer-flag
dma_q 10; ls $R/var/spool/dma >>$LOG
wait_closed $NS $A; sleep 0.3; cap_stop $CAP_PID $PC/dma-defer.pcap

echo "### dma-middata $(date +%T)" >>$LOG
rm -f $R/var/spool/dma/*
dmaconf $B
cap_start $NS $PC/dma-middata.pcap "tcp and host $B"
in_ns $NS timeout 60 python3 $SC/close_mid_data_server.py $B 25 2 >$PC/dma-middata.server.log 2>&1 &
PS=$!; wait_listen $NS $B 25
head -c 30000 /dev/urandom | base64 -w 76 >$W/mid.txt
(msg middata; cat $W/mid.txt) | in_root $NS timeout 5 dma -D -f a@example.org b@example.test >>$LOG 2>&1; echo "rc=$?" >>$LOG
ls $R/var/spool/dma >>$LOG
dma_q 5; ls $R/var/spool/dma >>$LOG
wait_closed $NS $B; sleep 0.3; cap_stop $CAP_PID $PC/dma-middata.pcap
stop_pid $PS; stop_pid $SRV
cp $D/log/mainlog $PC/dma-exim-mainlog.log 2>/dev/null
for n in plain defer middata; do analyse dma-$n; done
