#!/usr/bin/env python3
"""Session for binarymime-data.pcap: binary content sent with DATA.

EHLO (Exim offers 8BITMIME, CHUNKING, no BINARYMIME), then
"MAIL FROM:<a@example.org> BODY=BINARYMIME": Exim rejects the BODY value.
The client retries MAIL without BODY, RCPT, DATA, and sends anyway a message
with "Content-Transfer-Encoding: binary" whose body has bytes >= 0x80 (no
NUL, no bare CR or LF: CRLF line ends) and lines of 1500 and 2100 octets
(over the 998 limit), then QUIT. Every reply is awaited and logged.
"""

import rawsmtp


def body():
    # Deterministic bytes: a linear congruential generator, mapped to 0x80..0xff
    # and printable ASCII (never '.', CR, LF or NUL).
    x = 12345
    out = []
    for n in (76, 200, 1500, 76, 2100, 40):
        line = bytearray()
        for _ in range(n):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            v = (x >> 16) & 0xFF
            if v < 0x80:
                v = 0x41 + v % 26
            line.append(v)
        out.append(bytes(line) + b"\r\n")
    return b"".join(out)


MESSAGE = (
    b"From: a@example.org\r\n"
    b"To: b@example.test\r\n"
    b"Subject: binary body over DATA\r\n"
    b"Message-ID: <binarymime@client.example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: binary\r\n"
    b"\r\n"
) + body()


def main():
    a = rawsmtp.parse_args(__doc__)
    c = rawsmtp.Client(a.server, a.port, a.bind)
    c.expect(220)
    c.send(b"EHLO " + a.helo.encode() + b"\r\n")
    ehlo = c.expect(250)
    if b"BINARYMIME" in ehlo:
        raise SystemExit("server offers BINARYMIME")
    c.send(b"MAIL FROM:<a@example.org> BODY=BINARYMIME\r\n")
    code, _ = c.reply()
    if code is None or code < 500:
        raise SystemExit(f"expected BODY=BINARYMIME to be rejected, got {code}")
    c.send(b"MAIL FROM:<a@example.org>\r\n")
    c.expect(250)
    c.send(b"RCPT TO:<b@example.test>\r\n")
    c.expect(250)
    c.send(b"DATA\r\n")
    c.expect(354)
    assert b"\r\n." not in MESSAGE and b"\x00" not in MESSAGE
    c.send(MESSAGE + b".\r\n")
    c.reply()
    c.send(b"QUIT\r\n")
    c.expect(221)
    c.wait_close()


if __name__ == "__main__":
    main()
