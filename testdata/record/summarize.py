#!/usr/bin/env python3
"""Write testdata/pcaps/README.md (to stdout) from the captures, using tshark/capinfos.

All frame numbers, stream counts and addresses come from tshark; nothing is
hand-written except the "how it was made" text below.
"""

import argparse
import os
import subprocess
import sys

HOW = {
    "clean.pcap": "One clean swaks session on port 25, no pipelining: EHLO, MAIL, RCPT, DATA with a small "
    "fixed message, QUIT. Captured with `tcpdump -i lo --immediate-mode -w clean.pcap 'tcp and host 127.0.0.10'`.",
    "pipelined.pcap": "One swaks `--pipeline` session: Exim offers PIPELINING, so MAIL, RCPT and DATA go out in one "
    "write and Exim answers them in one write.",
    "multi.pcap": "Five sequential swaks sessions to the same server from different (ephemeral) client ports: "
    "1 normal; 2 with two RCPTs (user2, user3); 3 with `RCPT TO:<nobody@example.test>` rejected by Exim's ACL "
    "with `550 unknown user` (swaks then QUITs, no DATA); 4 and 5 normal.",
    "portreuse.pcap": "Two complete swaks sessions from the same client address and port (`--local-interface "
    "127.0.1.13 --local-port 40013`), 0.5 s apart. Exim closes first after its 221, so TIME_WAIT is on the server "
    "side; the client binds the port again and the server accepts the new SYN on the TIME_WAIT 4-tuple "
    "(`net.ipv4.tcp_tw_reuse=1` is also set in the namespace).",
    "midstream.pcap": "A full swaks session recorded, then cut with `editcap -F pcap -r full.pcap midstream.pcap N-LAST` "
    "so the file starts with the packet right after the server's EHLO reply (no handshake, no banner, no EHLO).",
    "any-sll2.pcap": "One swaks session captured with `tcpdump -i any` (link type LINUX_SLL2).",
    "ipv6.pcap": "One swaks session over IPv6 loopback, [::1] to [::1]:25 (filter `tcp and host ::1`).",
    "clean.pcapng": "clean.pcap converted with `editcap -F pcapng` (same packets).",
    "clean-nsec.pcap": "clean.pcap converted with `editcap -F nsecpcap` (nanosecond pcap, magic a1b23c4d; same packets).",
    "multi.pcap.gz": "`gzip -9 -n` of multi.pcap (same packets).",
    "snaplen96.pcap": "One swaks session with a ~3 KB body (50 fixed lines), captured with `tcpdump -s 96`, so "
    "frames longer than 96 bytes are truncated (frame.cap_len < frame.len).",
    "bdat.pcap": "testdata/record/bdat_client.py (TCP_NODELAY, one write per command): EHLO, MAIL, RCPT, "
    "`BDAT 40` + 40 bytes, `BDAT 30` + 30 bytes (each command and its chunk in one write), `BDAT 0 LAST`, QUIT; "
    "every reply awaited before the next command (no pipelining). Exim offers CHUNKING.",
    "split-command.pcap": "testdata/record/split_command_client.py (TCP_NODELAY): after EHLO it writes "
    "`MAIL FROM:<a@example.org>\\r\\nRC`, sleeps 50 ms, writes `PT TO:<b@example.test>\\r\\n` (legal pipelining, "
    "Exim offers PIPELINING), then reads both replies, DATA, message, QUIT.",
    "barelf.pcap": "testdata/record/barelf_client.py (TCP_NODELAY): EHLO, MAIL, RCPT, DATA, then the whole message "
    "in one write ending `%%EOF\\n.\\r\\n` (bare LF before the dot). The client waits 3 s for a reply; if none comes "
    "it closes with SO_LINGER 0 (RST). Exim's smtp_receive_timeout is 10 s, so the client's RST comes first.",
    "starttls.pcap": "One swaks `--tls` session: EHLO, STARTTLS, TLS handshake with Exim's self-signed "
    "certificate (made by openssl in the temp dir), then EHLO, MAIL, RCPT, DATA, message, QUIT inside TLS. "
    "`starttls.keylog` holds the session keys (NSS key log written by Exim's GnuTLS via SSLKEYLOGFILE), so "
    "`tshark -o tls.keylog_file:starttls.keylog` can decrypt it.",
    "truncated.pcap": "clean.pcap with its last 10 bytes cut (`head -c -10`): the last record is cut short.",
    "garbage.pcap": "2000 reproducible pseudo-random bytes (AES-128-CTR keystream of zeros with a fixed key via "
    "`openssl enc`); not a capture file.",
    "empty.pcap": "Zero bytes.",
}

