#!/bin/bash
NAME=s8-8bit; FILTER="tcp and host 127.0.0.68"; CLIREGEX="127\.0\.1\.68"
scenario() { runc s8_8bit 127.0.0.68 127.0.1.68 $D/client0.log; }
source /tmp/psweep/common.sh
