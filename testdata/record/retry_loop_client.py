#!/usr/bin/env python3
"""Sessions for retry-loop.pcap: the same message tried 4 times, each connection lost.

Each attempt: EHLO, MAIL FROM:<a@example.org>, RCPT TO:<b@example.test>,
RCPT TO:<c@example.test>, DATA, then the first ~50 KB of a ~100 KB message
(same headers, same Message-ID each time) in 4096-byte writes; 0.5 s later
the client closes with SO_LINGER 0 (RST), before the end of data and so
before any final reply. 1 s between attempts.
"""

import sys
import time

import rawsmtp

ATTEMPTS = 4
CUT = 50 * 1024


def message():
    head = (
        b"From: a@example.org\r\n"
        b"To: b@example.test, c@example.test\r\n"
        b"Subject: retry loop\r\n"
        b"Message-ID: <retry-loop-1@client.example.org>\r\n"
        b"\r\n"
    )
    lines = b"".join(b"retry loop body line %05d: abcdefghijklmnopqrstuvwxyz0123456789\r\n" % i for i in range(1600))
    return head + lines


def main():
    a = rawsmtp.parse_args(__doc__)
    msg = message()
    assert 90_000 < len(msg) < 110_000, len(msg)
    for n in range(ATTEMPTS):
        if n:
            time.sleep(1.0)
        c = rawsmtp.Client(a.server, a.port, a.bind)
        c.expect(220)
        c.send(b"EHLO " + a.helo.encode() + b"\r\n")
        c.expect(250)
        c.send(b"MAIL FROM:<a@example.org>\r\n")
        c.expect(250)
        c.send(b"RCPT TO:<b@example.test>\r\n")
        c.expect(250)
        c.send(b"RCPT TO:<c@example.test>\r\n")
        c.expect(250)
        c.send(b"DATA\r\n")
        c.expect(354)
        for off in range(0, CUT, 4096):
            c.sock.sendall(msg[off:min(off + 4096, CUT)])
        print(f"attempt {n + 1}: sent {CUT} of {len(msg)} message bytes, RST in 0.5 s", file=sys.stderr)
        time.sleep(0.5)
        c.reset()


if __name__ == "__main__":
    main()
