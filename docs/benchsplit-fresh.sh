#!/bin/bash
# benchsplit-fresh.sh: time `smtpcap split` against `tcpflow -r`, each run
# writing into a freshly made ext4 file system, pairs run alternately.
#
#   sudo docs/benchsplit-fresh.sh CAPTURE [PAIRS]
#
# Needs root (mkfs.ext4, a loop mount) and 8 GB free under $TMPDIR for a
# sparse image. A fresh file system per run means neither tool pays for the
# other's files: ext4 creates files more slowly soon after many were deleted,
# and a directory grown by an earlier run costs more to add to. The image
# is unmounted (and its data written back) after each run, outside the
# timing. Prints one line per run; compare the medians.
#
# Then the floor: cmd/fsfloor creates the same files with the same sizes
# from memory, with nothing to read, once per way of naming them (.part and
# renames as split does; final names at once; unnamed files linked when
# written), each on a fresh file system.
set -eu
capture=${1:?usage: benchsplit-fresh.sh CAPTURE [PAIRS]}
pairs=${2:-3}
work=$(mktemp -d)
bin=$work/smtpcap
go build -o "$bin" ./cmd/smtpcap
go build -o "$work/fsfloor" ./cmd/fsfloor
img=$work/ext4.img
mnt=$work/mnt
mkdir "$mnt"
trap 'umount "$mnt" 2>/dev/null; rm -rf "$work"' EXIT

fresh() {
	umount "$mnt" 2>/dev/null || true
	rm -f "$img"
	truncate -s 8G "$img"
	mkfs.ext4 -q -F "$img"
	mount -o loop "$img" "$mnt"
	mkdir "$mnt/out"
	cat "$capture" > /dev/null
	sync
}
timed() { # NAME COMMAND...: run, print "NAME wall user sys maxrss"
	local name=$1; shift
	/usr/bin/time -f "$name %e s %U u %S s %M KB" "$@" > /dev/null 2> "$work/err" || true
	tail -1 "$work/err"
}

for i in $(seq 1 "$pairs"); do
	fresh; timed "smtpcap-split" "$bin" split --all -o "$mnt/out" "$capture"
	fresh; (cd "$mnt/out" && timed "tcpflow" tcpflow -r "$capture" -o "$mnt/out")
done
fresh; timed "cat-to-one-file" sh -c "cat '$capture' > '$mnt/out/copy'"
# the floor's file list: the outputs of one more split, outside the image
"$bin" split --all -o "$work/ref" "$capture" > /dev/null
for names in part final tmpfile; do
	fresh; timed "fsfloor-$names" "$work/fsfloor" -from "$work/ref" -o "$mnt/out" -names "$names"
done
