#!/bin/bash
# summ.sh NAME... : a one-screen summary of $SWEEP/out/NAME/analyze.json (analyze.sh writes it):
# per connection its end, transactions, deliveries, TLS and diagnosis; then the findings. Records nothing.
W=${SWEEP:-/tmp/sw-node}
for d in "$@"; do echo "=== $d"; python3 - "$W/out/$d/analyze.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for c in d['connections']: print(' S%s' % c['stream'], c.get('end'), 'tx', c.get('transactions'), 'dlv', c.get('delivered'), 'tls', c.get('tls'), '|', c.get('diagnosis', ''))
for f in d['findings']: print('  ', f['severity'], f['id'], f['stream'], f['frames'], '|', f['summary'])
PY
done
