#!/bin/bash
# reanalyze.sh: re-run every smtpcap command (lib.sh's analyze) on every capture in $SWEEP/pcaps
# (default /tmp/sw-osmtpd/pcaps), with $SMTPCAP (default $SWEEP/smtpcap). Records nothing.
NO_CHROOT=1
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
for f in "$PC"/*.pcap; do analyze "$(basename "$f" .pcap)"; done
