#!/bin/bash
NAME=s2-bdat; FILTER="tcp and host 127.0.0.62"; CLIREGEX="127\.0\.1\.62"
scenario() { runc s2_under 127.0.0.62 127.0.1.62 $D/client0.log; sleep 1; runc s2_over 127.0.0.62 127.0.1.62 $D/client1.log; }
source /tmp/psweep/common.sh
