#!/bin/bash
# benchpairs.sh: time smtpcap against the tools a mail administrator would
# reach for instead, on the same capture, each pair run alternately.
#
#   docs/benchpairs.sh CAPTURE [PAIRS]
#
# analyze is paired with `tshark -r CAPTURE -Y smtp -q`, split with
# `tcpflow -r CAPTURE`. The capture is read once before every run so that
# both start with it in the page cache. Every split and tcpflow run writes
# into a fresh directory and nothing is deleted until the end: on ext4,
# creating files soon after deleting many costs far more (the inode
# allocator skips recently deleted inodes), which would punish whichever
# tool runs after a cleanup. Prints one line per run; compare the medians.
set -eu
capture=${1:?usage: benchpairs.sh CAPTURE [PAIRS]}
pairs=${2:-3}
bin=$(mktemp -d)/smtpcap
go build -o "$bin" ./cmd/smtpcap
out=$(mktemp -d)
trap 'rm -rf "$out" "$(dirname "$bin")"' EXIT

warm() { cat "$capture" > /dev/null; sync; }
timed() { # NAME COMMAND...: run, print "NAME wall user sys maxrss"
	local name=$1; shift
	/usr/bin/time -f "$name %e s %U u %S s %M KB" "$@" > /dev/null 2> "$out/err" || true
	tail -1 "$out/err"
}

for i in $(seq 1 "$pairs"); do
	warm; timed "smtpcap-analyze" "$bin" analyze --format json "$capture"
	warm; timed "tshark" tshark -r "$capture" -Y smtp -q
done
for i in $(seq 1 "$pairs"); do
	warm; timed "smtpcap-split" "$bin" split --all -o "$out/split$i" "$capture"
	warm; mkdir "$out/tcpflow$i"
	(cd "$out/tcpflow$i" && timed "tcpflow" tcpflow -r "$capture" -o "$out/tcpflow$i")
done
# The floor for split: writing the capture's bytes once, to one file.
warm; timed "cat-to-one-file" sh -c "cat '$capture' > '$out/copy'"
