#!/bin/bash
# an.sh NAME: run smtpcap + tshark on caps/NAME.pcap, save outputs
f=${SWEEP:-/tmp/postfix-sweep2}/caps/$1.pcap; o=${SWEEP:-/tmp/postfix-sweep2}/out/$1; mkdir -p ${SWEEP:-/tmp/postfix-sweep2}/out
S=${SWEEP:-/tmp/postfix-sweep2}/smtpcap
timeout 60 $S analyze --fail-on never $f > $o.analyze.txt 2>&1; echo "rc=$?" >> $o.analyze.txt
timeout 60 $S analyze --fail-on never --format json $f > $o.json 2>&1
timeout 60 $S streams $f > $o.streams.txt 2>&1
timeout 60 $S follow -s ${2:-0} $f > $o.follow.txt 2>&1
tshark -r $f -T fields -e frame.number -e tcp.stream -e tcp.len -e smtp.req.command -e smtp.response.code -e tcp.flags.str > $o.tshark.txt 2>/dev/null
tshark -r $f -Y 'tcp.analysis.retransmission || tcp.analysis.lost_segment' 2>/dev/null | head -3
