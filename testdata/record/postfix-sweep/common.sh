# usage in scenario script: NAME=...; FILTER=...; CLIREGEX=...; scenario() {...}; source common.sh
set -u; source /tmp/psweep/lib.sh; pf_up
D=$B/$NAME; mkdir -p $D; P=$D/$NAME.pcap
cap_start $P "$FILTER"; mlog_mark
scenario
cap_stop "$CLIREGEX" $P
mlog_save $D/maillog
oracle $P; report $P
echo "== $NAME done" >&2
