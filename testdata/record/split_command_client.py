#!/usr/bin/env python3
"""Session for split-command.pcap: the RCPT command split across two segments.

After EHLO (server offers PIPELINING) it writes "MAIL FROM:<a@example.org>\\r\\nRC",
sleeps 50 ms, writes "PT TO:<b@example.test>\\r\\n", then reads the MAIL and RCPT
replies, sends DATA, a small message, QUIT.
"""

import time

import rawsmtp


def main():
    a = rawsmtp.parse_args(__doc__)
    c = rawsmtp.Client(a.server, a.port, a.bind)
    c.expect(220)
    c.send(b"EHLO " + a.helo.encode() + b"\r\n")
    ehlo = c.expect(250)
    if b"PIPELINING" not in ehlo:
        raise SystemExit("server does not offer PIPELINING")
    c.send(b"MAIL FROM:<a@example.org>\r\nRC")
    time.sleep(0.05)
    c.send(b"PT TO:<b@example.test>\r\n")
    c.expect(250)  # MAIL
    c.expect(250)  # RCPT
    c.send(b"DATA\r\n")
    c.expect(354)
    c.send(
        b"From: a@example.org\r\n"
        b"To: b@example.test\r\n"
        b"Subject: split command\r\n"
        b"\r\n"
        b"The RCPT command of this session was split across two segments.\r\n"
        b".\r\n"
    )
    c.expect(250)
    c.send(b"QUIT\r\n")
    c.expect(221)
    c.wait_close()


if __name__ == "__main__":
    main()