ORDER = [
    "clean.pcap", "pipelined.pcap", "multi.pcap", "portreuse.pcap", "midstream.pcap", "any-sll2.pcap",
    "ipv6.pcap", "clean.pcapng", "clean-nsec.pcap", "multi.pcap.gz", "snaplen96.pcap", "bdat.pcap",
    "split-command.pcap", "barelf.pcap", "starttls.pcap", "truncated.pcap", "garbage.pcap", "empty.pcap",
]

DERIVED = {"clean.pcapng", "clean-nsec.pcap", "multi.pcap.gz", "truncated.pcap"}
UNREADABLE = {"garbage.pcap", "empty.pcap"}

FIELDS = [
    "frame.number", "tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport",
    "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin", "tcp.flags.reset", "tcp.len", "frame.len",
    "frame.cap_len", "smtp.req.command", "smtp.response.code", "tcp.payload", "tls.record.content_type",
]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    err = "\n".join(l for l in p.stderr.splitlines() if not l.startswith("Running as user"))
    # file names only, no absolute paths, in the README
    for a in cmd:
        if os.path.isabs(a) and os.path.exists(a):
            err = err.replace(a, os.path.basename(a))
    return p.returncode, p.stdout, err


def frames(path, keylog=None):
    cmd = ["tshark", "-r", path]
    if keylog:
        cmd += ["-o", "tls.keylog_file:" + keylog]
    cmd += ["-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        cmd += ["-e", f]
    rc, out, err = run(cmd)
    rows = []
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("\t")))
        r = {
            "n": int(v["frame.number"]),
            "stream": int(v["tcp.stream"]) if v["tcp.stream"] else None,
            "src": v["ip.src"] or v["ipv6.src"],
            "dst": v["ip.dst"] or v["ipv6.dst"],
            "sport": int(v["tcp.srcport"] or 0),
            "dport": int(v["tcp.dstport"] or 0),
            "syn": v["tcp.flags.syn"] in ("1", "True"),
            "ack": v["tcp.flags.ack"] in ("1", "True"),
            "fin": v["tcp.flags.fin"] in ("1", "True"),
            "rst": v["tcp.flags.reset"] in ("1", "True"),
            "len": int(v["tcp.len"] or 0),
            "flen": int(v["frame.len"]),
            "caplen": int(v["frame.cap_len"]),
            "cmds": [c for c in v["smtp.req.command"].split(",") if c],
            "codes": [c for c in v["smtp.response.code"].split(",") if c],
            "payload": bytes.fromhex(v["tcp.payload"].replace(":", "")) if v["tcp.payload"] else b"",
            "tls": bool(v["tls.record.content_type"]),
        }
        r["c2s"] = r["dport"] == 25
        rows.append(r)
    return rows, rc, err


def ep(addr, port):
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def flags(r):
    s = ""
    s += "S" if r["syn"] else ""
    s += "F" if r["fin"] else ""
    s += "R" if r["rst"] else ""
    s += "P" if r["len"] else ""
    s += "." if r["ack"] else ""
    return s


def preview(r, n=44):
    if not r["payload"]:
        return ""
    if r["tls"] or r.get("in_tls"):
        return "(TLS)"
    p = r["payload"][:n]
    s = p.decode("latin-1").replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    s = "".join(ch if 32 <= ord(ch) < 127 else "." for ch in s)
    return s + ("..." if len(r["payload"]) > n else "")


