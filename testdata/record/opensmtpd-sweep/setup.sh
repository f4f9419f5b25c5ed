#!/bin/bash
# opensmtpd-sweep set-up, run once (as root) before the sNN_*.sh scripts or run_all.sh: builds what
# the recording of testdata/pcaps/opensmtpd-sweep had by hand, in $SWEEP (default /tmp/sw-osmtpd):
#   root/     a Debian bookworm chroot (debootstrap) with opensmtpd 6.8.0p2, openssl, python3 and
#             python3-aiosmtpd 1.4.3; users alice (1000) and bob (1001) with home directories (the
#             maildirs of mx.test); /etc/smtpd/mx.{crt,key} (RSA 2048) and mx-ec.{crt,key} (ECDSA
#             P-256), self-signed for CN=mx.test, 30 days; /opt/sw/aiosrv.py (lib.sh's chroot_prep
#             copies it again each time, and mounts /proc and /dev)
#   root2/    a copy of root/ for s01_osd_stall.sh, which runs beside the others
#   goclient/goclient   the Go net/smtp client (goclient/ here), smtpcap   this repository's build
#   pcaps/ run/ out/ split/ exim/
# The host needs: debootstrap (installed here if missing), swaks, tcpdump, tshark, python3,
# ethtool, iproute2, go, and for s05 Exim (Debian exim4-daemon-light; not installed here).
# Nothing here starts a daemon.
set -u
REC=$(cd "$(dirname "$0")" && pwd)
B=${SWEEP:-/tmp/sw-osmtpd}
ROOT=$B/root
MIRROR=${MIRROR:-http://deb.debian.org/debian}
mkdir -p "$B/pcaps" "$B/run" "$B/out" "$B/split" "$B/exim/spool" "$B/goclient"

missing=""
for t in swaks tcpdump tshark python3 ethtool ip go; do command -v "$t" >/dev/null || missing="$missing $t"; done
[ -z "$missing" ] || { echo "missing on the host:$missing" >&2; exit 1; }
command -v exim >/dev/null || echo "warning: no exim on the host; s05_osd_to_exim.sh needs it" >&2
command -v debootstrap >/dev/null || apt-get install -y debootstrap > "$B/apt.log" 2>&1 || { echo "cannot install debootstrap (see $B/apt.log)" >&2; exit 1; }

if [ ! -x "$ROOT/usr/sbin/smtpd" ]; then
  timeout 1800 debootstrap --variant=minbase \
    --include=opensmtpd,openssl,ca-certificates,python3,python3-aiosmtpd \
    bookworm "$ROOT" "$MIRROR" > "$B/debootstrap.log" 2>&1 || { echo "debootstrap failed (see $B/debootstrap.log)" >&2; exit 1; }
fi
for u in alice bob; do chroot "$ROOT" id "$u" >/dev/null 2>&1 || chroot "$ROOT" useradd -m "$u"; done
mkdir -p "$ROOT/etc/smtpd"
[ -f "$ROOT/etc/smtpd/mx.key" ] || chroot "$ROOT" openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=mx.test \
  -keyout /etc/smtpd/mx.key -out /etc/smtpd/mx.crt >/dev/null 2>&1
[ -f "$ROOT/etc/smtpd/mx-ec.key" ] || chroot "$ROOT" openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj /CN=mx.test \
  -keyout /etc/smtpd/mx-ec.key -out /etc/smtpd/mx-ec.crt >/dev/null 2>&1
chmod 600 "$ROOT"/etc/smtpd/*.key; chmod 644 "$ROOT"/etc/smtpd/*.crt
install -D -m 644 "$REC/clients/aiosrv.py" "$ROOT/opt/sw/aiosrv.py"

# root2: a copy made with nothing mounted in root (chroot_prep bind-mounts the host's /dev)
if [ ! -x "$B/root2/usr/sbin/smtpd" ]; then
  SWEEP=$B bash "$REC/cleanup.sh"
  if mountpoint -q "$ROOT/dev" || mountpoint -q "$ROOT/proc"; then echo "root/ still has mounts; not copying" >&2; exit 1; fi
  cp -a "$ROOT" "$B/root2"
fi

(cd "$REC/goclient" && go build -o "$B/goclient/goclient" .) || { echo "go build of goclient failed" >&2; exit 1; }
(cd "$REC/../../.." && go build -o "$B/smtpcap" ./cmd/smtpcap) || { echo "go build of smtpcap failed" >&2; exit 1; }
chroot "$ROOT" smtpd -h 2>&1 | head -1
echo "set up in $B; now run e.g. bash $REC/s02_osd_server.sh \"a b\", or $REC/run_all.sh"
