#!/usr/bin/env python3
"""Sessions for sync-error.pcap: pipelining to an Exim that does not offer PIPELINING.

Session 1: EHLO, (250 without PIPELINING), then "MAIL ...\\r\\nRCPT ...\\r\\nDATA\\r\\n"
in one write. Session 2: right after the banner, "EHLO ...\\r\\nMAIL ...\\r\\n" in one
write, before the EHLO reply. Exim enforces synchronization (smtp_enforce_sync):
it answers "554 SMTP synchronization error" and drops the connection. The
client reads every reply until the server closes (bounded), then closes.
"""

import time

import rawsmtp


def drain(c, n=4):
    codes = []
    for _ in range(n):
        code, _ = c.reply(5.0)
        if code is None:
            break
        codes.append(code)
    return codes


def main():
    a = rawsmtp.parse_args(__doc__)

    c = rawsmtp.Client(a.server, a.port, a.bind)
    c.expect(220)
    c.send(b"EHLO " + a.helo.encode() + b"\r\n")
    ehlo = c.expect(250)
    if b"PIPELINING" in ehlo:
        raise SystemExit("server offers PIPELINING")
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
    codes = drain(c)
    if 554 not in codes:
        raise SystemExit(f"session 1: no 554, got {codes}")
    c.wait_close()

    time.sleep(0.3)
    c = rawsmtp.Client(a.server, a.port, a.bind)
    c.expect(220)
    c.send(b"EHLO " + a.helo.encode() + b"\r\nMAIL FROM:<a@example.org>\r\n")
    codes = drain(c)
    if 554 not in codes:
        raise SystemExit(f"session 2: no 554, got {codes}")
    c.wait_close()


if __name__ == "__main__":
    main()
