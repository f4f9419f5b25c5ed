#!/usr/bin/env python3
"""Middlebox that terminates TCP towards the client (ACKs everything itself), re-segments what it forwards
(pieces of at most 300 bytes), and never forwards a client write (recv chunk) of exactly 513 bytes.
Usage: hold513proxy.py LISTEN_IP LISTEN_PORT SRC_IP SERVER_IP SERVER_PORT"""
import socket, sys, threading, time
T0 = time.time()
def log(*a): print("%8.3f" % (time.time() - T0), *a, flush=True)
def pump(a, b, name, hold):
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            if hold and len(d) == 513:
                log(name, "HOLDING 513-byte chunk, never forwarded: %r..." % d[:60]); continue
            log(name, "%d bytes" % len(d))
            for i in range(0, len(d), 300 if hold else 65536):
                b.sendall(d[i:i + 300 if hold else i + 65536]); 
                if hold: time.sleep(0.002)
    except OSError as e: log(name, "err", e)
    log(name, "EOF"); 
    try: b.shutdown(socket.SHUT_WR)
    except OSError: pass
a = sys.argv[1:]
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); ls.bind((a[0], int(a[1]))); ls.listen(16)
log("listening", a)
while True:
    c, addr = ls.accept()
    s = socket.socket(); s.bind((a[2], 0)); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(10)
    try: s.connect((a[3], int(a[4])))
    except OSError as e: log("connect fail", e); c.close(); continue
    s.settimeout(None); log("conn", addr, "->", s.getsockname())
    t1 = threading.Thread(target=pump, args=(c, s, "C->S", True), daemon=True)
    t2 = threading.Thread(target=pump, args=(s, c, "S->C", False), daemon=True)
    t1.start(); t2.start()
    def closer(c=c, s=s, t1=t1, t2=t2):
        t1.join(120); t2.join(120); c.close(); s.close(); log("closed both")
    threading.Thread(target=closer, daemon=True).start()
