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
import os, sys, time

# the shared core (connection, logging, replies): testdata/record/smtpclient.py
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "record"))
sys.dont_write_bytecode = True  # leave no __pycache__ in testdata/record
import smtpclient  # noqa: E402

scn, srv, cli, logf = sys.argv[1:5]
# a failed write (the server may have closed already) is logged, not raised
c = smtpclient.Client(srv, cli, logf, tolerant_sends=True)

HDR = (b"From: a@example.org\r\nTo: root@example.test\r\n"
       b"Subject: smtpcap %s\r\nMessage-Id: <%s@client.example.org>\r\n\r\n")
CONTENT = {
    "barelf-mid": b"first line\nsecond line\r\nthird line\r\n.\r\n",
    "barelf-split": b"first line\nsecond line\r\nthird line\r\n.\r\n",
    "barelf-end": b"body line\r\n%%EOF\n.\r\n",
    "clean": b"first line\r\nsecond line\r\nthird line\r\n.\r\n",
}

try:
    if c.reply(10) is None:
        raise SystemExit("no banner")
    c.cmd(b"EHLO client.example.org", b"250")
    c.cmd(b"MAIL FROM:<a@example.org>", b"250")
    c.cmd(b"RCPT TO:<root@example.test>", b"250")
    c.cmd(b"DATA", b"354")
    tag = scn.encode()
    msg = HDR % (tag, tag) + CONTENT[scn]
    if scn == "barelf-split":
        cut = msg.index(b"first line\n") + len(b"first line\n")
        c.send(msg[:cut])
        time.sleep(0.5)  # no read here: the capture shows whether Postfix spoke
        c.send(msg[cut:])
    else:
        c.send(msg)  # one write, no reads in between
    # whatever the server says within 10 s, then 1 s for anything more
    if c.reply(10) is not None:
        c.drain(1)
    if not c.eof:
        c.send(b"QUIT\r\n")
        # barelf-end: no end of data seen, so QUIT is content: no reply expected
        if c.reply(10 if scn != "barelf-end" else 2) is not None:
            c.drain(2)
finally:
    c.close()
