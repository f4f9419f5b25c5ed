#!/usr/bin/env python3
"""Write testdata/pcaps/postfix/README.md (to stdout) from the Postfix captures.

Uses summarize.py's tshark/capinfos readers and per-file section layout; the
notes added here (every reply line with its full text, pauses of more than a
second, the BDAT commands) are computed from the frames too. Nothing is
hand-written except the "how it was made" text below.
"""

import argparse
import os
import subprocess
import sys

import summarize as S

HOW = {
    "clean.pcap": "One plain swaks session (no pipelining) to listener 127.0.0.40 (main.cf settings only): "
    "EHLO, MAIL, RCPT, DATA with a small fixed message, QUIT. Postfix answers the end of data with "
    "`250 2.0.0 Ok: queued as QUEUEID` and QUIT with `221 2.0.0 Bye`.",
    "pipelined.pcap": "One swaks `--pipeline` session to 127.0.0.41 (main.cf settings only): Postfix offers "
    "PIPELINING, so MAIL, RCPT and DATA go out in one write and Postfix answers them together.",
    "bdat.pcap": "`postfix_clients.py bdat` (TCP_NODELAY, one write per command; each BDAT command and its chunk "
    "in one write) to 127.0.0.42 (main.cf settings only; Postfix offers CHUNKING): EHLO, MAIL, RCPT, `BDAT 50` + "
    "50 bytes, `BDAT 0 LAST`; then a second transaction MAIL, RCPT, `BDAT 65 LAST` + 65 bytes; QUIT. Every reply "
    "is awaited before the next command. Postfix answers a non-last chunk with `250 2.0.0 Ok: N bytes` and the "
    "last one with `250 2.0.0 Ok: N bytes queued as QUEUEID` (N = message size so far).",
    "barelf.pcap": "`postfix_clients.py barelf --wait 5` to 127.0.0.43, an smtpd with "
    "`-o smtpd_forbid_bare_newline=normalize` (the setting Postfix recommends against SMTP smuggling; "
    "`smtpd_forbid_bare_newline_exclusions` is empty): EHLO, MAIL, RCPT, DATA, then the whole message in one "
    "write ending `%%EOF\\n.\\r\\n` (bare LF before the dot). Postfix does not take `\\n.\\r\\n` as the end of "
    "data and keeps waiting for `\\r\\n.\\r\\n`; it sends nothing. The client waits 5 s for a reply, then closes "
    "with SO_LINGER 0 (RST).",
    "barelf-reject.pcap": "`postfix_clients.py barelf --wait 5 --after-silence dot` to 127.0.0.44, an smtpd with "
    "`-o smtpd_forbid_bare_newline=reject`: the same message ending `%%EOF\\n.\\r\\n`; Postfix again sends "
    "nothing. After 5 s of silence the client sends one more `.\\r\\n` (the data now ends with a standard "
    "`\\r\\n.\\r\\n`), and Postfix rejects the message with "
    "`550 5.5.2 mx.example.test Error: bare <LF> received` (smtpd_forbid_bare_newline_reject_code 550); QUIT, 221.",
    "barelf-accept.pcap": "`postfix_clients.py barelf --wait 5` to 127.0.0.45, an smtpd with "
    "`-o smtpd_forbid_bare_newline=no` (the default before Postfix 3.9, also in this 3.7): the same message; "
    "Postfix takes `\\n.\\r\\n` as the end of data and answers at once with `250 2.0.0 Ok: queued as QUEUEID` "
    "(the behaviour SMTP smuggling exploits); QUIT, 221.",
    "unauth-pipelining.pcap": "`postfix_clients.py unauthpipe` to 127.0.0.46, an smtpd with "
    "`-o smtpd_data_restrictions=reject_unauth_pipelining -o smtpd_discard_ehlo_keywords=pipelining` "
    "(PIPELINING not offered). Session 1: EHLO, then MAIL+RCPT+DATA in one write: Postfix 3.7 does *not* flag "
    "this (the client said EHLO), answers 250, 250, 354 in one segment, and the message is queued (250); QUIT. "
    "Session 2: HELO, then MAIL+RCPT+DATA in one write: Postfix flags improper pipelining and answers 250, 250 "
    "and `503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining` (reply code 503, "
    "not 554; the session goes on); QUIT, 221.",
    "sync-error.pcap": "`postfix_clients.py syncerror` to 127.0.0.47, an smtpd with "
    "`-o smtpd_forbid_unauth_pipelining=yes` (PIPELINING offered after EHLO). Session 1: HELO, then "
    "MAIL+RCPT+DATA in one write: Postfix answers only `554 5.5.0 Error: SMTP protocol synchronization` (no reply "
    "to MAIL) and closes the connection. Session 2: `EHLO ...\\r\\nMAIL ...\\r\\n` in one write right after the "
    "banner: the same 554 instead of the EHLO reply, and close. (Postfix 3.9 words this reply `554 5.5.0 Error: "
    "improper use of SMTP command pipelining`; 3.7.11 says `SMTP protocol synchronization`.)",
    "rejects.pcap": "`postfix_clients.py rejects` to 127.0.0.48 (main.cf settings only), one session, each command "
    "awaiting its reply: EHLO; MAIL FROM:<a@example.org> 250; RCPT TO:<nobody@example.test> 550 (not in "
    "local_recipient_maps); RCPT TO:<b@example.org> 454 (relay denied: clients are not in mynetworks and the "
    "Postfix default smtpd_relay_restrictions end in defer_unauth_destination); RCPT TO:<user@example.test> 250; "
    "RSET; `MAIL FROM:<>` 250; RSET; `MAIL FROM: SIZE=100` 250 (Postfix takes `SIZE=100` as the sender "
    "address); RSET; `MAIL FROM:` 501; `MAIL FROM:<a@example.org> SIZE=20000000` 552 (message_size_limit "
    "10240000); `XXXX TO:<b@example.test>` 500; NOOP; RSET; QUIT.",
    "starttls.pcap": "One swaks `--tls` session to 127.0.0.49, an smtpd with `-o smtpd_tls_security_level=may` "
    "and a self-signed certificate made by openssl in the temp dir: EHLO, STARTTLS, TLS 1.3 handshake, then EHLO, "
    "MAIL, RCPT, DATA, message, QUIT inside TLS; after its 221 Postfix sends a TLS close_notify alert with its FIN, "
    "and swaks, which has already closed its socket, answers with RST. `starttls.keylog` holds the session keys in NSS key log "
    "format, written by swaks' Net::SSLeay through testdata/record/swaks_keylog.pm "
    "(`CTX_set_keylog_callback`), so `tshark -o tls.keylog_file:starttls.keylog` decrypts it.",
    "timeout.pcap": "`postfix_clients.py timeout --wait 20` to 127.0.0.50, an smtpd with `-o smtpd_timeout=5s`: "
    "EHLO, MAIL, then the client stays silent. After 5 s Postfix sends "
    "`421 4.4.2 mx.example.test Error: timeout exceeded` and closes (FIN); the client then closes too.",
}

