#!/usr/bin/env python3
"""Small SMTP client for record.sh: explicit writes (TCP_NODELAY), replies read
with timeouts, every write and every reply logged with a timestamp.

usage: smtp_client.py SCENARIO SERVER_ADDR CLIENT_ADDR LOGFILE
SCENARIO: barelf-mid | barelf-end | clean | barecr | barelf-split
(barelf-split: the barelf-mid content in two writes, split right after the
bare LF, 0.5 s apart, to show on the wire when Sendmail answers)
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
CONTENT = {
    "barelf-mid": b"first line\nsecond line\r\nthird line\r\n.\r\n",
    "barelf-end": b"body line\r\n%%EOF\n.\r\n",
    "barecr": b"first line\rstill first line\r\nsecond line\r\n.\r\n",
    "clean": b"Hello from smtpcap.\r\nSecond line.\r\n.\r\n",
}
CONTENT["barelf-split"] = CONTENT["barelf-mid"]

try:
    if c.reply(10) is None:
        raise SystemExit("no banner")
    c.cmd(b"EHLO client.example.org", b"250")
    for n in range(2 if scn == "clean" else 1):
        c.cmd(b"MAIL FROM:<a@example.org>", b"250")
        c.cmd(b"RCPT TO:<root@example.test>", b"250")
        c.cmd(b"DATA", b"354")
        tag = b"%s-%d" % (scn.encode(), n + 1)
        msg = HDR % (tag, tag) + CONTENT[scn]
        if scn == "barelf-split":
            cut = msg.index(b"first line\n") + len(b"first line\n")
            c.send(msg[:cut])
            time.sleep(0.5)
            c.send(msg[cut:], tolerant=True)  # the server may have closed already
        else:
            c.send(msg)  # one write, no reads in between
        if scn == "clean":
            if c.reply(10) is None:
                raise SystemExit("no reply to end of data")
            continue
        # after the content: whatever the server says within 10 s (15 s for
        # barelf-end, whose end-of-data may never be recognised)
        r = c.reply(15 if scn == "barelf-end" else 10)
        if r is not None and not c.eof:
            c.drain(1)  # a 421 is followed by the server's close
        if r is None and scn == "barelf-end":
            c.eof = True  # no end of data seen by the server: just close, no QUIT
    if not c.eof:
        c.send(b"QUIT\r\n")
        c.reply(10)
        c.drain(5)
finally:
    c.close()