def key_frames(rows):
    """Per stream: the frames carrying each command, end of data and key replies.

    Commands come from the client's tcp.payload bytes (as printed by tshark),
    split into CRLF-terminated lines across frames, so a command split over two
    segments is reported as "RCPT 8+11"; BDAT chunk bytes are skipped. A frame
    truncated by the snaplen is reported by its first word. Replies come from
    tshark's smtp.response.code. After the 220 reply to STARTTLS everything is TLS.
    """
    streams = {}
    for r in rows:
        st = streams.get(r["stream"])
        if st is None:
            st = streams[r["stream"]] = {
                "rows": [], "mode": "cmd", "buf": b"", "bufframes": [], "skip": 0,
                "data_frames": [], "events": [], "last_cmd": None,
            }
        st["rows"].append(r)
        ev = st["events"]
        r["in_tls"] = st["mode"] == "tls" and r["len"] > 0
        if r["syn"] and not r["ack"]:
            ev.append(("SYN", r["n"]))
        if not r["len"]:
            continue
        if st["mode"] == "tls":
            # Only visible when tshark decrypts with the key log.
            if r["c2s"]:
                if st.get("tls_data"):
                    st["data_frames"].append(r["n"])
                for c in r["cmds"]:
                    ev.append(("TLS:" + c, r["n"]))
                continue
            codes = r["codes"]
            if codes and st.get("tls_data"):
                if st["data_frames"]:
                    ev.append(("TLS:end-of-data", st["data_frames"][-1]))
                ev.append(("TLS:reply-to-data " + codes[0], r["n"]))
                st["tls_data"] = False
                st["data_frames"] = []
                codes = codes[1:]
            for code in codes:
                ev.append(("TLS:" + code, r["n"]))
                if code == "354":
                    st["tls_data"] = True
            continue
        if r["c2s"]:
            if st["mode"] == "data":
                st["data_frames"].append(r["n"])
                continue
            if r["caplen"] < r["flen"]:
                word = r["payload"].split(b" ", 1)[0].split(b"\r", 1)[0].decode("latin-1").upper()
                ev.append((word + " (truncated frame)", r["n"]))
                st["buf"], st["bufframes"] = b"", []
                continue
            data = r["payload"]
            while data:
                if st["skip"]:
                    k = min(st["skip"], len(data))
                    st["skip"] -= k
                    data = data[k:]
                    continue
                i = data.find(b"\r\n")
                if i < 0:
                    st["buf"] += data
                    st["bufframes"].append(r["n"])
                    break
                line = st["buf"] + data[:i]
                frames = st["bufframes"] + [r["n"]]
                st["buf"], st["bufframes"] = b"", []
                data = data[i + 2:]
                word = line.split(b" ", 1)[0].decode("latin-1").upper()
                ev.append((word, "+".join(str(f) for f in dict.fromkeys(frames))))
                st["last_cmd"] = word
                if word == "BDAT":
                    st["skip"] = int(line.split()[1])
        else:
            codes = r["codes"]
            if not codes:
                continue
            if st["mode"] == "data":
                if st["data_frames"]:
                    ev.append(("end-of-data", st["data_frames"][-1]))
                ev.append(("reply-to-data " + codes[0], r["n"]))
                st["mode"] = "cmd"
                st["data_frames"] = []
                codes = codes[1:]
            for code in codes:
                if code == "354":
                    st["mode"] = "data"
                    ev.append(("354", r["n"]))
                elif code == "221":
                    ev.append(("221", r["n"]))
                elif code == "220" and st["last_cmd"] == "STARTTLS":
                    ev.append(("220 to STARTTLS (TLS from the next frame)", r["n"]))
                    st["mode"] = "tls"
                elif st["last_cmd"] == "BDAT":
                    ev.append(("reply-to-BDAT " + code, r["n"]))
                elif code.startswith("5") or code.startswith("4"):
                    ev.append((code, r["n"]))
    for st in streams.values():
        if st["mode"] == "data" and st["data_frames"]:
            st["events"].append(("data, no reply", ",".join(map(str, st["data_frames"]))))
        if st["mode"] == "tls":
            tls = [r["n"] for r in st["rows"] if r.get("in_tls")]
            st["events"].append(("TLS payload frames", f"{tls[0]}..{tls[-1]} ({len(tls)})" if tls else "none"))
        fins = [r["n"] for r in st["rows"] if r["fin"]]
        rsts = [r["n"] for r in st["rows"] if r["rst"]]
        if fins:
            st["events"].append(("FIN", ",".join(map(str, fins))))
        if rsts:
            st["events"].append(("RST", ",".join(map(str, rsts))))
    return streams


