#!/bin/bash
# analyze.sh NAME... : smtpcap's views (analyze, analyze --format json, streams, follow per stream,
# split) and tshark's frame list of $SWEEP/pcaps/NAME.pcap into $SWEEP/out/NAME/. Records nothing.
# SMTPCAP is the binary (default $SWEEP/smtpcap, from setup.sh); DECODE=PORT makes tshark decode
# that port as SMTP. Needs no namespace and no root.
set -u
W=${SWEEP:-/tmp/sw-node}; SC=${SMTPCAP:-$W/smtpcap}
[[ -x $SC ]] || { echo "no smtpcap binary at $SC: run setup.sh or set SMTPCAP" >&2; exit 1; }
for n in "$@"; do
  f=$W/pcaps/$n.pcap; o=$W/out/$n; rm -rf "$o"; mkdir -p "$o"
  "$SC" analyze "$f" > "$o/analyze.txt" 2>&1; echo "rc=$?" >> "$o/analyze.txt"
  "$SC" analyze --format json "$f" > "$o/analyze.json" 2>"$o/analyze.json.err"
  "$SC" streams "$f" > "$o/streams.txt" 2>&1; echo "rc=$?" >> "$o/streams.txt"
  for s in $(tshark -r "$f" -T fields -e tcp.stream 2>/dev/null | sort -un); do
    "$SC" follow --stream "$s" "$f" > "$o/follow-$s.txt" 2>&1; echo "rc=$?" >> "$o/follow-$s.txt"
  done
  "$SC" split -o "$o/split" "$f" > "$o/split.txt" 2>&1; echo "rc=$?" >> "$o/split.txt"; ls "$o/split" >> "$o/split.txt" 2>&1
  dec=(); [[ -n ${DECODE:-} ]] && dec=(-d "tcp.port==$DECODE,smtp")
  tshark -r "$f" -T fields -e frame.number -e tcp.stream -e tcp.len -e tcp.flags.str -e smtp.req.command -e smtp.response.code -e frame.time_relative "${dec[@]}" > "$o/tshark.txt" 2>&1
done
