#!/bin/bash
# .65: PIPELINING discarded, forbid_unauth_pipelining=no; .75: forbid_unauth_pipelining=yes (HELO, then pipelined; EHLO then DATA+body)
NAME=s5-pipelining; FILTER="tcp and (host 127.0.0.65 or host 127.0.0.75)"; CLIREGEX="127\.0\.1\.(65|75)"
scenario() { runc s5_pipe_not_offered 127.0.0.65 127.0.1.65 $D/client0.log; sleep 1
  runc s5_forbid 127.0.0.75 127.0.1.75 $D/client1.log; sleep 1
  runc s5_forbid_ehlo_pipe_after_data 127.0.0.75 127.0.1.75 $D/client2.log; }
source /tmp/psweep/common.sh
