#!/usr/bin/env python3
"""sweep13 middlebox proxy. modes: pix, bdatdrop, hold513, rstdata.
usage: proxy.py MODE LISTEN_IP BIND_IP SERVER_IP"""
import socket, sys, threading, time, struct
MODE, LIP, BIP, SIP = sys.argv[1:5]
T0 = time.time()
def log(*a): print("%7.3f" % (time.time()-T0), *a, file=sys.stderr, flush=True)
OK = {b"HELO", b"EHLO", b"MAIL", b"RCPT", b"DATA", b"RSET", b"NOOP", b"QUIT"}
KEEP = {b"SIZE", b"8BITMIME", b"PIPELINING", b"ENHANCEDSTATUSCODES", b"DSN", b"HELP"}

def lines(b):
    out, i = [], 0
    while i < len(b):
        j = b.find(b"\n", i)
        if j < 0: out.append(b[i:]); break
        out.append(b[i:j+1]); i = j+1
    return out

def rst(s):
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); s.close()
    except OSError: pass

class P:
    def __init__(self, c):
        self.c = c; self.s = socket.socket(); self.s.bind((BIP, 0))
        for x in (c, self.s): x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.connect((SIP, 25)); self.indata = False; self.ehlo = False; self.ehlo_first = True
        self.bdat_left = 0; self.data_bytes = 0; self.dead = False
    def c2s(self):
        try:
            while True:
                d = self.c.recv(65536)
                if not d: break
                log("C recv %d %r" % (len(d), d[:80]))
                if MODE == "hold513":
                    if len(d) == 513: log("C DROPPED 513-byte write"); continue
                    for i in range(0, len(d), 300): self.s.sendall(d[i:i+300]); time.sleep(0.01)
                    continue
                if MODE == "rstdata" and self.indata:
                    self.data_bytes += len(d)
                    if self.data_bytes > 1500:
                        log("RST both mid-DATA after %d bytes" % self.data_bytes)
                        self.s.sendall(d[:700]); time.sleep(0.2); self.dead = True; rst(self.s); rst(self.c); return
                    self.s.sendall(d); continue
                if MODE == "bdatdrop":
                    out = b""
                    while d:
                        if self.bdat_left:
                            n = min(self.bdat_left, len(d)); self.bdat_left -= n; log("C DROPPED %d chunk bytes" % n); d = d[n:]; continue
                        j = d.find(b"\n")
                        ln = d if j < 0 else d[:j+1]; d = b"" if j < 0 else d[j+1:]
                        if ln.upper().startswith(b"BDAT "): self.bdat_left = int(ln.split()[1])
                        out += ln
                    if out: self.s.sendall(out)
                    continue
                if MODE == "pix":
                    if self.indata:
                        if d.endswith(b"\r\n.\r\n") or d == b".\r\n": self.indata = False
                        self.s.sendall(d); continue
                    out = b""
                    for ln in lines(d):
                        body = ln.rstrip(b"\r\n"); verb = body.split(b" ")[0]
                        if verb and verb.upper() not in OK:
                            ln = b"X"*len(verb) + ln[len(verb):]; log("C MASKED ->", ln)
                        if verb.upper() == b"EHLO": self.ehlo = True; self.ehlo_first = True
                        out += ln
                    self.s.sendall(out); continue
                self.s.sendall(d)
        except OSError as e: log("c2s", e)
        try: self.s.shutdown(socket.SHUT_WR)
        except OSError: pass
    def s2c(self):
        try:
            while True:
                d = self.s.recv(65536)
                if not d: break
                if MODE == "pix" or MODE == "rstdata":
                    out = b""
                    for ln in lines(d):
                        if MODE == "pix" and self.ehlo and ln[:3] == b"250":
                            if self.ehlo_first: self.ehlo_first = False
                            else:
                                body = ln.rstrip(b"\r\n"); kw = body[4:].split(b" ")[0].upper()
                                if kw not in KEEP: ln = body[:4] + b"X"*(len(body)-5) + b"A" + ln[len(body):]; log("S MASKED ->", ln)
                            if ln[3:4] == b" ": self.ehlo = False
                        if ln.startswith(b"354"): self.indata = True
                        out += ln
                    d = out
                self.c.sendall(d)
        except OSError as e: log("s2c", e)
        try: self.c.shutdown(socket.SHUT_WR)
        except OSError: pass

ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); ls.bind((LIP, 25)); ls.listen(8)
log("listening", MODE, LIP)
ls.settimeout(300)
while True:
    try: c, a = ls.accept()
    except socket.timeout: break
    try: p = P(c)
    except OSError as e: log("connect", e); c.close(); continue
    log("conn", a)
    threading.Thread(target=p.c2s, daemon=True).start(); threading.Thread(target=p.s2c, daemon=True).start()
