#!/usr/bin/env python3
"""A server that answers like an MTA up to 354, reads about 200 bytes of the message, then closes
(FIN). Serves N connections (argv[3], default 1) then exits. argv: ADDR PORT [N]."""
import socket, sys
addr, port = sys.argv[1], int(sys.argv[2]); n = int(sys.argv[3]) if len(sys.argv) > 3 else 1
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((addr, port)); s.listen(5)
s.settimeout(60)
for _ in range(n):
    c, peer = s.accept(); c.settimeout(20); f = c.makefile("rb")
    def say(x):
        print("<-", x, file=sys.stderr, flush=True); c.sendall(x.encode() + b"\r\n")
    say("220 mx.example.test ESMTP closer")
    try:
        while True:
            l = f.readline()
            if not l: break
            print("->", l, file=sys.stderr, flush=True)
            cmd = l[:4].upper()
            if cmd in (b"EHLO",):
                say("250-mx.example.test"); say("250 8BITMIME")
            elif cmd == b"HELO": say("250 mx.example.test")
            elif cmd == b"DATA":
                say("354 go ahead")
                got = f.read1(200)
                print("-> (data)", got[:80], file=sys.stderr, flush=True)
                print("closing mid-DATA", file=sys.stderr, flush=True)
                break
            elif cmd == b"QUIT": say("221 bye"); break
            else: say("250 ok")
    except Exception as e:
        print("error", e, file=sys.stderr)
    c.close()
s.close()