def conn_line(st):
    rows = st["rows"]
    first = next((r for r in rows if r["syn"] and not r["ack"]), None) or rows[0]
    if first["c2s"]:
        c, s = ep(first["src"], first["sport"]), ep(first["dst"], first["dport"])
    else:
        c, s = ep(first["dst"], first["dport"]), ep(first["src"], first["sport"])
    return f"{c} -> {s}"


def summarize_events(events):
    out = []
    merged = {}
    order = []
    for name, n in events:
        if name not in merged:
            merged[name] = []
            order.append(name)
        merged[name].append(str(n))
    for name in order:
        out.append(f"{name} {','.join(merged[name])}")
    return "; ".join(out)


def table(rows):
    lines = ["frame stream dir  flags   len  smtp (tshark)           payload"]
    for r in rows:
        smtp = ",".join(r["cmds"] or r["codes"])
        lines.append(
            f"{r['n']:5d} {r['stream']:6d} {'C>S' if r['c2s'] else 'S>C'}  {flags(r):6s} {r['len']:5d}  "
            f"{smtp:22s}  {preview(r)}"
        )
    return "\n".join(lines)


def capinfo(path):
    rc, out, err = run(["capinfos", "-t", "-E", "-c", "-l", path])
    info = {}
    for line in out.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            info[k.strip()] = v.strip()
    return info, rc, err


