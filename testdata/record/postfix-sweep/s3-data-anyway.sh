#!/bin/bash
NAME=s3-data-anyway; FILTER="tcp and host 127.0.0.63"; CLIREGEX="127\.0\.1\.63"
scenario() { runc s3_data_anyway 127.0.0.63 127.0.1.63 $D/client0.log; }
source /tmp/psweep/common.sh
