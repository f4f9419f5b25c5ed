#!/bin/bash
. "$(dirname "$0")/lib.sh"
sc_begin fin-mid-bdat 15
: > $D/main.conf; : > $D/acls.conf
sc_server $D/main.conf $D/acls.conf || exit 1
sc_cap
timeout 30 nsenter --net=/run/netns/$NS python3 $B/fin_mid_bdat.py $CADDR $SADDR bdat > $D/client.txt 2>&1
sleep 1
timeout 30 nsenter --net=/run/netns/$NS python3 $B/fin_mid_bdat.py $CADDR $SADDR data >> $D/client.txt 2>&1
sc_end
