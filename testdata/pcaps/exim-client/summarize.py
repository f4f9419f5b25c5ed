#!/usr/bin/env python3
"""summarize.py PCAP...: per capture, print (markdown) the condensed tshark oracle
(frames carrying an SMTP command or reply, from
`tshark -T fields -e frame.number -e tcp.stream -e tcp.len -e smtp.req.command -e smtp.response.code`)
and an independent transcript rebuilt from the reassembled TCP byte streams
(`tshark -q -z follow,tcp,raw,N`), which parses BDAT chunk sizes and DATA bodies
itself, so it is right where tshark's SMTP dissector is not (pipelined BDAT).

summarize.py --codes PCAP: print only the server's reply codes, in order, from
the reassembled byte stream(s), separated by spaces (used by record.sh)."""
import subprocess
import sys

FIELDS = ["frame.number", "tcp.stream", "tcp.len", "smtp.req.command", "smtp.response.code"]


def tshark(args):
    return subprocess.run(["tshark"] + args, capture_output=True, text=True, check=True).stdout


def oracle(pcap):
    args = ["-r", pcap, "-T", "fields"]
    for f in FIELDS:
        args += ["-e", f]
    rows = [l.split("\t") for l in tshark(args).splitlines()]
    return rows


def streams(pcap):
    ids = sorted({int(r[1]) for r in oracle(pcap) if len(r) > 1 and r[1] != ""})
    out = []
    for sid in ids:
        txt = tshark(["-r", pcap, "-q", "-z", f"follow,tcp,raw,{sid}"])
        cli, srv = [], []
        for line in txt.splitlines():
            if not line or line.startswith(("=", "Follow:", "Filter:", "Node ")):
                continue
            if line.startswith("\t"):
                srv.append(line.strip())
            else:
                cli.append(line.strip())
        out.append((sid, bytes.fromhex("".join(cli)), bytes.fromhex("".join(srv))))
    return out


def parse_client(b):
    """list of (command line, note) from the client->server byte stream"""
    res, i, n = [], 0, len(b)
    after_auth = False
    while i < n:
        j = b.find(b"\r\n", i)
        if j < 0:
            res.append((b[i:i + 60].decode("latin-1"), f"[{n - i} bytes without CRLF]"))
            break
        line = b[i:j].decode("utf-8", "replace")
        i = j + 2
        word = line.split(" ", 1)[0].upper()
        if word == "BDAT":
            parts = line.split()
            size = int(parts[1])
            i += size
            res.append((line, f"[{size} chunk bytes]"))
        elif word == "DATA":
            k = b.find(b"\r\n.\r\n", i - 2)
            if k < 0:
                res.append((line, f"[{n - i} bytes, no end of data]"))
                break
            res.append((line, f"[{k + 2 - i} message bytes + .CRLF]"))
            i = k + 5
        elif word == "STARTTLS":
            res.append((line, f"[{n - i} bytes of TLS follow]"))
            break
        elif after_auth and word not in ("MAIL", "RCPT", "QUIT", "RSET", "NOOP", "EHLO", "HELO", "AUTH"):
            res.append((line, "[AUTH continuation]"))
            continue
        else:
            res.append((line, ""))
        after_auth = word == "AUTH"
    return res


def parse_server(b):
    """list of complete replies (code, first line text, number of lines)"""
    lines = b.split(b"\r\n")
    rest = lines.pop()  # after the last CRLF
    res, cur, seen = [], [], 0
    for l in lines:
        s = l.decode("utf-8", "replace")
        cur.append(s)
        if len(s) < 4 or s[3] != "-":
            text = cur[0][4:] if len(cur) == 1 else f"{cur[0][4:]} | ... | {cur[-1][4:]}" if len(cur) > 2 else f"{cur[0][4:]} | {cur[1][4:]}"
            res.append((s[:3], text, len(cur)))
            cur = []
            seen += 1
            if s.startswith("220 ") and "TLS" in s:
                res.append(("", f"[{len(b) - b.find(l) - len(l) - 2} bytes of TLS follow]", 0))
                return res
    if rest:
        res.append(("", f"[{len(rest)} bytes without CRLF]", 0))
    return res


def main():
    if sys.argv[1:2] == ["--codes"]:
        codes = []
        for pcap in sys.argv[2:]:
            for _sid, _cb, sb in streams(pcap):
                codes += [c for c, _t, _n in parse_server(sb) if c]
        print(" ".join(codes))
        return
    for pcap in sys.argv[1:]:
        name = pcap.rsplit("/", 1)[-1]
        rows = oracle(pcap)
        print(f"#### `{name}`: tshark oracle, condensed\n")
        print(f"{len(rows)} frames, {len({r[1] for r in rows})} TCP stream(s). "
              "Only frames with `smtp.req.command` or `smtp.response.code` are listed; "
              f"the full output is in `oracle/{name[:-5]}.tsv`.\n")
        print("```\n#frame\tstream\ttcp.len\tsmtp.req.command\tsmtp.response.code")
        for r in rows:
            r = r + [""] * (5 - len(r))
            if r[3] or r[4]:
                cmd = r[3]
                if len(cmd) > 120:
                    parts = cmd.split(",")
                    cmd = f"{','.join(parts[:4])},... ({len(parts)} commands: " + \
                          ", ".join(f"{p}x{parts.count(p)}" for p in dict.fromkeys(parts)) + ")"
                code = r[4]
                if len(code) > 120:
                    parts = code.split(",")
                    code = f"{','.join(parts[:4])},... ({len(parts)} replies: " + \
                           ", ".join(f"{p}x{parts.count(p)}" for p in dict.fromkeys(parts)) + ")"
                print("\t".join([r[0], r[1], r[2], cmd, code]))
        print("```\n")
        for sid, cb, sb in streams(pcap):
            print(f"Transcript rebuilt from the reassembled byte streams of TCP stream {sid} "
                  f"(client sent {len(cb)} bytes, server {len(sb)} bytes):\n")
            print("```")
            cl = parse_client(cb)
            sl = parse_server(sb)
            for line, note in cl:
                print(f"C: {line[:100]}{' ' + note if note else ''}")
            print("---- server replies, in order:")
            # compress long runs of equal replies
            prev, cnt = None, 0
            def flush():
                if prev is not None:
                    c, t, nl = prev
                    extra = f" ({nl} lines)" if nl > 1 else ""
                    print(f"S: {c} {t[:110]}{extra}" + (f"   x{cnt}" if cnt > 1 else ""))
            for r in sl:
                if prev is not None and r == prev:
                    cnt += 1
                    continue
                flush()
                prev, cnt = r, 1
            flush()
            print("```\n")


main()
