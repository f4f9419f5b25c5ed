#!/usr/bin/env python3
"""Sessions for rset-size.pcap: SIZE= declarations.

Session 1: EHLO, "MAIL FROM:<a@example.org> SIZE=999999999" (over Exim's
10485760: 552), RSET, QUIT.
Session 2: EHLO, "MAIL FROM:<a@example.org> SIZE=100", RCPT, DATA and a
message of about 5 KB (more than declared), QUIT. Every reply is awaited.
"""

import time

import rawsmtp

MESSAGE = (
    b"From: a@example.org\r\n"
    b"To: b@example.test\r\n"
    b"Subject: declared SIZE=100, about 5 KB sent\r\n"
    b"\r\n"
) + b"".join(b"size line %03d: the declared size was 100 octets, this body is larger.\r\n" % i for i in range(70))


def main():
    a = rawsmtp.parse_args(__doc__)
    assert 4500 < len(MESSAGE) < 5500, len(MESSAGE)

    c = rawsmtp.Client(a.server, a.port, a.bind)
    c.expect(220)
    c.send(b"EHLO " + a.helo.encode() + b"\r\n")
    c.expect(250)
    c.send(b"MAIL FROM:<a@example.org> SIZE=999999999\r\n")
    c.expect(552)
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
    c.send(b"MAIL FROM:<a@example.org> SIZE=100\r\n")
    c.expect(250)
    c.send(b"RCPT TO:<b@example.test>\r\n")
    c.expect(250)
    c.send(b"DATA\r\n")
    c.expect(354)
    c.send(MESSAGE + b".\r\n")
    c.expect(250)
    c.send(b"QUIT\r\n")
    c.expect(221)
    c.wait_close()


if __name__ == "__main__":
    main()
