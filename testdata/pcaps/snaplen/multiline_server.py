#!/usr/bin/env python3
"""multiline_server.py ADDR PORT: a one-connection SMTP server whose EHLO reply has many
lines, written in three pieces with a pause between them (TCP_NODELAY), so that a capture
taken with a small snaplen cuts the reply in three packets, each cut inside a "250-" line.
Everything else is a plain, accepting SMTP server. Exits after QUIT or 60 s."""
import socket, sys, time

addr, port = sys.argv[1], int(sys.argv[2])
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((addr, port))
ls.listen(1)
ls.settimeout(60)
c, _ = ls.accept()
c.settimeout(60)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
f = c.makefile("rb")

def send(b):
    c.sendall(b)

send(b"220 mx.example.test ESMTP multiline test server\r\n")
ext = [b"mx.example.test Hello client.example.org, pleased to meet you",
       b"SIZE 52428800", b"8BITMIME", b"PIPELINING", b"ENHANCEDSTATUSCODES",
       b"DSN", b"SMTPUTF8", b"CHUNKING"]
lines = [b"250-" + e + b"\r\n" for e in ext[:-1]] + [b"250 " + ext[-1] + b"\r\n"]
pieces = [b"".join(lines[0:3]), b"".join(lines[3:6]), b"".join(lines[6:])]
in_data = False
while True:
    line = f.readline()
    if not line:
        break
    if in_data:
        if line == b".\r\n":
            in_data = False
            send(b"250 2.0.0 Ok: queued as 4B1A2\r\n")
        continue
    verb = line[:4].upper()
    if verb == b"EHLO":
        for i, p in enumerate(pieces):
            send(p)
            if i < len(pieces) - 1:
                time.sleep(0.2)
    elif verb == b"MAIL":
        send(b"250 2.1.0 Ok\r\n")
    elif verb == b"RCPT":
        send(b"250 2.1.5 Ok\r\n")
    elif verb == b"DATA":
        send(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        in_data = True
    elif verb == b"QUIT":
        send(b"221 2.0.0 Bye\r\n")
        break
    else:
        send(b"502 5.5.2 Error: command not recognized\r\n")
c.close()
