#!/bin/bash
# remove anything the recording scripts may have left: namespaces sm1..sm9, chroot /proc mount, /dev/log socket
for n in sm1 sm2 sm3 sm4 sm5 sm6 sm7 sm8 sm9; do ip netns del $n 2>/dev/null; done
mountpoint -q /tmp/sw-sendmail/root/proc && umount /tmp/sw-sendmail/root/proc
rm -f /tmp/sw-sendmail/root/dev/log
