#!/bin/bash
# show.sh NAME... : condensed view of one capture already recorded and analyzed (client transcript
# tail, data-bearing or FIN/RST frames from tshark, smtpcap's connections and findings), from
# $SWEEP (default /tmp/sw-osmtpd). Records nothing.
B=${SWEEP:-/tmp/sw-osmtpd}
for n in "$@"; do
 echo "=================== $n"
 echo "--- client"; tail -"${CL:-6}" "$B/pcaps/$n.client.txt" 2>/dev/null | cut -c1-200
 echo "--- packets"; awk -F'\t' '$6!=0 || $5 ~ /F|R/' "$B/out/$n/tshark.txt" | grep -v dangerous | cut -c1-"${W:-140}"
 echo "--- smtpcap"; python3 - "$B/out/$n/analyze.json" <<'P'
import json,sys
d=json.load(open(sys.argv[1]))
for c in d['connections']:
    print("conn", c['stream'], c['end'], "tx=%s deliv=%s tls=%s worst=%s"%(c.get('transactions'),c.get('delivered'),c.get('tls'),c.get('worst')))
    print("   diag:", c.get('diagnosis'))
for f in d['findings']:
    print(" ", f['severity'], f['id'], f['stream'], f['frames'], '|', f['summary'])
P
done
