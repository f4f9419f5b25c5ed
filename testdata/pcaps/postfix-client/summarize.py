#!/usr/bin/env python3
"""summarize.py PCAP [KEYLOG]: condensed frame table for README.md.

Columns: frame, stream, dir (C>S client->server, S>C), flags (S F R P .), tcp.len,
tshark's smtp.req.command / smtp.response.code (plain, without key log),
and "payload": the commands / reply lines read from tcp.payload by this script
(CRLF lines; client lines between a 354 reply and "." are message content).
With KEYLOG, a column "tshark+keylog" shows the decrypted commands/codes.
Runs of >= 3 frames that are only message-content segments and pure ACKs are
collapsed into one row.
"""
import subprocess
import sys


def tshark(path, fields, extra=()):
    cmd = ["tshark", "-r", path, *extra, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def flags(s):
    syn, ack, fin, rst, psh = (s[i] == "1" for i in range(5))
    r = ("S" if syn else "") + ("F" if fin else "") + ("R" if rst else "") + ("P" if psh else "")
    return r + ("." if ack else "")


def main():
    path = sys.argv[1]
    keylog = sys.argv[2] if len(sys.argv) > 2 else None
    rows = tshark(path, ["frame.number", "tcp.stream", "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin",
                         "tcp.flags.reset", "tcp.flags.push", "tcp.len", "smtp.req.command", "smtp.response.code", "tcp.payload"])
    dec = {}
    if keylog:
        for r in tshark(path, ["frame.number", "smtp.req.command", "smtp.response.code", "tls.record.content_type", "smtp.command_line", "smtp.response"],
                        ["-o", f"tls.keylog_file:{keylog}"]):
            dec[r[0]] = (r[1], r[2], r[3], r[4], r[5])
    state = {}  # stream -> dict(in_data, tls)
    out = []
    for r in rows:
        fn, st, dport, syn, ack, fin, rst, psh, ln, cmd, code, pl = r
        d = "C>S" if dport == "25" else "S>C"
        s = state.setdefault(st, {"in_data": False, "tls": False, "starttls": False})
        text = ""
        content = False
        if pl and s["tls"]:
            dc = dec.get(fn)
            lines = [x.replace("\\r\\n", "") for x in (dc[3].split(",") + dc[4].split(","))] if dc else []
            lines = [x if len(x) <= 60 else x[:57] + "..." for x in lines if x]
            if len(lines) > 3 and lines[0].startswith("250-"):
                lines = [lines[0], f"... {len(lines) - 1} more EHLO lines"]
            text = "(TLS) " + " | ".join(lines) if lines else "(TLS)"
        elif pl:
            data = s.get("buf" + d, "") + bytes.fromhex(pl.replace(":", "")).decode("utf-8", "replace")
            lines = data.split("\r\n")
            tail = lines.pop()  # "" if the segment ends with CRLF; else carried to the next segment
            s["buf" + d] = tail
            shown = []
            nc = 0
            for line in lines:
                if d == "C>S" and s["in_data"]:
                    if line == ".":
                        s["in_data"] = False
                        shown.append(f"<{nc} content lines>." if nc else ".")
                        nc = 0
                    else:
                        nc += 1
                    continue
                if d == "S>C" and line.startswith("354"):
                    s["in_data"] = True
                if d == "C>S" and line.upper() == "STARTTLS":
                    s["starttls"] = True
                if d == "S>C" and s["starttls"] and line.startswith("220"):
                    s["tls"] = True
                shown.append(line if len(line) <= 60 else line[:57] + "...")
            if nc:
                shown.append(f"<{nc} content lines>")
                content = True
            if tail:
                shown.append(f"<partial line>")
                if s["in_data"]:
                    content = True
            if d == "S>C" and len(shown) > 3 and shown[0].startswith("250-"):
                shown = [shown[0], f"... {len(shown) - 1} more EHLO lines: " + " ".join(x[4:] for x in shown[1:])]
            text = " | ".join(shown)
        pure = (not pl and syn == "0" and fin == "0" and rst == "0") or (content and not any(
            x for x in text.split(" | ") if not x.startswith("<")))
        out.append(dict(fn=fn, st=st, d=d, fl=flags(syn + ack + fin + rst + psh), ln=ln, cmd=cmd, code=code,
                        text=text, pure=pure, content=content, dec=dec.get(fn)))
    # collapse runs
    hdr = "frame    stream dir flags  len  tshark cmd / code        " + ("tshark+keylog cmd / code  " if keylog else "") + "payload (this script)"
    print("```")
    print(hdr)
    i = 0
    while i < len(out):
        j = i
        while j < len(out) and out[j]["pure"] and out[j]["st"] == out[i]["st"]:
            j += 1
        if j - i >= 3 and any(o["content"] for o in out[i:j]):
            seg = out[i:j]
            cs = [o for o in seg if o["d"] == "C>S" and int(o["ln"])]
            acks = [o for o in seg if not int(o["ln"])]
            sizes = {}
            for o in cs:
                sizes[o["ln"]] = sizes.get(o["ln"], 0) + 1
            sz = ", ".join(f"{n}x{l}" for l, n in sizes.items())
            print(f"{seg[0]['fn']:>4}-{seg[-1]['fn']:<4} {seg[0]['st']:>3}  ..  {'':5} {sum(int(o['ln']) for o in cs):>5}  "
                  f"{'':24} " + ("" if not keylog else f"{'':26}") +
                  f"{len(cs)} C>S message-content segments ({sz} B), {len(acks)} ACKs")
            i = j
            continue
        o = out[i]
        tc = "/".join(x for x in (o["cmd"], o["code"]) if x)
        extra = ""
        if keylog:
            dc = o["dec"] or ("", "", "", "", "")
            dt = "/".join(x for x in (dc[0], dc[1]) if x) or (f"tls ct {dc[2]}" if dc[2] else "")
            extra = f"{dt:<26}"
        print(f"{o['fn']:>9} {o['st']:>3}  {o['d']} {o['fl']:<5} {o['ln']:>5}  {tc:<24} {extra}{o['text']}")
        i += 1
    print("```")


main()
