#!/usr/bin/env python3
"""PIX/ASA-like SMTP fixup written from the public description: inspects each client segment on its own
(no reassembly), masks verbs outside the allowed set with X's (an incomplete trailing line counts as a line),
masks EHLO reply keywords outside a small allowed set (XXXXXXXA style), masks the banner with asterisks.
Usage: pixproxy.py LISTEN_IP LISTEN_PORT SRC_IP SERVER_IP SERVER_PORT [--no-ehlo-mask] [--no-banner-mask]"""
import socket, sys, threading, time
ALLOWED = {b"HELO", b"EHLO", b"MAIL", b"RCPT", b"DATA", b"RSET", b"NOOP", b"QUIT", b"VRFY"}
EHLO_KEEP = {b"SIZE", b"8BITMIME", b"PIPELINING", b"ENHANCEDSTATUSCODES", b"DSN", b"VRFY", b"ETRN", b"HELP"}
T0 = time.time()
def log(*a): print("%8.3f" % (time.time() - T0), *a, flush=True)

def split_lines(b):
    out, i = [], 0
    while i < len(b):
        j = b.find(b"\n", i)
        if j < 0: out.append(b[i:]); break
        out.append(b[i:j + 1]); i = j + 1
    return out

def mask_cmd_line(line):
    body = line.rstrip(b"\r\n"); end = line[len(body):]
    k = 0
    while k < len(body) and body[k:k+1] not in (b" ", b"\t"): k += 1
    verb = body[:k]
    if verb.upper() in ALLOWED or not verb: return line, False
    return b"X" * len(verb) + body[k:] + end, True

class Conn:
    def __init__(self, c, addr, args):
        self.c, self.addr, self.args = c, addr, args
        self.in_data = False; self.data_sent = False; self.ehlo_pending = False; self.first_reply = True
        self.s = socket.socket(); self.s.bind((args["src"], 0))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.settimeout(10); self.s.connect((args["srv"], args["port"])); self.s.settimeout(None)
        log("conn", addr, "->", self.s.getsockname(), "->", (args["srv"], args["port"]))

    def c2s(self):
        try:
            while True:
                d = self.c.recv(65536)
                if not d: break
                if self.in_data:
                    out = d
                    if d.endswith(b"\r\n.\r\n") or d == b".\r\n": self.in_data = False; log("C data end seen")
                    log("C segment (data) %d bytes passed" % len(d))
                else:
                    parts = []
                    for ln in split_lines(d):
                        m, changed = mask_cmd_line(ln)
                        if changed: log("C MASKED %r -> %r" % (ln, m))
                        v = ln[:4].upper()
                        if v == b"EHLO": self.ehlo_pending = True
                        if v == b"DATA" and ln.rstrip(b"\r\n").upper() == b"DATA": self.data_sent = True
                        parts.append(m)
                    out = b"".join(parts)
                    log("C segment %d bytes: %r" % (len(d), d[:120]))
                self.s.sendall(out)
        except OSError as e: log("c2s err", e)
        log("client closed"); 
        try: self.s.shutdown(socket.SHUT_WR)
        except OSError: pass

    def s2c(self):
        try:
            while True:
                d = self.s.recv(65536)
                if not d: break
                parts = []
                for ln in split_lines(d):
                    orig = ln
                    if self.first_reply and ln[:3] == b"220" and not self.args["nobanner"]:
                        body = ln.rstrip(b"\r\n"); end = ln[len(body):]
                        ln = body[:4] + bytes(b if b == 32 else 42 for b in body[4:]) + end
                    elif self.ehlo_pending and ln[:3] == b"250" and not self.args["noehlo"]:
                        body = ln.rstrip(b"\r\n"); end = ln[len(body):]
                        kw = body[4:].split(b" ")[0].upper()
                        if not getattr(self, "ehlo_first_done", False):
                            self.ehlo_first_done = True  # hostname line
                        elif kw not in EHLO_KEEP:
                            txt = body[4:]
                            ln = body[:4] + b"X" * (len(txt) - 1) + b"A" + end
                    if ln != orig: log("S MASKED %r -> %r" % (orig, ln))
                    if ln[:3] == b"354" and self.data_sent: self.in_data = True; self.data_sent = False
                    if len(ln) > 3 and ln[3:4] == b" " and ln.endswith(b"\n"):
                        if self.first_reply: self.first_reply = False
                        elif self.ehlo_pending and ln[:3] == b"250": self.ehlo_pending = False; self.ehlo_first_done = False
                    parts.append(ln)
                self.c.sendall(b"".join(parts))
                log("S segment %d bytes" % len(d))
        except OSError as e: log("s2c err", e)
        log("server closed")
        try: self.c.shutdown(socket.SHUT_WR)
        except OSError: pass

def main():
    a = sys.argv[1:]
    args = dict(src=a[2], srv=a[3], port=int(a[4]), noehlo="--no-ehlo-mask" in a, nobanner="--no-banner-mask" in a)
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a[0], int(a[1]))); ls.listen(16); log("listening", a, args)
    while True:
        c, addr = ls.accept()
        try: conn = Conn(c, addr, args)
        except OSError as e: log("connect fail", e); c.close(); continue
        t1 = threading.Thread(target=conn.c2s, daemon=True); t2 = threading.Thread(target=conn.s2c, daemon=True)
        t1.start(); t2.start()
        def closer(conn=conn, t1=t1, t2=t2):
            t1.join(120); t2.join(120)
            conn.c.close(); conn.s.close(); log("closed both", conn.addr)
        threading.Thread(target=closer, daemon=True).start()
main()
