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
import os, sys, time

# the shared core (connection, logging, replies): testdata/record/smtpclient.py
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "record"))
sys.dont_write_bytecode = True  # leave no __pycache__ in testdata/record
import smtpclient  # noqa: E402

scn, srv, cli, logf = sys.argv[1:5]
c = smtpclient.Client(srv, cli, logf)

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
    while not c.eof and time.time() < end:
        if c.reply(min(wait, end - time.time())) is None:
            break
        wait = 2.0


try:
    if c.reply(10) is None:
        raise SystemExit("no banner")
    ehlo = c.cmd(b"EHLO client.example.org", b"250")
    if scn == "unoffered-pipelining":
        c.send(ENV)  # one write, no reads in between
        replies()
    for n in range(2 if scn == "clean" else 0 if scn == "unoffered-pipelining" else 1):
        if scn == "pipelined":
            if b"PIPELINING" not in ehlo:
                c.note("skip", "server does not offer PIPELINING")
                c.send(b"QUIT\r\n")
                c.reply(10)
                raise SystemExit(3)
            c.send(ENV)  # one write, then the three replies
            for want in (b"250", b"250", b"354"):
                r = c.reply(10)
                if r is None or not r.startswith(want):
                    raise SystemExit("unexpected reply in pipelined group: %r" % r)
        else:
            c.cmd(b"MAIL FROM:<a@example.org>", b"250")
            c.cmd(b"RCPT TO:<root@example.test>", b"250")
            c.cmd(b"DATA", b"354")
        tag = b"%s-%d" % (scn.encode(), n + 1)
        msg = HDR % (tag, tag) + CONTENT[scn]
        if scn == "smuggle-split":
            cut = msg.index(b"\n.\r\n") + 4
            c.send(msg[:cut])
            time.sleep(0.5)
            c.send(msg[cut:], tolerant=True)  # the server may have closed already
        else:
            c.send(msg)  # one write, no reads in between
        if scn in ("clean", "pipelined"):
            if c.reply(10) is None:
                raise SystemExit("no reply to end of data")
        else:
            replies()
    if not c.eof:
        c.send(b"QUIT\r\n")
        c.reply(10)
        c.drain(5)  # read up to the server's close
finally:
    c.close()
