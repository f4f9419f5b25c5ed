#!/usr/bin/env python3
"""A small misbehaving SMTP middlebox ("mbox") for record-failures.sh.

It listens on --listen:--port, and for each client connection opens a
connection from --bind to --upstream:--upstream-port (the real Exim), then
relays both directions with one thread per direction. Every read (one recv()
of up to 64 KiB) is handled on its own and forwarded as one send() on a
TCP_NODELAY socket, so on the recording namespace's loopback each chunk the
proxy reads becomes one segment on the other side: segment boundaries are
preserved. A FIN from one side is passed on as a FIN (shutdown SHUT_WR) to
the other, an RST (ECONNRESET) as an RST (close with SO_LINGER 0).

Modes (--mode):

passthrough
    Plain relay.

pix
    Emulates a Cisco PIX/ASA "fixup smtp" (mailguard) that inspects each TCP
    segment on its own, without buffering across reads.
    Client to server, command mode: every read is taken to begin at a line
    start, whatever the previous read ended with, and so is every position
    after a CRLF inside the read. At each line start, the verb (bytes up to
    the first SP, CR or LF) is compared, case-insensitively, with the verbs
    the fixup knows (KNOWN_VERBS below: RFC 821 plus EHLO; not STARTTLS, BDAT,
    AUTH, ...). An unknown verb is replaced by as many 'X' as it has bytes; the
    rest of the line is passed unchanged. A verb that runs to the end of the
    read (no SP/CR/LF after it in this read) is passed unchanged: the fixup
    cannot tell what it is. So "MAIL FROM:<a@example.org>\\r\\nRC" passes as
    is, and a following read "PT TO:<b@example.test>\\r\\n" starts (for the
    fixup) with the unknown verb "PT", which becomes "XX": the server gets
    "RCXX TO:<b@example.test>". After the server's 354 the fixup passes
    message data unchanged until the end-of-data line "\\r\\n.\\r\\n" (looked
    for across reads), then returns to command mode.
    Server to client: in the reply to EHLO, every line after the first whose
    keyword is not in KNOWN_EHLO (8BITMIME, SIZE, HELP) has its keyword
    replaced by 'X's except its last character ("250-PIPELINING" becomes
    "250-XXXXXXXXXG", "250-CHUNKING" "250-XXXXXXXG", "250-STARTTLS"
    "250-XXXXXXXS"); its parameters are kept. Lengths never change.

hold513
    A re-segmenting middlebox with a bug: a client read of exactly 513 bytes
    is accepted (so the client's kernel sees it ACKed) but never forwarded to
    the server. Everything else is relayed as in passthrough.

The proxy accepts at most --max-conns connections, and exits when they are
all finished or after --lifetime seconds, whichever comes first. Idle
connections are closed after --idle seconds. It logs every read and write to
stderr. It prints "listening" on stderr once it accepts connections.
"""

import argparse
import socket
import struct
import sys
import threading
import time

KNOWN_VERBS = {
    b"HELO", b"EHLO", b"MAIL", b"RCPT", b"DATA", b"RSET", b"NOOP", b"QUIT", b"HELP", b"VRFY", b"EXPN",
    b"SEND", b"SOML", b"SAML", b"TURN",
}
KNOWN_EHLO = {b"8BITMIME", b"SIZE", b"HELP"}

LOCK = threading.Lock()


def log(*a):
    with LOCK:
        print("%.3f" % time.monotonic(), *a, file=sys.stderr, flush=True)


def show(b, n=60):
    s = b[:n].decode("latin-1").replace("\r", "\\r").replace("\n", "\\n")
    s = "".join(ch if 32 <= ord(ch) < 127 else "." for ch in s)
    return repr(s + ("..." if len(b) > n else ""))


class Conn:
    """Shared per-connection state of the two directions (pix mode)."""

    def __init__(self, cid):
        self.cid = cid
        self.data_mode = False  # between the server's 354 and the client's "\r\n.\r\n"
        self.data_tail = b""  # last bytes of data seen, to find "\r\n.\r\n" across reads
        self.ehlo_pending = False  # an EHLO went to the server, its reply not yet complete
        self.ehlo_first = False  # the next 250 line is the first of the EHLO reply (the greeting)


def pix_c2s(conn, chunk):
    out = bytearray()
    i = 0
    n = len(chunk)
    while i < n:
        if conn.data_mode:
            # pass data through up to and including the end-of-data line
            window = conn.data_tail + chunk[i:]
            k = window.find(b"\r\n.\r\n")
            if k < 0:
                out += chunk[i:]
                conn.data_tail = window[-4:]
                break
            end = k + 5 - len(conn.data_tail)  # offset in chunk[i:] just after the terminator
            out += chunk[i:i + end]
            i += end
            conn.data_mode = False
            conn.data_tail = b""
            log(f"[{conn.cid}] pix: end of data seen, back to command mode")
            continue
        # a line start: the verb is up to SP/CR/LF
        j = i
        while j < n and chunk[j:j + 1] not in (b" ", b"\r", b"\n"):
            j += 1
        verb = bytes(chunk[i:j])
        eol = chunk.find(b"\n", i)
        line_end = n if eol < 0 else eol + 1
        if j == n:
            # verb runs to the end of the read: cannot tell, pass
            out += chunk[i:]
            break
        if verb.upper() in KNOWN_VERBS or verb == b"":
            out += chunk[i:line_end]
            if verb.upper() == b"EHLO":
                conn.ehlo_pending = True
                conn.ehlo_first = True
        else:
            log(f"[{conn.cid}] pix: masking unknown verb {show(verb)}")
            out += b"X" * len(verb) + chunk[j:line_end]
        i = line_end
    return bytes(out)


