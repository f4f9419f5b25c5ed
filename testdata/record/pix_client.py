#!/usr/bin/env python3
"""Sessions for pix-client-side.pcap / pix-server-side.pcap, through mboxproxy.py --mode pix.

In every session the proxy masks the EHLO reply's PIPELINING, CHUNKING,
STARTTLS and SMTPUTF8 keywords; the client ignores that and goes on.

Session 1 (pipelined, split command): EHLO, then writes
"MAIL FROM:<a@example.org>\\r\\nRC", sleeps 50 ms, writes
"PT TO:<b@example.test>\\r\\nDATA\\r\\n" and reads up to three replies. The
proxy masks "PT" in the second segment, so Exim gets "RCXX TO:<b@example.test>"
followed by "DATA" in the same segment: an unknown command with more input
pending, which Exim (smtp_enforce_sync) answers with 554 and drops. If the
connection is still up the client sends RSET and QUIT.

Session 2 (split command, not pipelined): EHLO, MAIL (reply awaited), then
"RC", 50 ms, "PT TO:<b@example.test>\\r\\n": Exim gets "RCXX TO:..." and
answers 500; RSET, QUIT.

Session 3: EHLO, STARTTLS (masked to XXXXXXXX: 500), MAIL, RCPT, then
"BDAT 10 LAST\\r\\n" and its 10-byte chunk "Hi there\\r\\n" in one write
(masked to "XXXX 10 LAST" and "XX there"); the client reads replies until
the server closes or 5 s pass, then RSET/QUIT if still connected.
"""

import sys
import time

import rawsmtp


def replies(c, n, timeout=5.0):
    codes = []
    for _ in range(n):
        code, _ = c.reply(timeout)
        if code is None:
            break
        codes.append(code)
        if code in (421, 554):
            break
    return codes


def finish(c, codes):
    if codes and codes[-1] in (421, 554):
        print("server dropped the session", file=sys.stderr)
        c.wait_close()
        return
    c.send(b"RSET\r\n")
    c.expect(250)
    c.send(b"QUIT\r\n")
    c.expect(221)
    c.wait_close()


def start(a):
    c = rawsmtp.Client(a.server, a.port, a.bind)
    c.expect(220)
    c.send(b"EHLO " + a.helo.encode() + b"\r\n")
    c.expect(250)
    return c


def main():
    a = rawsmtp.parse_args(__doc__)

    c = start(a)
    c.send(b"MAIL FROM:<a@example.org>\r\nRC")
    time.sleep(0.05)
    c.send(b"PT TO:<b@example.test>\r\nDATA\r\n")
    finish(c, replies(c, 3))

    time.sleep(0.3)
    c = start(a)
    c.send(b"MAIL FROM:<a@example.org>\r\n")
    c.expect(250)
    c.send(b"RC")
    time.sleep(0.05)
    c.send(b"PT TO:<b@example.test>\r\n")
    c.expect(500)
    finish(c, [500])

    time.sleep(0.3)
    c = start(a)
    c.send(b"STARTTLS\r\n")
    c.expect(500)
    c.send(b"MAIL FROM:<a@example.org>\r\n")
    c.expect(250)
    c.send(b"RCPT TO:<b@example.test>\r\n")
    c.expect(250)
    chunk = b"Hi there\r\n"
    assert len(chunk) == 10
    c.send(b"BDAT 10 LAST\r\n" + chunk)
    finish(c, replies(c, 2))


if __name__ == "__main__":
    main()
