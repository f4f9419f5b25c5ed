#!/usr/bin/env python3
"""Small SMTP client for record.sh (adapted from ../sendmail/smtp_client.py):
explicit writes (TCP_NODELAY), replies read with timeouts, every write and
every reply logged with a timestamp. Like a real client it does not read
replies while it sends the message content.

usage: smtp_client.py SCENARIO SERVER_ADDR CLIENT_ADDR LOGFILE
SCENARIO: barelf-mid | barelf-split | barelf-end | clean
  barelf-mid    a body line ending in a bare LF, standard "\\r\\n.\\r\\n", one write
  barelf-split  the same content in two writes 0.5 s apart, cut right after
                the bare LF, to show on the wire when Postfix answers
  barelf-end    content ending "%%EOF\\n.\\r\\n" and nothing more
  clean         CRLF everywhere
After the content: wait up to 10 s for a reply (and 1 s more for anything
after it), then QUIT if the connection is still open, then close.
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
    try:
        s.sendall(data)
    except OSError as e:  # the server may have closed already
        note("send failed", str(e))


def cmd(line, want):
    send(line + b"\r\n")
    r = reply(10)
    if r is None or not r.startswith(want):
        raise SystemExit("unexpected reply to %r: %r" % (line, r))
    return r


HDR = (b"From: a@example.org\r\nTo: root@example.test\r\n"
       b"Subject: smtpcap %s\r\nMessage-Id: <%s@client.example.org>\r\n\r\n")
CONTENT = {
    "barelf-mid": b"first line\nsecond line\r\nthird line\r\n.\r\n",
    "barelf-split": b"first line\nsecond line\r\nthird line\r\n.\r\n",
    "barelf-end": b"body line\r\n%%EOF\n.\r\n",
    "clean": b"first line\r\nsecond line\r\nthird line\r\n.\r\n",
}

try:
    if reply(10) is None:
        raise SystemExit("no banner")
    cmd(b"EHLO client.example.org", b"250")
    cmd(b"MAIL FROM:<a@example.org>", b"250")
    cmd(b"RCPT TO:<root@example.test>", b"250")
    cmd(b"DATA", b"354")
    tag = scn.encode()
    msg = HDR % (tag, tag) + CONTENT[scn]
    if scn == "barelf-split":
        cut = msg.index(b"first line\n") + len(b"first line\n")
        send(msg[:cut])
        time.sleep(0.5)  # no read here: the capture shows whether Postfix spoke
        send(msg[cut:])
    else:
        send(msg)  # one write, no reads in between
    # whatever the server says within 10 s, then 1 s for anything more
    if reply(10) is not None:
        while not eof and reply(1) is not None:
            pass
    if not eof:
        send(b"QUIT\r\n")
        # barelf-end: no end of data seen, so QUIT is content: no reply expected
        if reply(10 if scn != "barelf-end" else 2) is not None:
            while not eof and reply(2) is not None:
                pass
finally:
    s.close()
    note("close", "client closed its socket")
