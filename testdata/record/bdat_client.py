#!/usr/bin/env python3
"""BDAT/CHUNKING session for bdat.pcap (swaks has no BDAT).

EHLO, MAIL, RCPT, then "BDAT 40\\r\\n"+40 bytes, "BDAT 30\\r\\n"+30 bytes and
"BDAT 0 LAST\\r\\n", each BDAT command plus its chunk in one write, waiting for
every reply before the next command (no pipelining), then QUIT.
"""

import rawsmtp

MESSAGE = (
    b"From: a@example.org\r\n"
    b"To: b@example.test\r\n"
    b"Subject: bdat\r\n"
    b"\r\n"
    b"Hello BDAT\r\n"
)
assert len(MESSAGE) == 70, len(MESSAGE)


def main():
    a = rawsmtp.parse_args(__doc__)
    c = rawsmtp.Client(a.server, a.port, a.bind)
    c.expect(220)
    c.send(b"EHLO " + a.helo.encode() + b"\r\n")
    ehlo = c.expect(250)
    if b"CHUNKING" not in ehlo:
        raise SystemExit("server does not offer CHUNKING")
    c.send(b"MAIL FROM:<a@example.org>\r\n")
    c.expect(250)
    c.send(b"RCPT TO:<b@example.test>\r\n")
    c.expect(250)
    c.send(b"BDAT 40\r\n" + MESSAGE[:40])
    c.expect(250)
    c.send(b"BDAT 30\r\n" + MESSAGE[40:])
    c.expect(250)
    c.send(b"BDAT 0 LAST\r\n")
    c.expect(250)
    c.send(b"QUIT\r\n")
    c.expect(221)
    c.wait_close()


if __name__ == "__main__":
    main()
