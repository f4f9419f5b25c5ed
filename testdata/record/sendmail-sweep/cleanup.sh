#!/bin/bash
# sendmail-sweep clean-up: removes what the sNN-*.sh scripts may leave behind when stopped early:
# the namespaces ${NSP}1..${NSP}9 (default sm1..sm9), the chroot's /proc mount and its /dev/log
# socket, in $SWEEP (default /tmp/sw-sendmail). It stops no process (lib.sh's EXIT trap stops the
# daemon, tcpdump and syslog catcher a script started; the Python servers end by their timeout).
B=${SWEEP:-/tmp/sw-sendmail}; NSP=${NSP:-sm}
for i in 1 2 3 4 5 6 7 8 9; do ip netns del "$NSP$i" 2>/dev/null; done
mountpoint -q "$B/root/proc" && umount "$B/root/proc"
rm -f "$B/root/dev/log"
exit 0
