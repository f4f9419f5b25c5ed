#!/usr/bin/env python3
"""Small SMTP clients with exact segmentation. Usage: clients.py FUNC SRC_IP SERVER_IP [PORT]"""
import socket, sys, time, base64
T0 = time.time()
def log(*a): print("%8.3f" % (time.time() - T0), *a, file=sys.stderr, flush=True)

class C:
    def __init__(self, src, srv, port=25):
        self.s = socket.socket(); self.s.bind((src, 0))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.settimeout(10); self.s.connect((srv, port)); self.buf = b""
        log("connected", self.s.getsockname())
    def send(self, b):
        log("C>", repr(b)); self.s.sendall(b)
    def reply(self, timeout=10):
        """read one complete (multi-line) reply; None on timeout/close"""
        self.s.settimeout(timeout); end = time.time() + timeout; lines = []
        while True:
            while b"\n" in self.buf:
                ln, self.buf = self.buf.split(b"\n", 1); lines.append(ln + b"\n")
                if len(ln) >= 4 and ln[3:4] == b" " or len(ln) == 3:
                    log("S<", repr(b"".join(lines))); return b"".join(lines)
            rem = end - time.time()
            if rem <= 0: log("S< timeout"); return None
            self.s.settimeout(rem)
            try: d = self.s.recv(65536)
            except socket.timeout: log("S< timeout after %.1fs" % timeout); return None
            except OSError as e: log("S< error", e); return None
            if not d: log("S< closed"); return None
            self.buf += d
    def close(self): self.s.close(); log("closed")

MSG = b"From: a@example.org\r\nTo: b@example.test\r\nSubject: test\r\n\r\nhello\r\n.\r\n"

def split_rcpt(src, srv, port, cut):
    c = C(src, srv, port); c.reply()
    c.send(b"EHLO client.example.org\r\n"); c.reply()
    c.send(b"MAIL FROM:<a@example.org>\r\n"); c.reply()
    line = b"RCPT TO:<b@example.test>\r\n"
    c.send(line[:cut]); time.sleep(0.3); c.send(line[cut:]); r = c.reply()
    if r and r.startswith(b"250"):
        c.send(b"DATA\r\n"); c.reply(); c.send(MSG); c.reply()
    c.send(b"QUIT\r\n"); c.reply(); c.close()

def auth(src, srv, port):
    c = C(src, srv, port); c.reply()
    c.send(b"EHLO client.example.org\r\n"); c.reply()
    c.send(b"AUTH PLAIN " + base64.b64encode(b"\0user\0secret") + b"\r\n"); r = c.reply()
    c.send(b"MAIL FROM:<a@example.org>\r\n"); c.reply()
    c.send(b"RCPT TO:<b@example.test>\r\n"); c.reply()
    c.send(b"DATA\r\n"); c.reply(); c.send(MSG); c.reply()
    c.send(b"QUIT\r\n"); c.reply(); c.close()

def starttls_anyway(src, srv, port):
    c = C(src, srv, port); c.reply()
    c.send(b"EHLO client.example.org\r\n"); c.reply()
    c.send(b"STARTTLS\r\n"); r = c.reply()
    c.send(b"QUIT\r\n"); c.reply(); c.close()

def envelope(src, srv, port, total):
    c = C(src, srv, port); c.reply()
    c.send(b"EHLO client.example.org\r\n"); c.reply()
    base = b"MAIL FROM:<a@example.org>\r\n" + b"RCPT TO:<b@example.test>\r\n" + b"DATA\r\n"
    pad = total - len(base)
    # pad with ENVID= on MAIL (DSN is offered), keeping the line short of 512
    env = b"MAIL FROM:<a@example.org> ENVID=" + b"E" * (pad - len(b" ENVID=")) + b"\r\nRCPT TO:<b@example.test>\r\nDATA\r\n"
    assert len(env) == total, len(env)
    c.send(env)
    got = []
    for _ in range(3):
        r = c.reply(timeout=20)
        if r is None: break
        got.append(r)
    if len(got) == 3 and got[2].startswith(b"354"):
        c.send(MSG); c.reply(); c.send(b"QUIT\r\n"); c.reply(); c.close(); return
    log("giving up: closing without QUIT (as an MTA does after a timeout)")
    c.close()

def barelf(src, srv, port, giveup="quit"):
    c = C(src, srv, port); c.reply()
    c.send(b"EHLO client.example.org\r\n"); c.reply()
    c.send(b"MAIL FROM:<a@example.org>\r\n"); c.reply()
    c.send(b"RCPT TO:<b@example.test>\r\n"); c.reply()
    c.send(b"DATA\r\n"); c.reply()
    c.send(b"From: a@example.org\r\nTo: b@example.test\r\nSubject: bare LF\r\n\r\n"
           b"A PDF-like body whose last line ends with a bare LF.\r\n%%EOF\n.\r\n")
    r = c.reply(timeout=30)
    if r is None and giveup == "close": c.close(); return
    try: c.send(b"QUIT\r\n"); c.reply(timeout=5)
    except OSError as e: log("quit err", e)
    c.close()

if __name__ == "__main__":
    f, src, srv = sys.argv[1], sys.argv[2], sys.argv[3]
    port = int(sys.argv[4]) if len(sys.argv) > 4 else 25
    rest = sys.argv[5:]
    if f == "split_rcpt": split_rcpt(src, srv, port, int(rest[0]))
    elif f == "auth": auth(src, srv, port)
    elif f == "starttls_anyway": starttls_anyway(src, srv, port)
    elif f == "envelope": envelope(src, srv, port, int(rest[0]))
    elif f == "barelf": barelf(src, srv, port, *(rest or []))
