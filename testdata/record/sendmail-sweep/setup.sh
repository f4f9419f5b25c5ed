#!/bin/bash
# sendmail-sweep set-up, run once (as root) before the sNN-*.sh scripts: builds what the recording of
# testdata/pcaps/sendmail-sweep had by hand, in $SWEEP (default /tmp/sw-sendmail):
#   root/     a Debian bookworm chroot with sendmail-bin and sendmail-cf 8.17.1.9 (debootstrap;
#             its packages' own set-up makes the users smmta/smmsp and /etc/mail/sendmail.cf;
#             lib.sh's prep_root does the rest each time: /proc, hosts, aliases, queue owner)
#   smtpcap   the smtpcap binary the scripts' views() run (go build of this repository)
# The host needs: debootstrap (installed here if missing), swaks, tcpdump, tshark, python3,
# ethtool, iproute2, go. Nothing here starts a daemon.
set -u
REC=$(cd "$(dirname "$0")" && pwd)
B=${SWEEP:-/tmp/sw-sendmail}
ROOT=$B/root
MIRROR=${MIRROR:-http://deb.debian.org/debian}
mkdir -p "$B/pcaps" "$B/run" "$B/out" "$B/split"

missing=""
for t in swaks tcpdump tshark python3 ethtool ip go; do command -v "$t" >/dev/null || missing="$missing $t"; done
[ -z "$missing" ] || { echo "missing on the host:$missing" >&2; exit 1; }
command -v debootstrap >/dev/null || apt-get install -y debootstrap > "$B/apt.log" 2>&1 || { echo "cannot install debootstrap (see $B/apt.log)" >&2; exit 1; }

if [ ! -f "$ROOT/usr/share/sendmail/cf/m4/cf.m4" ]; then
  timeout 1800 debootstrap --variant=minbase \
    --include=sendmail-bin,sendmail-cf,m4,make,openssl,ca-certificates,libsasl2-modules \
    bookworm "$ROOT" "$MIRROR" > "$B/debootstrap.log" 2>&1 || { echo "debootstrap failed (see $B/debootstrap.log)" >&2; exit 1; }
fi
chroot "$ROOT" /usr/sbin/sendmail -d0.1 -bt < /dev/null 2>/dev/null | head -1

(cd "$REC/../../.." && go build -o "$B/smtpcap" ./cmd/smtpcap) || { echo "go build of smtpcap failed" >&2; exit 1; }
echo "set up in $B; now run e.g. bash $REC/s01-pipelining.sh, and $REC/cleanup.sh at the end"
