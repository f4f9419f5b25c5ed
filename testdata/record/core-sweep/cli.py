#!/usr/bin/env python3
"""sweep13 client: cli.py SCENARIO SERVER_IP"""
import socket, sys, time
SC, SRV = sys.argv[1], sys.argv[2]
s = socket.socket(); s.bind(("127.0.1.13", 0)); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.settimeout(15); s.connect((SRV, 25))
def rd(t=15):
    s.settimeout(t); buf = b""
    try:
        while True:
            d = s.recv(4096)
            if not d: print("EOF", file=sys.stderr); break
            buf += d
            ls = buf.split(b"\r\n")
            if len(ls) > 1 and len(ls[-2]) >= 4 and ls[-2][3:4] == b" ": break
    except socket.timeout: print("TIMEOUT", file=sys.stderr)
    except OSError as e: print("ERR", e, file=sys.stderr)
    print("S:", buf, file=sys.stderr); return buf
def w(b, pause=0.2):
    print("C:", b, file=sys.stderr); s.sendall(b); time.sleep(pause)
rd()
if SC == "pixsplit":
    w(b"EHLO py.example.org\r\n"); rd()
    w(b"STARTTLS\r\n"); rd()
    w(b"MAIL FROM:<alice@example.org>\r\nRC", 0.3); w(b"PT TO:<user@example.test>\r\n"); rd(); rd(3)
    w(b"QUIT\r\n"); rd(3)
elif SC == "pixsync":
    w(b"EHLO py.example.org\r\nMA", 0.3); w(b"IL FROM:<alice@example.org>\r\n"); rd(); rd(5)
    w(b"RCPT TO:<user@example.test>\r\n"); rd(3); w(b"QUIT\r\n"); rd(3)
elif SC == "bdat":
    w(b"EHLO py.example.org\r\n"); rd()
    w(b"MAIL FROM:<alice@example.org>\r\n"); rd(); w(b"RCPT TO:<bdat2@example.test>\r\n"); rd()
    msg = b"Subject: bdat py\r\nMessage-ID: <bdatpy13@example.org>\r\n\r\n" + b"chunk body line\r\n"*8
    w(b"BDAT %d LAST\r\n" % len(msg) + msg); rd(12); w(b"QUIT\r\n"); rd(3)
elif SC == "barelf":
    w(b"EHLO py.example.org\r\n"); rd()
    w(b"MAIL FROM:<alice@example.org>\r\n"); rd(); w(b"RCPT TO:<user@example.test>\r\n"); rd(); w(b"DATA\r\n"); rd()
    w(b"From: alice@example.org\r\nSubject: pdf\r\nMessage-ID: <barelf-13@example.org>\r\n\r\n%PDF-1.4\r\nstuff\r\n%%EOF\n.\r\n"); rd(20)
    w(b"QUIT\r\n"); rd(3)
elif SC.startswith("env"):
    n = int(SC[3:])
    w(b"EHLO py.example.org\r\n"); rd()
    env = b"MAIL FROM:<alice@example.org>\r\n"; i = 0
    while n - len(env) > 80:
        env += b"RCPT TO:<user+%03d-aaaaaaaaaaaaaaaaaaaa@example.test>\r\n" % i; i += 1
    pad = n - len(env) - len(b"RCPT TO:<@example.test>\r\n")
    env += b"RCPT TO:<" + b"y"*pad + b"@example.test>\r\n"
    assert len(env) == n, len(env)
    # local part may be > 64 chars; use several recipients instead if too long
    w(env); rd(8)
    w(b"DATA\r\n"); rd(); w(b"Subject: env %d\r\n\r\nhi\r\n.\r\n" % n); rd(); w(b"QUIT\r\n"); rd(3)
elif SC in ("killdata", "rstdata"):
    w(b"EHLO py.example.org\r\n"); rd()
    w(b"MAIL FROM:<alice@example.org>\r\n"); rd(); w(b"RCPT TO:<user@example.test>\r\n"); rd(); w(b"DATA\r\n"); rd()
    w(b"From: alice@example.org\r\nSubject: big\r\nMessage-ID: <%s-13@example.org>\r\n\r\n" % SC.encode() + b"line of body text\r\n"*200, 1)
    if SC == "rstdata":
        import struct; s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); s.close(); sys.exit(0)
    print("sleeping, kill me", file=sys.stderr, flush=True); time.sleep(60)
