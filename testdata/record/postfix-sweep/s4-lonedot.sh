#!/bin/bash
NAME=s4-lonedot; FILTER="tcp and host 127.0.0.64"; CLIREGEX="127\.0\.1\.64"
scenario() { runc s4_lonedot 127.0.0.64 127.0.1.64 $D/client0.log; }
source /tmp/psweep/common.sh
