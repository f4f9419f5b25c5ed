#!/usr/bin/env python3
"""Hand-made SMTP sessions against a real Postfix, for record-postfix.sh.

Usage: postfix_clients.py SCENARIO --server ADDR --bind ADDR [--wait S]

Scenarios (each talks to the Postfix smtpd listening on --server:25):

  bdat       two transactions with CHUNKING: "BDAT 50"+50 bytes then
             "BDAT 0 LAST"; then one "BDAT 65 LAST"+65 bytes; QUIT.
  barelf     DATA whose content ends "%%EOF\\n.\\r\\n" (bare LF before the
             dot), in one write. Waits up to --wait s (default 5) for a reply:
             if one comes, QUIT. If none comes: with --after-silence rst
             (default) an abortive close (RST); with --after-silence dot one
             more ".\\r\\n" (now a standard CRLF.CRLF end of data), its
             reply, then QUIT.
  unauthpipe two sessions without PIPELINING offered: (1) EHLO, then
             MAIL+RCPT+DATA in one write, message, QUIT; (2) HELO, then
             MAIL+RCPT+DATA in one write, QUIT. Every reply is read (bounded).
  syncerror  two sessions that Postfix drops: (1) HELO, then MAIL+RCPT+DATA in
             one write; (2) EHLO+MAIL in one write right after the banner.
             Replies are read until the server closes (bounded).
  rejects    unknown user, relay denied, null sender, "MAIL FROM: SIZE=100",
             "MAIL FROM:" without address, SIZE over the limit, an unknown
             command "XXXX TO:<...>", NOOP, RSET, QUIT; each command waits
             for its reply.
  timeout    EHLO, MAIL, then silence: waits (bounded by --wait, default
             30 s) for Postfix's timeout reply and its close.

Each write is one send() on a TCP_NODELAY socket (rawsmtp.Client), so on the
namespace's loopback each write is one TCP segment. Every wait is bounded.
"""

import argparse
import sys

import rawsmtp


def ehlo(c, helo):
    c.expect(220)
    c.send(b"EHLO " + helo + b"\r\n")
    return c.expect(250)


def drain(c, n, timeout=5.0):
    """Read up to n replies (bounded); return their codes."""
    codes = []
    for _ in range(n):
        code, _ = c.reply(timeout)
        if code is None:
            break
        codes.append(code)
    return codes


def scn_bdat(c, a):
    msg1 = (
        b"From: a@example.org\r\n"
        b"Subject: b1\r\n"
        b"\r\n"
        b"Hi BDAT\r\n"
    )
    msg1 += b"x" * (50 - len(msg1) - 2) + b"\r\n"
    assert len(msg1) == 50, len(msg1)
    msg2 = (
        b"From: a@example.org\r\n"
        b"Subject: bdat 2\r\n"
        b"\r\n"
        b"One chunk, BDAT n LAST.\r\n"
    )
    if b"CHUNKING" not in ehlo(c, a.helo):
        raise SystemExit("server does not offer CHUNKING")
    c.send(b"MAIL FROM:<a@example.org>\r\n")
    c.expect(250)
    c.send(b"RCPT TO:<user@example.test>\r\n")
    c.expect(250)
    c.send(b"BDAT 50\r\n" + msg1)
    c.expect(250)
    c.send(b"BDAT 0 LAST\r\n")
    c.expect(250)
    c.send(b"MAIL FROM:<a@example.org>\r\n")
    c.expect(250)
    c.send(b"RCPT TO:<user@example.test>\r\n")
    c.expect(250)
    c.send(b"BDAT %d LAST\r\n" % len(msg2) + msg2)
    c.expect(250)
    c.send(b"QUIT\r\n")
    c.expect(221)
    c.wait_close()


def scn_barelf(c, a):
    ehlo(c, a.helo)
    c.send(b"MAIL FROM:<a@example.org>\r\n")
    c.expect(250)
    c.send(b"RCPT TO:<user@example.test>\r\n")
    c.expect(250)
    c.send(b"DATA\r\n")
    c.expect(354)
    c.send(
        b"From: a@example.org\r\n"
        b"To: user@example.test\r\n"
        b"Subject: bare LF\r\n"
        b"\r\n"
        b"A PDF-like body whose last line ends with a bare LF.\r\n"
        b"%%EOF\n.\r\n"
    )
    wait = a.wait or 5.0
    code, _ = c.reply(wait)
    if code is None and a.after_silence == "rst":
        print("no reply within %.0f s: sending RST" % wait, file=sys.stderr)
        c.reset()
        return
    if code is None:
        print("no reply within %.0f s: sending .\\r\\n" % wait, file=sys.stderr)
        c.send(b".\r\n")
        code, _ = c.reply()
        if code is None:
            raise SystemExit("no reply to the standard end of data")
    c.send(b"QUIT\r\n")
    c.expect(221)
    c.wait_close()


