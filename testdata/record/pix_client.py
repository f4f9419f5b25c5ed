#!/usr/bin/env python3
"""Sessions for pix-client-side.pcap / pix-server-side.pcap, through mboxproxy.py --mode pix.

Session 1 (pipelined, split command): EHLO (the proxy masks the reply's
PIPELINING, CHUNKING, STARTTLS, SMTPUTF8 keywords), then writes
"MAIL FROM:<a@example.org>\\r\\nRC", sleeps 50 ms, writes
"PT TO:<b@example.test>\\r\\nDATA\\r\\n" and reads three replies. The proxy
masks "PT" in the second segment, so Exim gets "RCXX TO:<b@example.test>". If
DATA got 354 it sends a short message and QUIT; otherwise RSET and QUIT.

Session 2 (no pipelining except BDAT's chunk): EHLO, STARTTLS (masked to
XXXXXXXX by the proxy), MAIL, RCPT, then "BDAT 10 LAST\\r\\n" and its
10-byte chunk "Hi there\\r\\n" in one write (masked to "XXXX 10 LAST" and
"XX there"), RSET, QUIT. Every reply is awaited and logged.
"""

import time

import rawsmtp


def main():
    a = rawsmtp.parse_args(__doc__)

    c = rawsmtp.Client(a.server, a.port, a.bind)
    c.expect(220)
    c.send(b"EHLO " + a.helo.encode() + b"\r\n")
    c.expect(250)
    c.send(b"MAIL FROM:<a@example.org>\r\nRC")
    time.sleep(0.05)
    c.send(b"PT TO:<b@example.test>\r\nDATA\r\n")
    codes = [c.reply()[0] for _ in range(3)]
    if codes[2] == 354:
        c.send(b"From: a@example.org\r\nTo: b@example.test\r\nSubject: pix\r\n\r\nThrough the fixup.\r\n.\r\n")
        c.reply()
    else:
        c.send(b"RSET\r\n")
        c.expect(250)
    c.send(b"QUIT\r\n")
    c.expect(221)
    c.wait_close()

    time.sleep(0.3)
    c = rawsmtp.Client(a.server, a.port, a.bind)
    c.expect(220)
    c.send(b"EHLO " + a.helo.encode() + b"\r\n")
    c.expect(250)
    c.send(b"STARTTLS\r\n")
    c.reply()
    c.send(b"MAIL FROM:<a@example.org>\r\n")
    c.expect(250)
    c.send(b"RCPT TO:<b@example.test>\r\n")
    c.expect(250)
    chunk = b"Hi there\r\n"
    assert len(chunk) == 10
    c.send(b"BDAT 10 LAST\r\n" + chunk)
    c.reply()
    c.reply()
    c.send(b"RSET\r\n")
    c.expect(250)
    c.send(b"QUIT\r\n")
    c.expect(221)
    c.wait_close()


if __name__ == "__main__":
    main()
