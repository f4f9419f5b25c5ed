#!/usr/bin/env python3
"""compare.py FILE: tshark (oracle) vs smtpcap streams json and split output for one capture.
Prints per-stream rows where they differ, plus totals. Writes FILE.check/compare.txt."""
import json, subprocess, sys, os, glob, collections
f = sys.argv[1]; c = f + ".check"
out = subprocess.run(["tshark", "-r", f, "-T", "fields", "-E", "separator=|", "-e", "frame.number", "-e", "tcp.stream",
                      "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "tcp.len", "-e", "tcp.flags.str"],
                     capture_output=True, text=True).stdout
ts = collections.defaultdict(lambda: {"frames": [], "by": collections.defaultdict(lambda: [0, 0])})
for line in out.splitlines():
    fr, st, s4, s6, sp, ln, fl = line.split("|")
    if st == "": continue
    s = ts[int(st)]
    s["frames"].append(int(fr))
    src = (s4 or s6).split(",")[-1] + ":" + sp  # inner src for tunnels
    b = s["by"][src]; b[0] += 1; b[1] += int(ln or 0)
try:
    sc = json.load(open(os.path.join(c, "streams.json")))
except Exception as e:
    sc = []; print("streams.json unreadable:", e)
lines = []
p = lines.append
p(f"tshark tcp streams: {len(ts)}   smtpcap streams: {len(sc)}")
scm = {s["stream"]: s for s in sc}
for st in sorted(set(ts) | set(scm)):
    t = ts.get(st); s = scm.get(st)
    if not t: p(f"stream {st}: only smtpcap: {s}"); continue
    if not s: p(f"stream {st}: only tshark: frames {len(t['frames'])} first {t['frames'][0]}"); continue
    def norm(a):  # v6 "[x]:p" -> "x:p"
        return a.replace("[", "").replace("]", "")
    cli = norm(s["client"]); srv = norm(s["server"])
    tc = t["by"].get(cli, [0, 0]); tsv = t["by"].get(srv, [0, 0])
    diffs = []
    if tc[0] != s["client_packets"] or tc[1] != s["client_bytes"]: diffs.append(f"C->S tshark {tc} smtpcap {[s['client_packets'], s['client_bytes']]}")
    if tsv[0] != s["server_packets"] or tsv[1] != s["server_bytes"]: diffs.append(f"S->C tshark {tsv} smtpcap {[s['server_packets'], s['server_bytes']]}")
    if s.get("first_frame") != t["frames"][0] or s.get("last_frame") != t["frames"][-1]:
        diffs.append(f"frames tshark {t['frames'][0]}-{t['frames'][-1]} smtpcap {s.get('first_frame')}-{s.get('last_frame')}")
    if diffs or len(ts) <= 12: p(f"stream {st} {cli}->{srv}: " + ("; ".join(diffs) if diffs else "match"))
# split
idx = glob.glob(os.path.join(c, "split", "*.index.json"))
files = [x for x in glob.glob(os.path.join(c, "split", "*")) if not x.endswith(".json")]
p(f"split files: {len(files)}")
if idx:
    ix = json.load(open(idx[0]))
    entries = ix if isinstance(ix, list) else ix.get("files", ix.get("streams", []))
    bad = 0
    for e in entries:
        st = e.get("stream"); fr = e.get("frames") or e.get("original_frames") or []
        fn = os.path.join(c, "split", e.get("file", e.get("name", "")))
        n = subprocess.run(["capinfos", "-M", "-c", "-T", fn], capture_output=True, text=True).stdout.strip().split("\n")[-1].split("\t")[-1]
        t = ts.get(st)
        tf = t["frames"] if t else []
        if fr != tf or str(len(tf)) != n:
            bad += 1
            if bad <= 10: p(f"split stream {st}: file pkts {n}, index frames {len(fr)} ({fr[:3]}..), tshark frames {len(tf)} ({tf[:3]}..)")
    p(f"split index entries: {len(entries)}, mismatching: {bad}")
    # byte-for-byte spot check of up to 15 files: frame.len+time+md5 of each packet vs original frames
    def rows(fn, filt=None):
        a = ["tshark", "-r", fn, "-T", "fields", "-e", "frame.len", "-e", "frame.time_epoch", "-e", "frame.cap_len"]
        if filt: a[3:3] = ["-Y", filt]
        return subprocess.run(a, capture_output=True, text=True).stdout.splitlines()
    allrows = rows(f)
    bb = 0
    for e in entries[:15]:
        fn = os.path.join(c, "split", e["file"])
        want = [allrows[i - 1] for i in e["frames"] if 0 < i <= len(allrows)]
        if rows(fn) != want: bb += 1; p(f"split file {e['file']}: packets differ from original frames")
    p(f"split byte spot-check: {min(15, len(entries))} files, {bb} differ")
open(os.path.join(c, "compare.txt"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
