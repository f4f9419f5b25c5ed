#!/usr/bin/env python3
"""Small SMTP client for record.sh (OpenSMTPD): explicit writes (TCP_NODELAY),
replies read with timeouts, every write and every reply logged with a timestamp.
Adapted from testdata/pcaps/sendmail/smtp_client.py.

usage: smtp_client.py SCENARIO SERVER_ADDR CLIENT_ADDR LOGFILE
SCENARIO: clean | barelf-end | smuggle | smuggle-split | pipelined | unoffered-pipelining
  clean          two messages in one connection, CRLF everywhere, then QUIT
  barelf-end     content ends '%%EOF\\n.\\r\\n'
  smuggle        content holds '\\n.\\r\\n' followed by a second envelope
                 (MAIL/RCPT/DATA) and message, then the standard end
  smuggle-split  the smuggle content in two writes 0.5 s apart, cut right
                 after '\\n.\\r\\n'
  pipelined      MAIL, RCPT and DATA in one write, then the content; exits 3
                 (skipped) when the server does not offer PIPELINING
  unoffered-pipelining  MAIL, RCPT and DATA in one write although PIPELINING
                 is not offered
After barelf-end, smuggle*, unoffered-pipelining: every reply is logged (the
first awaited up to 10 s, then until 2 s of silence), then QUIT if still open.
Content is one write (but smuggle-split), and nothing is read while it is sent.
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


HDR = (b"From: a@example.org\r\nTo: root@example.test\r\n"
       b"Subject: smtpcap %s\r\nMessage-Id: <%s@client.example.org>\r\n\r\n")
SMUGGLED = (b"MAIL FROM:<admin@example.test>\r\nRCPT TO:<root@example.test>\r\n"
            b"DATA\r\n\r\nsmuggled\r\n")
CONTENT = {
    "clean": b"Hello from smtpcap.\r\nSecond line.\r\n.\r\n",
    "barelf-end": b"body line\r\n%%EOF\n.\r\n",
    # the smuggled part's last line 'smuggled\r\n' starts the standard '\r\n.\r\n'
    "smuggle": b"first part\n.\r\n" + SMUGGLED + b".\r\n",
    "pipelined": b"Hello from smtpcap, pipelined.\r\n.\r\n",
}
CONTENT["smuggle-split"] = CONTENT["smuggle"]
ENV = b"MAIL FROM:<a@example.org>\r\nRCPT TO:<root@example.test>\r\nDATA\r\n"

def replies():
    """Log every reply: the first within 10 s, then until 2 s of silence."""
    wait, end = 10.0, time.time() + 10
    while not eof and time.time() < end:
        if reply(min(wait, end - time.time())) is None:
            break
        wait = 2.0


try:
    if reply(10) is None:
        raise SystemExit("no banner")
    ehlo = cmd(b"EHLO client.example.org", b"250")
    if scn == "unoffered-pipelining":
        send(ENV)  # one write, no reads in between
        replies()
    for n in range(2 if scn == "clean" else 0 if scn == "unoffered-pipelining" else 1):
        if scn == "pipelined":
            if b"PIPELINING" not in ehlo:
                note("skip", "server does not offer PIPELINING")
                send(b"QUIT\r\n")
                reply(10)
                raise SystemExit(3)
            send(ENV)  # one write, then the three replies
            for want in (b"250", b"250", b"354"):
                r = reply(10)
                if r is None or not r.startswith(want):
                    raise SystemExit("unexpected reply in pipelined group: %r" % r)
        else:
            cmd(b"MAIL FROM:<a@example.org>", b"250")
            cmd(b"RCPT TO:<root@example.test>", b"250")
            cmd(b"DATA", b"354")
        tag = b"%s-%d" % (scn.encode(), n + 1)
        msg = HDR % (tag, tag) + CONTENT[scn]
        if scn == "smuggle-split":
            cut = msg.index(b"\n.\r\n") + 4
            send(msg[:cut])
            time.sleep(0.5)
            try:
                send(msg[cut:])
            except OSError as e:  # the server may have closed already
                note("send failed", str(e))
        else:
            send(msg)  # one write, no reads in between
        if scn in ("clean", "pipelined"):
            if reply(10) is None:
                raise SystemExit("no reply to end of data")
        else:
            replies()
    if not eof:
        send(b"QUIT\r\n")
        reply(10)
        while not eof and reply(5) is not None:  # read up to the server's close
            pass
finally:
    s.close()
    note("close", "client closed its socket")
