#!/usr/bin/env python3
"""Session for stall.pcap: the client stalls 12 s between MAIL's reply and RCPT.

EHLO, MAIL, (250), 12 s pause, RCPT, DATA, small message, QUIT. Exim's
smtp_receive_timeout is 30 s in this scenario, so the session completes.
"""

import time

import rawsmtp


def main():
    a = rawsmtp.parse_args(__doc__)
    c = rawsmtp.Client(a.server, a.port, a.bind)
    c.expect(220)
    c.send(b"EHLO " + a.helo.encode() + b"\r\n")
    c.expect(250)
    c.send(b"MAIL FROM:<a@example.org>\r\n")
    c.expect(250)
    time.sleep(12.0)
    c.send(b"RCPT TO:<b@example.test>\r\n")
    c.expect(250)
    c.send(b"DATA\r\n")
    c.expect(354)
    c.send(b"From: a@example.org\r\nTo: b@example.test\r\nSubject: stall\r\n\r\nThe client paused 12 s before RCPT.\r\n.\r\n")
    c.expect(250)
    c.send(b"QUIT\r\n")
    c.expect(221)
    c.wait_close()


if __name__ == "__main__":
    main()