def scn_unauthpipe(c, a):
    # session 1: EHLO (no PIPELINING offered), MAIL+RCPT+DATA in one write
    if b"PIPELINING" in ehlo(c, a.helo):
        raise SystemExit("server offers PIPELINING")
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n")
    codes = drain(c, 3)
    print(f"session 1: {codes}", file=sys.stderr)
    if codes[-1:] == [354]:
        c.send(b"From: a@example.org\r\nSubject: unauth pipelining 1\r\n\r\nPipelined, though not offered.\r\n.\r\n")
        c.expect(250)
    c.send(b"QUIT\r\n")
    c.expect(221)
    c.wait_close()

    # session 2: HELO, MAIL+RCPT+DATA in one write
    c = rawsmtp.Client(a.server, a.port, a.bind)
    c.expect(220)
    c.send(b"HELO " + a.helo + b"\r\n")
    c.expect(250)
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n")
    codes = drain(c, 3)
    print(f"session 2: {codes}", file=sys.stderr)
    if codes[-1:] != [503]:
        raise SystemExit(f"session 2: no 503 to DATA, got {codes}")
    c.send(b"QUIT\r\n")
    c.expect(221)
    c.wait_close()


def scn_syncerror(c, a):
    # session 1: HELO, MAIL+RCPT+DATA in one write
    c.expect(220)
    c.send(b"HELO " + a.helo + b"\r\n")
    c.expect(250)
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n")
    codes = drain(c, 4)
    if 554 not in codes:
        raise SystemExit(f"session 1: no 554, got {codes}")
    c.wait_close()

    # session 2: EHLO+MAIL in one write, before the EHLO reply
    c = rawsmtp.Client(a.server, a.port, a.bind)
    c.expect(220)
    c.send(b"EHLO " + a.helo + b"\r\nMAIL FROM:<a@example.org>\r\n")
    codes = drain(c, 4)
    if 554 not in codes:
        raise SystemExit(f"session 2: no 554, got {codes}")
    c.wait_close()


def scn_rejects(c, a):
    ehlo(c, a.helo)
    steps = [
        (b"MAIL FROM:<a@example.org>", 250),
        (b"RCPT TO:<nobody@example.test>", 550),
        (b"RCPT TO:<b@example.org>", 454),
        (b"RCPT TO:<user@example.test>", 250),
        (b"RSET", 250),
        (b"MAIL FROM:<>", 250),
        (b"RSET", 250),
        (b"MAIL FROM: SIZE=100", None),
        (b"RSET", 250),
        (b"MAIL FROM:", 501),
        (b"MAIL FROM:<a@example.org> SIZE=20000000", 552),
        (b"XXXX TO:<b@example.test>", 500),
        (b"NOOP", 250),
        (b"RSET", 250),
        (b"QUIT", 221),
    ]
    for cmd, want in steps:
        c.send(cmd + b"\r\n")
        code, text = c.reply()
        if code is None or (want is not None and code != want):
            raise SystemExit(f"{cmd!r}: expected {want}, got {code}: {text!r}")
    c.wait_close()


def scn_timeout(c, a):
    ehlo(c, a.helo)
    c.send(b"MAIL FROM:<a@example.org>\r\n")
    c.expect(250)
    # silence: the next thing is Postfix's timeout reply, then its FIN
    c.expect(421, timeout=a.wait or 30.0)
    c.wait_close(timeout=5.0)


SCENARIOS = {
    "bdat": scn_bdat,
    "barelf": scn_barelf,
    "unauthpipe": scn_unauthpipe,
    "syncerror": scn_syncerror,
    "rejects": scn_rejects,
    "timeout": scn_timeout,
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--server", required=True)
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--bind", default=None)
    p.add_argument("--helo", default="client.example.org")
    p.add_argument("--wait", type=float, default=None, help="bounded wait for the scenario's key reply")
    p.add_argument("--after-silence", choices=["rst", "dot"], default="rst", help="barelf: what to do when no reply comes")
    a = p.parse_args()
    a.helo = a.helo.encode()
    c = rawsmtp.Client(a.server, a.port, a.bind)
    SCENARIOS[a.scenario](c, a)


if __name__ == "__main__":
    main()
