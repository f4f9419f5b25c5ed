#!/bin/bash
# .69: smtpd_timeout=5s
NAME=s9-timeout; FILTER="tcp and host 127.0.0.69"; CLIREGEX="127\.0\.1\.69"
scenario() { runc s9_after_mail 127.0.0.69 127.0.1.69 $D/client0.log; sleep 1; runc s9_mid_data 127.0.0.69 127.0.1.69 $D/client1.log; }
source /tmp/psweep/common.sh