def special(name, rows, streams, args):
    notes = []
    if name == "split-command.pcap":
        cs = [r for r in rows if r["c2s"] and r["len"]]
        for i, r in enumerate(cs):
            if r["payload"].startswith(b"MAIL") and not r["payload"].endswith(b"\r\n") and i + 1 < len(cs):
                notes.append(
                    f"Split RCPT: frame {r['n']} carries `{preview(r)}` (ends with `RC`), frame {cs[i + 1]['n']} "
                    f"carries `{preview(cs[i + 1])}`."
                )
    if name == "barelf.pcap":
        for r in rows:
            if b"%%EOF\n.\r\n" in r["payload"]:
                notes.append(f"Frame {r['n']} ({r['len']} bytes) carries the message ending `%%EOF\\n.\\r\\n`.")
        after = [r for r in rows if r["n"] > max([x["n"] for x in rows if b"%%EOF" in x["payload"]] or [0])]
        desc = ", ".join(f"{r['n']} {'C>S' if r['c2s'] else 'S>C'} {flags(r)} len {r['len']}" for r in after)
        notes.append(f"Frames after it: {desc}.")
    if name == "bdat.pcap":
        for r in rows:
            if r["c2s"] and r["payload"].startswith(b"BDAT"):
                head = r["payload"].split(b"\r\n", 1)[0].decode()
                notes.append(f"Frame {r['n']}: `{head}` + {r['len'] - len(head) - 2} chunk bytes (tcp.len {r['len']}).")
    if name == "portreuse.pcap":
        for r in rows:
            if r["syn"] and not r["ack"]:
                notes.append(
                    f"SYN frame {r['n']} (stream {r['stream']}): {ep(r['src'], r['sport'])} -> {ep(r['dst'], r['dport'])}."
                )
    if name == "midstream.pcap":
        notes.append(
            f"Cut from a full recording whose server EHLO reply was frame {args.midstream_cut}; this file keeps "
            f"frames {args.midstream_cut + 1}..end (renumbered from 1). First frame: "
            f"{'C>S' if rows[0]['c2s'] else 'S>C'} {flags(rows[0])} len {rows[0]['len']}."
        )
    if name == "snaplen96.pcap":
        cut = [r["n"] for r in rows if r["caplen"] < r["flen"]]
        notes.append(f"Frames truncated by the snaplen (cap_len < len): {', '.join(map(str, cut)) or 'none'}.")
    return notes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--midstream-cut", type=int, required=True)
    ap.add_argument("--exim-version", default="")
    ap.add_argument("--swaks-version", default="")
    ap.add_argument("--tcpdump-version", default="")
    args = ap.parse_args()

    o = []
    o.append("# SMTP test captures")
    o.append("")
    o.append(
        "Real traffic, regenerated by `testdata/record/record.sh` (run as root): a real Exim daemon "
        f"({args.exim_version.strip()}) as the server, swaks ({args.swaks_version.strip()}) or the small python "
        "clients in `testdata/record/` as the client, recorded with tcpdump "
        f"({args.tcpdump_version.strip()}) inside a private network namespace on its loopback "
        "(MTU 1500, TSO/GSO/GRO off). Server addresses are 127.0.0.N:25 and client addresses 127.0.1.N, one N per "
        "scenario. Exim offers SIZE 10485760, 8BITMIME, PIPELINING, CHUNKING, STARTTLS, SMTPUTF8, HELP; it "
        "rejects `nobody@example.test` with 550 and delivers everything else for example.test to a temporary mbox. "
        "Message contents are fixed; ports, sequence numbers, timestamps and Exim's queue ids differ on each run."
    )
    o.append("")
    o.append(
        "Everything below is produced by `testdata/record/summarize.py` from "
        "`tshark -T fields -e frame.number -e tcp.stream -e tcp.len -e smtp.req.command -e smtp.response.code ...` "
        "and `capinfos`. Directions: C>S client to server, S>C server to client. Flags: S SYN, F FIN, R RST, "
        "P payload, . ACK. The tables list every frame. In the per-stream lines, command frames are found by splitting the client's "
        "tcp.payload into CRLF-terminated lines (a command split across segments shows as `RCPT 8+11`; "
        "tshark's own smtp.req.command, shown in the tables, misses such commands), `end-of-data` is the last "
        "client data frame before the server's reply to the data, and reply codes come from smtp.response.code."
    )
    o.append("")
    for name in ORDER:
        path = os.path.join(args.dir, name)
        size = os.path.getsize(path)
        o.append(f"## {name}")
        o.append("")
        o.append(HOW[name])
        o.append("")
        if name in UNREADABLE:
            rc, out, err = run(["tshark", "-r", path])
            msg = (err.strip().splitlines() or ["(no message)"])[0]
            o.append(f"- size: {size} bytes")
            o.append(f"- tshark: exit {rc}: `{msg}`")
            o.append("")
            continue
        info, _, _ = capinfo(path)
        keylog = None
        if name == "starttls.pcap" and os.path.exists(os.path.join(args.dir, "starttls.keylog")):
            keylog = os.path.join(args.dir, "starttls.keylog")
        rows, rc, err = frames(path, keylog)
        streams = key_frames(rows)
        o.append(f"- size: {size} bytes; file type: {info.get('File type', '?')}; "
                 f"encapsulation: {info.get('File encapsulation', '?')}; snaplen: {info.get('Packet size limit', '?')}")
        o.append(f"- packets: {len(rows)}; TCP connections (tcp.stream): {len(streams)}")
        if rc != 0:
            msg = " ".join(err.strip().splitlines())
            o.append(f"- tshark: exit {rc}: `{msg}`")
        for sid, st in sorted(streams.items()):
            o.append(f"- stream {sid}: {conn_line(st)}: frames {st['rows'][0]['n']}..{st['rows'][-1]['n']}; "
                     f"{summarize_events(st['events'])}")
        for note in special(name, rows, streams, args):
            o.append(f"- {note}")
        if keylog:
            o.append("- decrypted for this summary with `tshark -o tls.keylog_file:starttls.keylog` "
                     "(TLS:... entries; the table's smtp column also shows the decrypted commands)")
        o.append("")
        if name not in DERIVED:
            o.append("```")
            o.append(table(rows))
            o.append("```")
            o.append("")
    sys.stdout.write("\n".join(o))


if __name__ == "__main__":
    main()
