#!/bin/bash
# summ.sh NAME... : one-screen summary of out/NAME/analyze.json
for d in "$@"; do echo "=== $d"; python3 -c "
import json,sys;d=json.load(open('/tmp/sw-node/out/$d/analyze.json'))
for c in d['connections']: print(' S%s'%c['stream'],c.get('end'),'tx',c.get('transactions'),'dlv',c.get('delivered'),'tls',c.get('tls'),'|',c.get('diagnosis',''))
for f in d['findings']: print('  ',f['severity'],f['id'],f['stream'],f['frames'],'|',f['summary'])
"; done
