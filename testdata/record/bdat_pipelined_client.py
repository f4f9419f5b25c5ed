#!/usr/bin/env python3
"""Session for bdat-pipelined.pcap: a clean pipelined CHUNKING transaction.

EHLO (Exim offers PIPELINING and CHUNKING), then without waiting for replies:
write 1 "MAIL ...\\r\\nRCPT ...\\r\\nBDAT 120\\r\\n" + 120 bytes, write 2
"BDAT 80\\r\\n" + 80 bytes + "BDAT 0 LAST\\r\\n"; then it reads the five
replies (MAIL, RCPT, 3 x BDAT), and QUIT.
"""

import time

import rawsmtp

MESSAGE = (
    b"From: a@example.org\r\n"
    b"To: b@example.test\r\n"
    b"Subject: pipelined bdat\r\n"
    b"Message-ID: <bdat-pipelined@client.example.org>\r\n"
    b"\r\n"
    b"Hello pipelined BDAT: three chunks, the last one empty.\r\n"
    b"Second line of the body.\r\n"
)
assert len(MESSAGE) == 200, len(MESSAGE)


def main():
    a = rawsmtp.parse_args(__doc__)
    c = rawsmtp.Client(a.server, a.port, a.bind)
    c.expect(220)
    c.send(b"EHLO " + a.helo.encode() + b"\r\n")
    ehlo = c.expect(250)
    if b"PIPELINING" not in ehlo or b"CHUNKING" not in ehlo:
        raise SystemExit("server does not offer PIPELINING and CHUNKING")
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nBDAT 120\r\n" + MESSAGE[:120])
    time.sleep(0.02)
    c.send(b"BDAT 80\r\n" + MESSAGE[120:] + b"BDAT 0 LAST\r\n")
    for code in (250, 250, 250, 250, 250):
        c.expect(code)
    c.send(b"QUIT\r\n")
    c.expect(221)
    c.wait_close()


if __name__ == "__main__":
    main()
