#!/usr/bin/env python3
"""Session for barelf.pcap: message content ends "%%EOF\\n.\\r\\n" (bare LF before the dot).

EHLO, MAIL, RCPT, DATA, then the whole message in one write ending in
"%%EOF\\n.\\r\\n". It waits up to 3 s for a reply. If one comes (the server took
the bare-LF dot as end of data) it sends QUIT as usual; if none comes it
aborts the connection with RST (SO_LINGER 0 close).
"""

import sys

import rawsmtp

WAIT = 3.0


def main():
    a = rawsmtp.parse_args(__doc__)
    c = rawsmtp.Client(a.server, a.port, a.bind)
    c.expect(220)
    c.send(b"EHLO " + a.helo.encode() + b"\r\n")
    c.expect(250)
    c.send(b"MAIL FROM:<a@example.org>\r\n")
    c.expect(250)
    c.send(b"RCPT TO:<b@example.test>\r\n")
    c.expect(250)
    c.send(b"DATA\r\n")
    c.expect(354)
    c.send(
        b"From: a@example.org\r\n"
        b"To: b@example.test\r\n"
        b"Subject: bare LF\r\n"
        b"\r\n"
        b"A PDF-like body whose last line ends with a bare LF.\r\n"
        b"%%EOF\n.\r\n"
    )
    code, _ = c.reply(WAIT)
    if code is None:
        print("no reply within %.0f s: sending RST" % WAIT, file=sys.stderr)
        c.reset()
        return
    c.send(b"QUIT\r\n")
    c.reply()
    c.wait_close()


if __name__ == "__main__":
    main()
