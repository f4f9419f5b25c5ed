#!/usr/bin/env python3
"""Small SMTP client for record.sh (adapted from ../postfix-bare/smtp_client.py):
explicit writes (TCP_NODELAY), replies read with timeouts, every write and
every batch of reply lines logged with a timestamp as it arrives.

usage: smtp_client.py SCENARIO SERVER_ADDR CLIENT_ADDR LOGFILE
SCENARIO:
  pregreet-enforce  EHLO right after connecting, before any greeting; then the
                    greeting (postscreen's "220-" line, never finished), the
                    EHLO reply (250), MAIL (250), RCPT (550 5.5.1), QUIT (221)
  pregreet-drop     EHLO right after connecting; postscreen answers 521 and
                    closes; the client closes
  patient           waits for the whole greeting ("220-" then, 2 s later,
                    "220 "), then EHLO, MAIL, RCPT, DATA, content, QUIT
  smtputf8          as patient, with MAIL FROM:<señor@example.org> SMTPUTF8
                    and RCPT TO:<bøb@example.test> (UTF-8 on the wire)
  idle-timeout      greeting, EHLO, MAIL, RCPT, then silence until the server
                    says 421 and closes; then the client closes
  warm-up           (not recorded) greeting, EHLO, MAIL, RCPT, QUIT: so that
                    smtpd, cleanup and trivial-rewrite are running before the
                    recordings and no reply is late for a process start
Except for the early EHLO, each command is sent only after the reply to the
previous one has been read. Any other reply than the one expected: exit 1.
"""
import os, sys, time, socket

# the shared core (connection, logging, writes): testdata/record/smtpclient.py
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "record"))
sys.dont_write_bytecode = True  # leave no __pycache__ in testdata/record
import smtpclient  # noqa: E402


class Client(smtpclient.Client):
    """smtpclient.Client with a reply reader that knows reply codes: complete
    lines are logged ("S>C") as soon as they arrive, so a greeting sent in two
    parts 2 s apart shows both times; a reply is complete at its last line
    ("NNN " or no "-"), or cut ("reply cut") when the next line has another
    code: postscreen's "220-" greeting to a pregreeting client is never finished,
    the 250 reply to the early EHLO follows it."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.lines = []  # complete lines received (and logged), not yet returned

    def _take(self):
        ls = self.lines
        for i, l in enumerate(ls):
            if i > 0 and l[:3] != ls[0][:3]:
                r = b"".join(ls[:i])
                del ls[:i]
                self.note("reply cut", r)
                return r
            if l[3:4] != b"-":
                r = b"".join(ls[: i + 1])
                del ls[: i + 1]
                return r
        return None

    def reply(self, timeout):
        """One reply (complete or cut), or None on timeout/EOF."""
        s = self.sock
        end = time.time() + timeout
        while True:
            r = self._take()
            if r is not None:
                return r
            left = end - time.time()
            if self.eof or left <= 0:
                if self.buf:
                    self.note("S>C partial", self.buf)
                    self.buf = b""
                self.note("no reply", "eof" if self.eof else "timeout %gs" % timeout)
                return None
            s.settimeout(left)
            try:
                d = s.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                d = b""
                self.note("recv", "connection reset")
            if not d:
                self.eof = True
                self.note("recv", "EOF from server")
            self.buf += d
            *new, self.buf = self.buf.split(b"\r\n")
            if new:
                new = [l + b"\r\n" for l in new]
                self.note("S>C", b"".join(new))
                self.lines += new


def expect(r, want, what):
    if r is None or not r.startswith(want):
        raise SystemExit("%s: expected %r, got %r" % (what, want, r))
    return r


scn, srv, cli, logf = sys.argv[1:5]
if scn not in ("pregreet-enforce", "pregreet-drop", "patient", "smtputf8", "idle-timeout", "warm-up"):
    raise SystemExit("unknown scenario " + scn)
# a failed write (the server may have closed already) is logged, not raised
c = Client(srv, cli, logf, tolerant_sends=True)

HDR = (b"From: %s\r\nTo: %s\r\n"
       b"Subject: smtpcap %s\r\nMessage-Id: <%s@client.example.org>\r\n\r\n")
BODY = b"first line\r\nsecond line\r\n.\r\n"

try:
    if scn.startswith("pregreet-"):
        c.send(b"EHLO client.example.org\r\n")  # before reading anything
        r = c.reply(10)  # the greeting: postscreen's "220-" line, cut by the EHLO reply
        if r is not None and r.startswith(b"220"):
            r = c.reply(10)  # the reply to the early EHLO
        if scn == "pregreet-drop":
            expect(r, b"521", "EHLO")
            c.drain(5)  # postscreen closes
            if not c.eof:
                raise SystemExit("the server did not close")
        else:
            expect(r, b"250", "EHLO")
            c.cmd(b"MAIL FROM:<a@example.org>", b"250")
            c.cmd(b"RCPT TO:<root@example.test>", b"550")
            c.cmd(b"QUIT", b"221")
            c.drain(2)
    else:
        r = expect(c.reply(10), b"220", "greeting")
        if b"\r\n220 " not in b"\r\n" + r:
            raise SystemExit("greeting incomplete: %r" % r)
        r = c.cmd(b"EHLO client.example.org", b"250")
        if scn == "smtputf8":
            if b"SMTPUTF8" not in r:
                raise SystemExit("no SMTPUTF8 in the EHLO reply")
            frm, to = "señor@example.org".encode(), "bøb@example.test".encode()
            c.cmd(b"MAIL FROM:<" + frm + b"> SMTPUTF8", b"250")
        else:
            frm, to = b"a@example.org", b"root@example.test"
            c.cmd(b"MAIL FROM:<a@example.org>", b"250")
        c.cmd(b"RCPT TO:<" + to + b">", b"250")
        if scn == "warm-up":
            c.cmd(b"QUIT", b"221")
            c.drain(2)
        elif scn == "idle-timeout":
            # silence: smtpd_timeout (3 s) ends it with 421 and a close
            expect(c.reply(15), b"421", "after RCPT, silent")
            c.drain(5)
            if not c.eof:
                raise SystemExit("the server did not close")
        else:
            c.cmd(b"DATA", b"354")
            tag = scn.encode()
            c.send(HDR % (frm, to, tag, tag) + BODY)  # one write
            expect(c.reply(10), b"250", "end of data")
            c.cmd(b"QUIT", b"221")
            c.drain(2)
finally:
    c.close()
