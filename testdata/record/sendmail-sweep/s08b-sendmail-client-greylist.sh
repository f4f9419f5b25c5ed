#!/bin/bash
# s08b-sendmail-client-greylist: as s08-sendmail-client.sh, but the deferring server is stricter
# (pyserver.py defer451: 451 to RCPT, then "554 5.5.1 Error: no valid recipients" to DATA, like
# Postfix), so the three queue runs (-qf, 2 s apart) make a retry loop: defer.example.test ->
# [127.0.2.1] 451 at RCPT each run; drop.example.test -> [127.0.2.2] closed after the first body
# line each run; ok.example.test -> [127.0.2.3] delivered on the first. Captures only the client's
# side towards the three servers. Makes pcaps/s08b-sendmail-client-greylist.pcap (+ .log,
# .client.txt, .pyservers.log) in $SWEEP. Run setup.sh once first (see lib.sh).
N=s08b-sendmail-client-greylist DEFER_MODE=defer451 exec bash "$(dirname "$0")/s08-sendmail-client.sh"
