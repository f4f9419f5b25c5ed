#!/usr/bin/env python3
"""tiny scripted SMTP client: raw.py HOST PORT SCRIPTFILE
script lines:  S <text>   send text (python escapes, e.g. \r\n)
               R          read one full reply (multi-line), print it
               W <secs>   sleep
               T <secs>   set socket timeout for reads
               C          close
               H          half-read: read whatever arrives within timeout
               B <n>      n filler body bytes;  L <n>  one n-byte line, no line end;  X  close with RST
The scripted client of s01_osd_stall.sh, s02_osd_server.sh and s04_aiosmtpd.sh (runs on the host).
"""
import socket, sys, time, codecs
host, port, script = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=30)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
buf = b""
def readreply():
    global buf
    while True:
        while b"\n" not in buf:
            d = s.recv(65536)
            if not d:
                print("<< EOF"); return False
            buf += d
        line, buf = buf.split(b"\n", 1)
        print("<<", line.decode("latin1").rstrip())
        if len(line) < 4 or line[3:4] != b"-":
            return True
for raw in open(script, encoding="utf-8"):
    raw = raw.rstrip("\n")
    if not raw or raw.startswith("#"): continue
    op, _, arg = raw.partition(" ")
    try:
        if op == "S":
            data = codecs.decode(arg.encode("latin1"), "unicode_escape").encode("latin1")
            s.sendall(data); print(">>", repr(data)[:200])
        elif op == "B":   # send N filler bytes of body lines
            n = int(arg); line = b"x" * 70 + b"\r\n"; out = (line * (n // len(line) + 1))[:n]
            s.sendall(out); print(">> %d body bytes" % n)
        elif op == "L":   # one long line of N 'z' bytes, no line ending
            s.sendall(b"z" * int(arg)); print(">> %d-byte line fragment" % int(arg))
        elif op == "R":
            if not readreply(): break
        elif op == "W": time.sleep(float(arg))
        elif op == "T": s.settimeout(float(arg))
        elif op == "C": break
        elif op == "X":   # abortive close: RST
            import struct
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); break
    except (socket.timeout, ConnectionError, OSError) as e:
        print("!!", type(e).__name__, e); break
s.close()
print("closed")
