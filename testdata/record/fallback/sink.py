#!/usr/bin/env python3
"""sink.py ADDR PORT LOG: a minimal SMTP server (standard library only) for record-postfix.sh.

Listens on ADDR:PORT; each connection in its own thread. Greets with 220, answers EHLO with
PIPELINING and 8BITMIME (no STARTTLS, no CHUNKING), HELO/MAIL/RCPT/RSET/NOOP with 250, DATA with
354, the end of data with 250 (the message is counted, not kept), QUIT with 221 and then closes.
Anything else gets 502. Replies are collected while whole lines wait in the input and sent in one
write when the input is drained, as a real server flushes after a pipelined group. Each event
goes to LOG, one line, flushed ("accepted message N ..." once a message has been taken). Ends on
SIGTERM or SIGINT.
"""
import signal
import socket
import sys
import threading
import time

ADDR, PORT, LOG = sys.argv[1], int(sys.argv[2]), sys.argv[3]
HOST = "mx.example.test"
lock = threading.Lock()
count = 0
logf = open(LOG, "a", buffering=1)


def log(msg):
    with lock:
        logf.write("%.3f %s\n" % (time.time(), msg))


def session(conn, peer):
    global count
    conn.settimeout(300)
    buf = b""
    in_data = False
    size = 0
    out = [b"220 %s ESMTP smtpcap sink\r\n" % HOST.encode()]
    quit_ = False
    log("connect %s:%d" % peer)
    try:
        while True:
            if out and (quit_ or b"\r\n" not in buf):
                conn.sendall(b"".join(out))
                out = []
            if quit_:
                break
            if b"\r\n" not in buf:
                chunk = conn.recv(65536)
                if not chunk:
                    log("eof from %s:%d" % peer)
                    break
                buf += chunk
                continue
            line, buf = buf.split(b"\r\n", 1)
            if in_data:
                if line == b".":
                    in_data = False
                    with lock:
                        count += 1
                        n = count
                    out.append(b"250 2.0.0 Ok: queued as SINK%d\r\n" % n)
                    logf.write("%.3f accepted message %d (%d bytes) from %s:%d\n" % (time.time(), n, size, *peer))
                else:
                    size += len(line) + 2
                continue
            cmd = line.split(b" ", 1)[0].upper()
            log("%s:%d > %s" % (peer[0], peer[1], line.decode("utf-8", "replace")))
            if cmd == b"EHLO":
                out.append(b"250-%s\r\n250-PIPELINING\r\n250 8BITMIME\r\n" % HOST.encode())
            elif cmd in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                out.append(b"250 2.0.0 Ok\r\n")
            elif cmd == b"DATA":
                in_data, size = True, 0
                out.append(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            elif cmd == b"QUIT":
                out.append(b"221 2.0.0 Bye\r\n")
                quit_ = True
            else:
                out.append(b"502 5.5.2 Error: command not recognized\r\n")
    except OSError as e:
        log("error %s:%d: %s" % (peer[0], peer[1], e))
    finally:
        conn.close()
        log("closed %s:%d" % peer)


def main():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((ADDR, PORT))
    srv.listen(16)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log("listening on %s:%d" % (ADDR, PORT))
    try:
        while True:
            conn, peer = srv.accept()
            threading.Thread(target=session, args=(conn, peer), daemon=True).start()
    except (SystemExit, KeyboardInterrupt):
        log("stopping")
    finally:
        srv.close()


main()
