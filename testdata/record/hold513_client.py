#!/usr/bin/env python3
"""Sessions for hold513-client-side.pcap / hold513-server-side.pcap, through mboxproxy.py --mode hold513.

Both sessions: EHLO (Exim offers PIPELINING), then the whole envelope --
MAIL FROM with a long (VERP-style) address, 14 RCPT TO, DATA -- in ONE write of
exactly 513 bytes. The proxy ACKs it but never forwards it.
Session 1: the client waits 4 s for a reply, gets none, gives up with QUIT
and reads Exim's 221 (Exim never saw the envelope).
Session 2: the client waits (up to 20 s) and Exim, whose smtp_receive_timeout
is 6 s in this scenario, times out: 421, close.
"""

import sys
import time

import rawsmtp


def envelope():
    rcpts = b"".join(b"RCPT TO:<user%02d@example.test>\r\n" % i for i in range(1, 15))
    fixed = len(b"MAIL FROM:<list-bounces+@lists.example.org>\r\n") + len(rcpts) + len(b"DATA\r\n")
    pad = 513 - fixed
    tag = (b"user01=example.test-" + b"0123456789" * 10)[:pad]
    env = b"MAIL FROM:<list-bounces+" + tag + b"@lists.example.org>\r\n" + rcpts + b"DATA\r\n"
    assert len(env) == 513, len(env)
    local = env.split(b"<", 1)[1].split(b"@", 1)[0]
    assert len(local) <= 64, len(local)
    return env


def session(a, wait):
    c = rawsmtp.Client(a.server, a.port, a.bind)
    c.expect(220)
    c.send(b"EHLO " + a.helo.encode() + b"\r\n")
    ehlo = c.expect(250)
    if b"PIPELINING" not in ehlo:
        raise SystemExit("server does not offer PIPELINING")
    c.send(envelope())
    code, text = c.reply(wait)
    return c, code


def main():
    a = rawsmtp.parse_args(__doc__)
    c, code = session(a, 4.0)
    if code is not None:
        raise SystemExit(f"session 1: unexpected reply {code}")
    print("session 1: no reply within 4 s: QUIT", file=sys.stderr)
    c.send(b"QUIT\r\n")
    c.expect(221)
    c.wait_close()

    time.sleep(0.3)
    c, code = session(a, 20.0)
    if code != 421:
        raise SystemExit(f"session 2: expected the server's 421 timeout, got {code}")
    c.wait_close()


if __name__ == "__main__":
    main()
