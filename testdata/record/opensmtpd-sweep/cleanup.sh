#!/bin/bash
# opensmtpd-sweep clean-up: removes what the recording scripts may leave behind when stopped early:
# the namespaces ${NSP}1..${NSP}9 (default os1..os9) and the chroots' /proc and /dev mounts, in
# $SWEEP (default /tmp/sw-osmtpd). It stops no process (lib.sh's EXIT trap stops what a script
# started). run_all.sh runs it at the end; setup.sh before copying root to root2.
B=${SWEEP:-/tmp/sw-osmtpd}; NSP=${NSP:-os}
for i in 1 2 3 4 5 6 7 8 9; do ip netns del "$NSP$i" 2>/dev/null; done
for r in "$B/root" "$B/root2"; do
  for m in proc dev; do mountpoint -q "$r/$m" && umount "$r/$m"; done
done
exit 0
