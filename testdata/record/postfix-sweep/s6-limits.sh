#!/bin/bash
# .66: smtpd_recipient_limit=2; .76: smtpd_hard_error_limit=3
NAME=s6-limits; FILTER="tcp and (host 127.0.0.66 or host 127.0.0.76)"; CLIREGEX="127\.0\.1\.(66|76)"
scenario() { runc s6_rcpt_limit 127.0.0.66 127.0.1.66 $D/client0.log; sleep 1; runc s6_errors 127.0.0.76 127.0.1.76 $D/client1.log; }
source /tmp/psweep/common.sh