ORDER = [
    "clean.pcap", "pipelined.pcap", "bdat.pcap", "barelf.pcap", "barelf-reject.pcap", "barelf-accept.pcap",
    "unauth-pipelining.pcap", "sync-error.pcap", "rejects.pcap", "starttls.pcap", "timeout.pcap",
]


def tls_reply_lines(path, keylog):
    """frame number -> decrypted reply lines (from smtp.response.code/smtp.rsp.parameter)."""
    cmd = ["tshark", "-r", path, "-o", "tls.keylog_file:" + keylog, "-Y", "smtp.response.code", "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=\x1f",
           "-e", "frame.number", "-e", "smtp.response.code", "-e", "smtp.rsp.parameter"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    out = {}
    for line in p.stdout.splitlines():
        n, codes, params = (line.split("\t") + ["", ""])[:3]
        codes = [c for c in codes.split("\x1f") if c]
        params = params.split("\x1f") if params else [""]
        if len(codes) != 1:
            continue
        out[int(n)] = [codes[0] + ("-" if i < len(params) - 1 else " ") + p for i, p in enumerate(params)]
    return out


def notes(name, rows, streams, args):
    o = []
    keylog = os.path.join(args.dir, "starttls.keylog") if name == "starttls.pcap" else None
    tls_lines = tls_reply_lines(os.path.join(args.dir, name), keylog) if keylog and os.path.exists(keylog) else {}
    for sid, st in sorted(streams.items()):
        lines = []
        for r in st["rows"]:
            if r["c2s"] or not r["len"]:
                continue
            if r.get("in_tls"):
                texts = tls_lines.get(r["n"], [])
                tag = "TLS:"
            else:
                texts = [l for l in r["payload"].decode("latin-1").split("\r\n") if l]
                tag = ""
            # EHLO replies: first line and keywords only
            if texts and texts[0].startswith("250-"):
                kw = " ".join(t[4:] for t in texts[1:])
                lines.append(f"{r['n']} {tag}`{texts[0]}` + keywords: {kw}")
                continue
            for t in texts:
                lines.append(f"{r['n']} {tag}`{S.esc(t.encode('latin-1'), 120)}`")
        if lines:
            o.append(f"stream {sid} reply lines (frame, full text): " + "; ".join(lines))
        # client command lines carrying BDAT, and pauses
        bd = [f"{r['n']} `{b}`" for r in st["rows"] for b in r.get("bdat", [])]
        if bd:
            o.append(f"stream {sid} BDAT commands (frame, line; each with its chunk in the same segment): " + "; ".join(bd))
        # pauses of 1 s or more between frames that carry payload, SYN, FIN or RST (pure ACKs skipped)
        prev = None
        for r in st["rows"]:
            if not (r["len"] or r["syn"] or r["fin"] or r["rst"]):
                continue
            if prev is not None and r["t"] - prev["t"] >= 1.0:
                o.append(f"stream {sid}: pause of {r['t'] - prev['t']:.2f} s between frame {prev['n']} "
                         f"({'C>S' if prev['c2s'] else 'S>C'} {S.flags(prev)} len {prev['len']}) and frame {r['n']} "
                         f"({'C>S' if r['c2s'] else 'S>C'} {S.flags(r)} len {r['len']})")
            prev = r
    for r in rows:
        if b"%%EOF\n.\r\n" in r["payload"]:
            o.append(f"Frame {r['n']} ({r['len']} bytes) carries the whole message, ending `%%EOF\\n.\\r\\n`.")
        if r["c2s"] and r["payload"] == b".\r\n":
            o.append(f"Frame {r['n']} carries the lone `.\\r\\n` that completes a standard `\\r\\n.\\r\\n`.")
        if r["c2s"] and r["len"] and r["payload"].count(b"\r\n") > 1 and not r.get("in_tls") \
                and r["payload"][:4] in (b"MAIL", b"EHLO"):
            o.append(f"Frame {r['n']} carries several commands in one segment: `{S.esc(r['payload'], 120)}`.")
    return o


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--postfix-version", default="")
    ap.add_argument("--swaks-version", default="")
    ap.add_argument("--tcpdump-version", default="")
    args = ap.parse_args()
    args.dir = os.path.abspath(args.dir)
    o = []
    o.append("# SMTP test captures from Postfix")
    o.append("")
    o.append(
        "Real traffic, regenerated by `testdata/record/record-postfix.sh` (run as root with the Debian `postfix` "
        "package installed, which replaces exim4; see the script's header): a real Postfix "
        f"{args.postfix_version.strip()} smtpd (Debian bookworm package; `postconf -d mail_version`) as the server, "
        f"swaks ({args.swaks_version.strip()}) or `testdata/record/postfix_clients.py` as the client, recorded with "
        f"tcpdump ({args.tcpdump_version.strip()}) inside a private network namespace on its loopback (MTU 1500, "
        "TSO/GSO/GRO off). Postfix is not the system service: the script writes its own main.cf/master.cf "
        "(compatibility_level 3.6, myhostname mx.example.test, mydestination example.test, "
        "local_recipient_maps with `user` and `postmaster` only, mynetworks 127.0.0.1/32, "
        "smtpd_peername_lookup no, every transport `discard:`) and runs `postfix -c DIR start` in the namespace. "
        "master.cf has one smtpd per capture on 127.0.0.N:25 (N = 40..50) with that capture's `-o` overrides "
        "(given below); the client binds to 127.0.1.N; each file is `tcpdump -i lo 'tcp and host 127.0.0.N'`. "
        "Postfix offers PIPELINING, SIZE 10240000, VRFY, ETRN, ENHANCEDSTATUSCODES, 8BITMIME, DSN, SMTPUTF8, "
        "CHUNKING (plus STARTTLS on 127.0.0.49 only); the banner is `220 mx.example.test ESMTP Postfix`. "
        "Message contents are fixed; ports, sequence numbers, timestamps and Postfix queue ids differ on each run."
    )
    o.append("")
    o.append(
        "Everything below the descriptions is produced by `testdata/record/summarize_postfix.py` (with "
        "`summarize.py`'s readers) from tshark and capinfos, as in `../README.md`: directions C>S client to server, "
        "S>C server to client; flags S SYN, F FIN, R RST, P payload, . ACK; per-stream command frames come from "
        "the client's tcp.payload split into CRLF-terminated lines, reply codes from smtp.response.code, and the "
        "reply lines are quoted in full from the server's tcp.payload (decrypted ones from tshark with the key log)."
    )
    o.append("")
    for name in ORDER:
        if not os.path.exists(os.path.join(args.dir, name)):
            continue
        o += S.section(name, args, HOW, lambda n, rows, streams: notes(n, rows, streams, args))
    sys.stdout.write("\n".join(o).rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
