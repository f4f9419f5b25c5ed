#!/bin/bash
# node-sweep set-up, run once (as root) before s1-nodemailer-exim.sh, s2-smtp-server.sh and
# s3-haraka.sh; records nothing. Fills $SWEEP (default /tmp/sw-node) with what the recording of
# testdata/pcaps/node-sweep had:
#   node_modules/  haraka 3.3.4, smtp-server 3.21.6, nodemailer 10.6.1 (npm install, pinned; the
#                  versions of the original package-lock.json)
#   big.bin        2 000 000 random bytes (ss-close's swaks attachment)
#   small.bin      60 000 random bytes (h-size's swaks attachment)
#   smtpcap        go build of this repository (analyze.sh runs it)
# The host needs node (20 was used) and npm, exim4-daemon-light (Exim 4.96, user Debian-exim),
# swaks, tcpdump, tshark, python3, openssl, ethtool, iproute2, go. Nothing here starts a daemon.
set -u
REC=$(cd "$(dirname "$0")" && pwd)
W=${SWEEP:-/tmp/sw-node}
mkdir -p "$W/pcaps" "$W/out"
missing=""
for t in node npm exim swaks tcpdump tshark python3 openssl ethtool ip nsenter go; do command -v "$t" >/dev/null || missing="$missing $t"; done
[ -z "$missing" ] || { echo "missing on the host:$missing" >&2; exit 1; }
id Debian-exim >/dev/null 2>&1 || { echo "user Debian-exim missing (install exim4-daemon-light)" >&2; exit 1; }
if [ ! -f "$W/node_modules/haraka/package.json" ] || [ ! -f "$W/node_modules/smtp-server/package.json" ] || [ ! -f "$W/node_modules/nodemailer/package.json" ]; then
  [ -f "$W/package.json" ] || printf '{ "name": "sw-node", "version": "1.0.0", "private": true }\n' > "$W/package.json"
  (cd "$W" && timeout 900 npm install --no-audit --no-fund --save-exact haraka@3.3.4 smtp-server@3.21.6 nodemailer@10.6.1) > "$W/npm.log" 2>&1 ||
    { echo "npm install failed (see $W/npm.log)" >&2; exit 1; }
fi
for m in haraka smtp-server nodemailer; do
  printf '%s %s\n' "$m" "$(node -p "require('$W/node_modules/$m/package.json').version")"
done
[ -s "$W/big.bin" ] || head -c 2000000 /dev/urandom > "$W/big.bin"
[ -s "$W/small.bin" ] || head -c 60000 /dev/urandom > "$W/small.bin"
(cd "$REC/../../.." && go build -o "$W/smtpcap" ./cmd/smtpcap) || { echo "go build of smtpcap failed" >&2; exit 1; }
echo "set up in $W; now run e.g. bash $REC/s2-smtp-server.sh rcpt, then $REC/analyze.sh ss-rcpt"
