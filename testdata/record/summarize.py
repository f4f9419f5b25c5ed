#!/usr/bin/env python3
"""Write testdata/pcaps/README.md (to stdout) from the captures, using tshark/capinfos.

All frame numbers, stream counts and addresses come from tshark; nothing is
hand-written except the "how it was made" text below.
"""

import argparse
import os
import re
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
    "frame.time_relative",
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
            "t": float(v["frame.time_relative"] or 0),
            "lines": [],  # commands whose line ends in this frame (set by key_frames)
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
    tshark's smtp.response.code, and are paired with the commands in order
    (first unanswered command first), as pipelining requires. After the 220
    reply to STARTTLS everything is TLS.
    """
    streams = {}
    for r in rows:
        st = streams.get(r["stream"])
        if st is None:
            st = streams[r["stream"]] = {
                "rows": [], "mode": "cmd", "buf": b"", "bufframes": [], "skip": 0,
                "data_frames": [], "events": [], "pending": [],
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
                st["pending"].append(word)
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
                    r["partial"] = True  # ends inside a command line
                    st["buf"] += data
                    st["bufframes"].append(r["n"])
                    break
                line = st["buf"] + data[:i]
                frames = st["bufframes"] + [r["n"]]
                st["buf"], st["bufframes"] = b"", []
                data = data[i + 2:]
                word = line.split(b" ", 1)[0].decode("latin-1").upper()
                ev.append((word, "+".join(str(f) for f in dict.fromkeys(frames))))
                r["lines"].append(word)
                st["pending"].append(word)
                if word == "BDAT":
                    st["skip"] = int(line.split()[1])
                    r.setdefault("bdat", []).append(line.decode("latin-1"))
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
                cmd = st["pending"].pop(0) if st["pending"] else None
                if code == "354":
                    st["mode"] = "data"
                    ev.append(("354", r["n"]))
                elif code == "221":
                    ev.append(("221", r["n"]))
                elif code == "220" and cmd == "STARTTLS":
                    ev.append(("220 to STARTTLS (TLS from the next frame)", r["n"]))
                    st["mode"] = "tls"
                elif cmd == "BDAT":
                    ev.append(("reply-to-BDAT " + code, r["n"]))
                elif code.startswith("5") or code.startswith("4"):
                    ev.append((code, r["n"]))
    for st in streams.values():
        if st["mode"] == "data" and st["data_frames"]:
            d = st["data_frames"]
            st["events"].append(("data, no reply", ",".join(map(str, d)) if len(d) <= 3 else f"{d[0]}..{d[-1]} ({len(d)} frames)"))
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


# ---------------------------------------------------------------- failure captures
# Recorded by record-failures.sh (one Exim daemon per scenario, some through
# mboxproxy.py); their sections follow MARKER in README.md.

MARKER = "<!-- failure captures: generated by testdata/record/record-failures.sh (summarize.py --failures) -->"

FAILURE_HOW = {
    "pix-client-side.pcap": "Client side (client 127.0.1.30 to proxy 127.0.2.30:25) of three sessions of "
    "testdata/record/pix_client.py (TCP_NODELAY, explicit writes) through `mboxproxy.py --mode pix`, an emulated "
    "Cisco PIX/ASA SMTP fixup that inspects each segment on its own: at the start of each segment and after each "
    "CRLF it replaces a verb it does not know (anything but HELO, EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, HELP, "
    "VRFY, EXPN, SEND, SOML, SAML, TURN) by as many `X`; a verb cut by the end of the segment passes; message data "
    "passes between 354 and `.`. In the EHLO reply it masks every keyword but 8BITMIME, SIZE and HELP, keeping "
    "its last character (`250-XXXXXXXXXG` for PIPELINING, `250-XXXXXXXG` CHUNKING, `250-XXXXXXXS` STARTTLS, "
    "`250-XXXXXXX8` SMTPUTF8). Each segment the proxy reads is written as one segment (same length) on the other "
    "side. Session 1: EHLO, then `MAIL FROM:<a@example.org>\\r\\nRC`, 50 ms, `PT TO:<b@example.test>\\r\\nDATA\\r\\n` "
    "(pipelined, though the masked reply no longer shows PIPELINING): the proxy turns `PT` into `XX`, Exim gets "
    "`RCXX TO:<b@example.test>` with `DATA` pending behind an unknown command, answers `554 SMTP synchronization "
    "error` and closes. Session 2: EHLO, MAIL (reply awaited), `RC`, 50 ms, `PT TO:<b@example.test>\\r\\n`: Exim gets "
    "`RCXX TO:...` alone and answers `500 unrecognized command`; RSET, QUIT. Session 3: EHLO, `STARTTLS` (masked "
    "`XXXXXXXX`: 500), MAIL, RCPT, then `BDAT 10 LAST\\r\\n` with its 10-byte chunk `Hi there\\r\\n` in one write "
    "(masked `XXXX 10 LAST\\r\\nXX there\\r\\n`): 554 synchronization error, Exim closes. The server side of the "
    "same sessions is pix-server-side.pcap. Exim configuration `base` (record.sh's).",
    "pix-server-side.pcap": "Server side (proxy 127.0.3.30 to Exim 127.0.0.30:25) of the sessions of "
    "pix-client-side.pcap: what Exim received after the fixup's masking, and its unmasked EHLO replies.",
    "hold513-client-side.pcap": "Client side (127.0.1.31 to proxy 127.0.2.31:25) of two sessions of "
    "testdata/record/hold513_client.py through `mboxproxy.py --mode hold513`, a middlebox that reads (so the "
    "client's segment is ACKed) but never forwards a client segment of exactly 513 bytes. After EHLO (PIPELINING "
    "offered) the client writes its whole envelope in one 513-byte write: `MAIL FROM:<list-bounces+...@lists."
    "example.org>`, 14 `RCPT TO:<userNN@example.test>`, `DATA`. Session 1: no reply within 4 s, the client sends "
    "QUIT and gets Exim's 221 (Exim never saw the envelope). Session 2: the client keeps waiting and Exim "
    "(configuration `timeout6`: smtp_receive_timeout 6 s) times out: `421 ... SMTP command timeout - closing "
    "connection`, FIN. The server side of the same sessions is hold513-server-side.pcap.",
    "hold513-server-side.pcap": "Server side (proxy 127.0.3.31 to Exim 127.0.0.31:25) of the sessions of "
    "hold513-client-side.pcap: the 513-byte segment is missing; Exim sees EHLO, then nothing until QUIT "
    "(session 1) or its own timeout (session 2).",
    "passthrough-client-side.pcap": "Reference for the proxy captures: one clean swaks `--pipeline` session "
    "(127.0.1.32 to 127.0.2.32:25) through `mboxproxy.py --mode passthrough` (plain relay, one segment written per "
    "segment read). Server side: passthrough-server-side.pcap. Exim configuration `base`.",
    "passthrough-server-side.pcap": "Server side (proxy 127.0.3.32 to Exim 127.0.0.32:25) of "
    "passthrough-client-side.pcap.",
    "binarymime-data.pcap": "testdata/record/binarymime_client.py to Exim (`base`; it offers 8BITMIME and "
    "CHUNKING, not BINARYMIME): EHLO, `MAIL FROM:<a@example.org> BODY=BINARYMIME` (rejected), the same MAIL "
    "without BODY, RCPT, DATA, then a message with `Content-Transfer-Encoding: binary` whose body has bytes >= "
    "0x80 (no NUL, CRLF line ends) and lines of 1500 and 2100 octets (over 998), QUIT. Exim accepts the message.",
    "retry-loop.pcap": "testdata/record/retry_loop_client.py to Exim (`base`): the same transaction four times, "
    "1 s apart: EHLO, `MAIL FROM:<a@example.org>`, `RCPT TO:<b@example.test>`, `RCPT TO:<c@example.test>`, DATA, "
    "then the first 51200 bytes of a 105727-byte message (same headers and `Message-ID: "
    "<retry-loop-1@client.example.org>` each time) in 4096-byte writes; 0.5 s later the client closes with "
    "SO_LINGER 0 (RST), before the end of data: no attempt gets a final reply. Exim logs `lost while reading "
    "message data` each time.",
    "stall.pcap": "testdata/record/stall_client.py to Exim (configuration `timeout30`: smtp_receive_timeout 30 s): "
    "EHLO, MAIL, then the client waits 12 s before RCPT; DATA, message, QUIT complete normally.",
    "sync-error.pcap": "testdata/record/sync_error_client.py to Exim (configuration `nopipelining`: "
    "pipelining_advertise_hosts empty, so no PIPELINING in the EHLO reply; Exim enforces synchronization). "
    "Session 1: EHLO, reply awaited, then `MAIL ...\\r\\nRCPT ...\\r\\nDATA\\r\\n` in one write. Session 2: "
    "`EHLO ...\\r\\nMAIL ...\\r\\n` in one write right after the banner, before the EHLO reply. Each time Exim "
    "answers `554 SMTP synchronization error` and closes.",
    "rset-size.pcap": "testdata/record/rset_size_client.py to Exim (`base`, SIZE 10485760). Session 1: EHLO, "
    "`MAIL FROM:<a@example.org> SIZE=999999999` (552), RSET, QUIT. Session 2: EHLO, `MAIL FROM:<a@example.org> "
    "SIZE=100`, RCPT, DATA and a 5058-byte message (more than declared; Exim accepts it), QUIT.",
    "bdat-pipelined.pcap": "testdata/record/bdat_pipelined_client.py to Exim (`base`, PIPELINING and CHUNKING): "
    "EHLO, then without waiting for replies one write `MAIL ...\\r\\nRCPT ...\\r\\nBDAT 120\\r\\n` + 120 bytes, "
    "20 ms later one write `BDAT 80\\r\\n` + 80 bytes + `BDAT 0 LAST\\r\\n`; it reads the five replies, then QUIT. "
    "Everything is legal. tshark's smtp dissector loses track after the first BDAT (its smtp column is empty "
    "for the client's later commands); the per-stream line uses the BDAT sizes.",
}

FAILURE_ORDER = [
    "pix-client-side.pcap", "pix-server-side.pcap", "hold513-client-side.pcap", "hold513-server-side.pcap",
    "passthrough-client-side.pcap", "passthrough-server-side.pcap", "binarymime-data.pcap", "retry-loop.pcap",
    "stall.pcap", "sync-error.pcap", "rset-size.pcap", "bdat-pipelined.pcap",
]


def esc(b, n=60):
    s = b[:n].decode("latin-1").replace("\r", "\\r").replace("\n", "\\n")
    s = "".join(ch if 32 <= ord(ch) < 127 else "." for ch in s)
    return s + ("..." if len(b) > n else "")


def counted(words):
    out = []
    for w in words:
        if out and out[-1][0] == w:
            out[-1][1] += 1
        else:
            out.append([w, 1])
    return ", ".join(w if n == 1 else f"{w} x{n}" for w, n in out)


def failure_notes(name, rows, streams):
    notes = []
    cs = [r for r in rows if r["c2s"] and r["len"]]
    # a command line that ends in a later segment
    for i, r in enumerate(cs):
        if r.get("partial"):
            nxt = next((x for x in cs[i + 1:] if x["stream"] == r["stream"]), None)
            if nxt:
                notes.append(f"Frame {r['n']} (stream {r['stream']}) ends inside a command line: `{esc(r['payload'])}`; "
                             f"the line goes on in frame {nxt['n']}: `{esc(nxt['payload'])}`.")
    # several commands in one segment
    for r in cs:
        if len(r["lines"]) > 1 and not (name.startswith("hold513") and r["len"] == 513):
            notes.append(f"Frame {r['n']} (stream {r['stream']}, tcp.len {r['len']}) carries {len(r['lines'])} "
                         f"commands: {counted(r['lines'])}.")
        for b in r.get("bdat", []):
            notes.append(f"Frame {r['n']}: `{b}`.")
    # commands masked by the fixup, EHLO keywords masked
    for r in rows:
        if r["c2s"] and r["len"]:
            for line in r["payload"].split(b"\r\n"):
                if line.startswith(b"XX"):
                    notes.append(f"Frame {r['n']} (stream {r['stream']}): masked command line `{esc(line)}`.")
        elif r["len"] and b"\r\n250-X" in r["payload"]:
            kws = [k.decode() for k in re.findall(rb"\r\n250[- ](X+[^X\r\n ]*)", r["payload"])]
            notes.append(f"Frame {r['n']} (stream {r['stream']}): EHLO reply with masked keywords {', '.join(kws)}.")
    # 513-byte segments
    if name.startswith("hold513"):
        big = [r for r in rows if r["len"] == 513]
        for r in big:
            notes.append(f"Frame {r['n']} (stream {r['stream']}): the 513-byte segment ({counted(r['lines'])}).")
        if not big:
            per = {}
            for r in cs:
                per.setdefault(r["stream"], []).append(f"{r['n']}:{r['len']}")
            notes.append("No 513-byte segment. Client payload segments (frame:tcp.len) per stream: "
                         + "; ".join(f"stream {k}: {' '.join(v)}" for k, v in sorted(per.items())) + ".")
    # long pauses inside a connection
    for sid, st in sorted(streams.items()):
        rs = st["rows"]
        for a, b in zip(rs, rs[1:]):
            if b["t"] - a["t"] > 1.0:
                notes.append(f"Stream {sid}: no packet for {b['t'] - a['t']:.1f} s between frame {a['n']} "
                             f"({'C>S' if a['c2s'] else 'S>C'} {flags(a)} len {a['len']}) and frame {b['n']} "
                             f"({'C>S' if b['c2s'] else 'S>C'} {flags(b)} len {b['len']}).")
    # data sent after 354 and how the connection ended
    if name in ("retry-loop.pcap", "rset-size.pcap", "binarymime-data.pcap"):
        for sid, st in sorted(streams.items()):
            rs = st["rows"]
            i354 = next((r["n"] for r in rs if not r["c2s"] and "354" in r["codes"]), None)
            if i354 is None:
                continue
            after = [r for r in rs if r["n"] > i354]
            reply = next((r["n"] for r in after if not r["c2s"] and r["codes"]), None)
            data = [r for r in after if r["c2s"] and r["len"] and (reply is None or r["n"] < reply)]
            blob = b"".join(r["payload"] for r in data)
            end = rs[-1]
            rst = [r["n"] for r in after if r["rst"]]
            txt = (f"Stream {sid}: after the 354 (frame {i354}) the client sends {len(blob)} bytes in "
                   f"{len(data)} segments, frames {data[0]['n']}..{data[-1]['n']}; ")
            txt += f"reply to the data: frame {reply}" if reply else "no reply to the data"
            if rst:
                txt += f"; RST frame {rst[0]} ({'C>S' if rs[[r['n'] for r in rs].index(rst[0])]['c2s'] else 'S>C'})"
            notes.append(txt + f"; last frame {end['n']}.")
            if name == "binarymime-data.pcap":
                hi = sum(1 for c in blob if c >= 0x80)
                notes.append(f"Stream {sid}: the data has {hi} bytes >= 0x80, {blob.count(0)} NUL bytes.")
                off = 0  # offset of the current line in the data
                starts = []  # (offset of the frame's first byte, frame number)
                pos = 0
                for r in data:
                    starts.append((pos, r["n"]))
                    pos += len(r["payload"])
                for line in blob.split(b"\r\n"):
                    if len(line) > 998:
                        first = max(n for p0, n in starts if p0 <= off)
                        last = max(n for p0, n in starts if p0 <= off + len(line) + 1)
                        notes.append(f"Stream {sid}: a {len(line)}-octet line (over 998) in frames {first}..{last}.")
                    off += len(line) + 2
            for r in data:
                m = r["payload"].find(b"Message-ID:")
                if m >= 0:
                    mid = r["payload"][m:].split(b"\r\n")[0]
                    notes.append(f"Stream {sid}: frame {r['n']}: `{esc(mid)}`.")
    if name == "rset-size.pcap":
        for r in cs:
            if r["payload"].startswith(b"MAIL") and b"SIZE=" in r["payload"]:
                notes.append(f"Frame {r['n']} (stream {r['stream']}): `{esc(r['payload'].rstrip())}`.")
    if name == "binarymime-data.pcap":
        for r in cs:
            if r["payload"].startswith(b"MAIL") and b"BODY=" in r["payload"]:
                notes.append(f"Frame {r['n']}: `{esc(r['payload'].rstrip())}`.")
    return notes


def section(name, args, how, note_fn):
    """README lines for one file."""
    o = []
    path = os.path.join(args.dir, name)
    size = os.path.getsize(path)
    o.append(f"## {name}")
    o.append("")
    o.append(how[name])
    o.append("")
    if name in UNREADABLE:
        rc, out, err = run(["tshark", "-r", path])
        msg = (err.strip().splitlines() or ["(no message)"])[0]
        o.append(f"- size: {size} bytes")
        o.append(f"- tshark: exit {rc}: `{msg}`")
        o.append("")
        return o
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
    for note in note_fn(name, rows, streams):
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
    return o


def failures_part(args):
    """The failure captures' heading, introduction and sections (those present in --dir)."""
    names = [n for n in FAILURE_ORDER if os.path.exists(os.path.join(args.dir, n))]
    if not names:
        return []
    o = []
    o.append("# Failure captures")
    o.append("")
    o.append(
        "Real traffic, regenerated by `testdata/record/record-failures.sh` (run as root; it does not touch the "
        "captures above): the same Exim, tcpdump and swaks, the python clients and the middlebox "
        "`testdata/record/mboxproxy.py` in `testdata/record/`, in a private network namespace on its loopback "
        "(MTU 1500, TSO/GSO/GRO off). Each scenario has its own Exim daemon on 127.0.0.N:25 (N = 30..38), "
        "clients use 127.0.1.N; a proxy listens on 127.0.2.N:25 and connects to Exim from 127.0.3.N, and the "
        "two sides of a proxied session are captured by two tcpdumps (`host 127.0.2.N` and `host 127.0.0.N`) into "
        "`NAME-client-side.pcap` and `NAME-server-side.pcap`, each holding only its own connection; frame numbers "
        "of the two sides differ (each side has its own ACKs). Exim configurations (testdata/record/lib.sh): "
        "`base` is record.sh's (SIZE 10485760, 8BITMIME, PIPELINING, CHUNKING, STARTTLS, SMTPUTF8, HELP; "
        "smtp_receive_timeout 10 s); `timeout6` and `timeout30` differ only in smtp_receive_timeout (6 s, 30 s); "
        "`nopipelining` only in `pipelining_advertise_hosts =` (empty: no PIPELINING offered). "
        "The tables and per-stream lines read as above; replies are paired with commands in order "
        "(so pipelined replies are attributed correctly), and the notes below each per-stream list are "
        "computed from the frames too."
    )
    o.append("")
    for name in names:
        o += section(name, args, FAILURE_HOW, failure_notes)
    return o


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--midstream-cut", type=int)
    ap.add_argument("--failures", action="store_true",
                    help="write only the failure captures' part (what follows MARKER in README.md)")
    ap.add_argument("--exim-version", default="")
    ap.add_argument("--swaks-version", default="")
    ap.add_argument("--tcpdump-version", default="")
    args = ap.parse_args()
    args.dir = os.path.abspath(args.dir)

    if args.failures:
        sys.stdout.write("\n".join(failures_part(args)))
        return
    if args.midstream_cut is None:
        ap.error("--midstream-cut is required (except with --failures)")

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
        o += section(name, args, HOW, lambda n, rows, streams: special(n, rows, streams, args))
    fail = failures_part(args)
    if fail:
        # as record-failures.sh writes it: one empty line, the marker, one empty line
        o += [MARKER, ""] + fail
    sys.stdout.write("\n".join(o))


if __name__ == "__main__":
    main()
