#!/usr/bin/env python3
"""Small SMTP client for record.sh: explicit writes (TCP_NODELAY), replies read
with timeouts, every write and every reply logged with a timestamp.

usage: smtp_client.py SCENARIO SERVER_ADDR CLIENT_ADDR LOGFILE
SCENARIO: barelf-mid | barelf-end | clean | barecr | barelf-split
(barelf-split: the barelf-mid content in two writes, split right after the
bare LF, 0.5 s apart, to show on the wire when Sendmail answers)
"""
import socket, sys, time

scn, srv, cli, logf = sys.argv[1:5]
T0 = time.time()
log = open(logf, "w")


def note(kind, data):
    line = "%9.6f %s %r" % (time.time() - T0, kind, data)
    print(line, file=log, flush=True)
    print(line, file=sys.stderr, flush=True)


s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.bind((cli, 0))
s.connect((srv, 25))
note("connect", "%s:%d -> %s:25" % (s.getsockname() + (srv,)))
buf = b""
eof = False


def reply(timeout):
    """One complete (possibly multi-line) reply, or None on timeout/EOF."""
    global buf, eof
    end = time.time() + timeout
    while True:
        lines = buf.split(b"\r\n")
        for i, l in enumerate(lines[:-1]):
            if len(l) >= 4 and l[3:4] == b" ":  # last line of a reply
                r = b"\r\n".join(lines[: i + 1]) + b"\r\n"
                buf = buf[len(r):]
                note("S>C", r)
                return r
        left = end - time.time()
        if eof or left <= 0:
            if buf:
                note("S>C partial", buf)
            note("no reply", "eof" if eof else "timeout %gs" % timeout)
            return None
        s.settimeout(left)
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            d = b""
            note("recv", "connection reset")
        if not d:
            eof = True
            note("recv", "EOF from server")
        buf += d


def send(data):
    note("C>S", data)
    s.sendall(data)


def cmd(line, want):
    send(line + b"\r\n")
    r = reply(10)
    if r is None or not r.startswith(want):
        raise SystemExit("unexpected reply to %r: %r" % (line, r))
    return r


def closed_by_server(wait):
    """True when the server closes within `wait` seconds (reads what comes)."""
    global eof
    while not eof:
        if reply(wait) is None:
            break
    return eof


HDR = (b"From: a@example.org\r\nTo: root@example.test\r\n"
       b"Subject: smtpcap %s\r\nMessage-Id: <%s@client.example.org>\r\n\r\n")
CONTENT = {
    "barelf-mid": b"first line\nsecond line\r\nthird line\r\n.\r\n",
    "barelf-end": b"body line\r\n%%EOF\n.\r\n",
    "barecr": b"first line\rstill first line\r\nsecond line\r\n.\r\n",
    "clean": b"Hello from smtpcap.\r\nSecond line.\r\n.\r\n",
}
CONTENT["barelf-split"] = CONTENT["barelf-mid"]

try:
    if reply(10) is None:
        raise SystemExit("no banner")
    cmd(b"EHLO client.example.org", b"250")
    for n in range(2 if scn == "clean" else 1):
        cmd(b"MAIL FROM:<a@example.org>", b"250")
        cmd(b"RCPT TO:<root@example.test>", b"250")
        cmd(b"DATA", b"354")
        tag = b"%s-%d" % (scn.encode(), n + 1)
        msg = HDR % (tag, tag) + CONTENT[scn]
        if scn == "barelf-split":
            cut = msg.index(b"first line\n") + len(b"first line\n")
            send(msg[:cut])
            time.sleep(0.5)
            try:
                send(msg[cut:])
            except OSError as e:  # the server may have closed already
                note("send failed", str(e))
        else:
            send(msg)  # one write, no reads in between
        if scn == "clean":
            if reply(10) is None:
                raise SystemExit("no reply to end of data")
            continue
        # after the content: whatever the server says within 10 s (15 s for
        # barelf-end, whose end-of-data may never be recognised)
        r = reply(15 if scn == "barelf-end" else 10)
        if r is not None and not eof:
            closed_by_server(1)  # a 421 is followed by the server's close
        if r is None and scn == "barelf-end":
            eof = True  # no end of data seen by the server: just close, no QUIT
    if not eof:
        send(b"QUIT\r\n")
        reply(10)
        closed_by_server(5)
finally:
    s.close()
    note("close", "client closed its socket")