def pix_s2c(conn, chunk):
    out = []
    for line in chunk.split(b"\r\n"):
        if line[:3] == b"354":
            conn.data_mode = True
            conn.data_tail = b""
            log(f"[{conn.cid}] pix: 354 seen, data mode")
        if conn.ehlo_pending and line[:3] == b"250" and len(line) > 4:
            if not conn.ehlo_first:
                kw = line[4:].split(b" ", 1)[0]
                if kw and kw.upper() not in KNOWN_EHLO:
                    masked = b"X" * (len(kw) - 1) + kw[-1:]
                    log(f"[{conn.cid}] pix: masking EHLO keyword {show(kw)} -> {show(masked)}")
                    line = line[:4] + masked + line[4 + len(kw):]
            conn.ehlo_first = False
            if line[3:4] == b" ":
                conn.ehlo_pending = False
        out.append(line)
    return b"\r\n".join(out)


def linger0_close(s):
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def pump(conn, name, src, dst, mode, c2s, idle, done):
    """Relay src -> dst, one recv, one send."""
    try:
        while True:
            src.settimeout(idle)
            try:
                chunk = src.recv(65536)
            except socket.timeout:
                log(f"[{conn.cid}] {name}: idle {idle}s, closing")
                linger0_close(dst)
                linger0_close(src)
                return
            except ConnectionResetError:
                log(f"[{conn.cid}] {name}: RST from source, resetting the other side")
                linger0_close(dst)
                return
            if not chunk:
                log(f"[{conn.cid}] {name}: EOF, passing FIN on")
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            log(f"[{conn.cid}] {name}: read {len(chunk)} {show(chunk)}")
            out = chunk
            if mode == "pix":
                out = pix_c2s(conn, chunk) if c2s else pix_s2c(conn, chunk)
                assert len(out) == len(chunk)
            elif mode == "hold513" and c2s and len(chunk) == 513:
                log(f"[{conn.cid}] {name}: hold513: swallowing this 513-byte read")
                continue
            try:
                dst.sendall(out)
            except OSError as e:
                log(f"[{conn.cid}] {name}: send failed: {e}")
                linger0_close(src)
                return
            log(f"[{conn.cid}] {name}: sent {len(out)} {show(out)}")
    except OSError as e:
        log(f"[{conn.cid}] {name}: {e}")
    finally:
        done.release()


def handle(cid, client, args):
    conn = Conn(cid)
    family = socket.AF_INET6 if ":" in args.upstream else socket.AF_INET
    up = socket.socket(family, socket.SOCK_STREAM)
    up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if args.bind:
        up.bind((args.bind, 0))
    up.settimeout(10)
    try:
        up.connect((args.upstream, args.upstream_port))
    except OSError as e:
        log(f"[{cid}] upstream connect failed: {e}")
        linger0_close(client)
        return
    log(f"[{cid}] {client.getpeername()} <-> {up.getsockname()} -> {up.getpeername()}")
    done = threading.Semaphore(0)
    t1 = threading.Thread(target=pump, args=(conn, "c2s", client, up, args.mode, True, args.idle, done), daemon=True)
    t2 = threading.Thread(target=pump, args=(conn, "s2c", up, client, args.mode, False, args.idle, done), daemon=True)
    t1.start()
    t2.start()
    for _ in range(2):
        done.acquire(timeout=args.lifetime)
    for s in (client, up):
        try:
            s.close()
        except OSError:
            pass
    log(f"[{cid}] finished")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=["passthrough", "pix", "hold513"], required=True)
    p.add_argument("--listen", required=True)
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--upstream", required=True)
    p.add_argument("--upstream-port", type=int, default=25)
    p.add_argument("--bind", default=None, help="local address for the upstream connections")
    p.add_argument("--max-conns", type=int, default=10)
    p.add_argument("--lifetime", type=float, default=120.0)
    p.add_argument("--idle", type=float, default=30.0)
    args = p.parse_args()

    deadline = time.monotonic() + args.lifetime
    family = socket.AF_INET6 if ":" in args.listen else socket.AF_INET
    ls = socket.socket(family, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.listen, args.port))
    ls.listen(8)
    log(f"listening on {args.listen}:{args.port}, mode {args.mode}, upstream {args.upstream}:{args.upstream_port}")
    threads = []
    for cid in range(args.max_conns):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ls.settimeout(left)
        try:
            client, _ = ls.accept()
        except socket.timeout:
            break
        t = threading.Thread(target=handle, args=(cid, client, args), daemon=True)
        t.start()
        threads.append(t)
    ls.close()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    log("exiting")


if __name__ == "__main__":
    main()
