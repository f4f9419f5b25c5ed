import sys, time, socket, os, struct
from rawsmtp import Client

def hdr(subj):
    return (f"From: a@example.org\r\nTo: b@example.test\r\nSubject: {subj}\r\n\r\n").encode()

def ehlo(c, name="client.example.org"):
    c.expect(220); c.send(f"EHLO {name}\r\n".encode()); return c.reply()

def env(c, rcpt="b@example.test"):
    c.send(b"MAIL FROM:<a@example.org>\r\n"); c.reply()
    c.send(f"RCPT TO:<{rcpt}>\r\n".encode()); return c.reply()

def s1_under(srv, bind):
    c = Client(srv, 25, bind); ehlo(c); env(c)
    body = hdr("bdat under") + b"x" * 70 + b"\r\n"
    c.send(b"BDAT %d\r\n" % len(body) + body); c.reply()
    chunk = (b"y" * 98 + b"\r\n") * 9   # 900 bytes
    c.send(b"BDAT 1000\r\n"); time.sleep(0.2); c.send(chunk)
    time.sleep(0.5)
    last = b"end\r\n" * 10
    c.send(b"BDAT %d LAST\r\n" % len(last) + last)
    code, _ = c.reply(timeout=30)
    print("reply after LAST:", code, file=sys.stderr)
    if code is not None:
        c.send(b"QUIT\r\n"); c.reply(timeout=5)
    c.wait_close(5)

def s1_over(srv, bind):
    c = Client(srv, 25, bind); ehlo(c); env(c)
    chunk = (b"z" * 98 + b"\r\n") * 11  # 1100 bytes
    c.send(b"BDAT 1000 LAST\r\n" + chunk)
    for _ in range(3):
        code, _ = c.reply(timeout=5)
        if code is None: break
    c.send(b"QUIT\r\n"); c.reply(timeout=5); c.wait_close(5)

def s5_mid_data(srv, bind):
    c = Client(srv, 25, bind); ehlo(c); env(c)
    c.send(b"DATA\r\n"); c.reply()
    c.send(hdr("stalls") + b"first half of the body\r\n")
    code, _ = c.reply(timeout=20)
    print("got", code, file=sys.stderr)
    c.wait_close(5)

def s5_after_mail(srv, bind):
    c = Client(srv, 25, bind); ehlo(c)
    c.send(b"MAIL FROM:<a@example.org>\r\n"); c.reply()
    code, _ = c.reply(timeout=20)
    print("got", code, file=sys.stderr)
    c.wait_close(5)

def s6_barelf_wait(srv, bind):
    c = Client(srv, 25, bind); ehlo(c); env(c)
    c.send(b"DATA\r\n"); c.reply()
    c.send(hdr("bare LF end") + b"body line\r\nlast line bare lf\n.\r\n")
    code, _ = c.reply(timeout=15)
    print("got", code, file=sys.stderr)
    c.send(b"QUIT\r\n"); c.reply(timeout=5); c.wait_close(5)

def s7_sync(srv, bind):
    c = Client(srv, 25, bind); ehlo(c)
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
    for _ in range(4):
        code, _ = c.reply(timeout=5)
        if code is None: break
    c.wait_close(5)

def s8_inject(srv, bind):
    c = Client(srv, 25, bind); ehlo(c)
    c.send(b"STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n")
    for _ in range(3):
        code, _ = c.reply(timeout=5)
        if code is None: break
    c.reset()

def s9_client_kill(srv, bind):
    c = Client(srv, 25, bind); ehlo(c); env(c)
    c.send(b"DATA\r\n"); c.reply()
    c.send(hdr("killed") + b"half of the body\r\n" * 20)
    print("SENT-HALF", file=sys.stderr, flush=True)
    time.sleep(30)

def s9_server_kill(srv, bind):
    c = Client(srv, 25, bind); ehlo(c); env(c)
    c.send(b"DATA\r\n"); c.reply()
    c.send(hdr("server killed") + b"half\r\n" * 20)
    print("SENT-HALF", file=sys.stderr, flush=True)
    time.sleep(4)
    try:
        c.send(b"rest\r\n.\r\n")
        code, _ = c.reply(timeout=5)
        print("got", code, file=sys.stderr)
    except Exception as e:
        print("exc", e, file=sys.stderr)
    try: c.sock.close()
    except Exception: pass

def full(c, subj="hi", rcpts=("b@example.test",)):
    c.send(b"MAIL FROM:<a@example.org>\r\n"); c.reply()
    for r in rcpts:
        c.send(f"RCPT TO:<{r}>\r\n".encode()); c.reply()
    c.send(b"DATA\r\n"); c.reply()
    c.send(hdr(subj) + b"body\r\n.\r\n"); c.reply()

def s10_reuse(srv, bind):
    for i in range(2):
        c = Client.__new__(Client)
        fam = socket.AF_INET6 if ":" in srv else socket.AF_INET
        c.sock = socket.socket(fam, socket.SOCK_STREAM)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        c.sock.settimeout(15); c.buf = b""
        c.sock.bind((bind, 40555)); c.sock.connect((srv, 25))
        ehlo(c); full(c, f"reuse {i}")
        c.send(b"QUIT\r\n"); c.reply()
        # abortive close so no TIME-WAIT blocks port reuse
        c.reset()
        time.sleep(0.3)

def s11_mixed(srv, bind):
    c = Client(srv, 25, bind); ehlo(c)
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<nobody@example.test>\r\n"
           b"RCPT TO:<c@example.test>\r\nRCPT TO:<x@elsewhere.invalid>\r\nDATA\r\n")
    for _ in range(6):
        code, _ = c.reply(timeout=5)
        if code is None: break
    c.send(hdr("mixed") + b"body\r\n.\r\n"); c.reply()
    c.send(b"QUIT\r\n"); c.reply(); c.wait_close(5)

def s12_helo(srv, bind):
    c = Client(srv, 25, bind); c.expect(220)
    c.send(b"HELO client.example.org\r\n"); c.reply()
    full(c, "helo")
    c.send(b"QUIT\r\n"); c.reply(); c.wait_close(5)

def s12_ehlo_fallback(srv, bind):
    c = Client(srv, 25, bind); c.expect(220)
    c.send(b"EHLO client.example.org\r\n"); code, _ = c.reply()
    if code and code >= 500:
        c.send(b"HELO client.example.org\r\n"); c.reply()
    full(c, "fallback")
    c.send(b"QUIT\r\n"); c.reply(); c.wait_close(5)


def s2_8bit_body(srv, bind):
    c = Client(srv, 25, bind); ehlo(c)
    c.send(b"MAIL FROM:<a@example.org> BODY=8BITMIME\r\n"); c.reply()
    c.send(b"RCPT TO:<b@example.test>\r\n"); c.reply()
    c.send(b"DATA\r\n"); c.reply()
    c.send(hdr("8bit declared") + "Grüße aus Köln\r\n.\r\n".encode("latin-1")); c.reply()
    c.send(b"QUIT\r\n"); c.reply(); c.wait_close(5)


def s3_size_declared(srv, bind):
    c = Client(srv, 25, bind); ehlo(c)
    c.send(b"MAIL FROM:<a@example.org> SIZE=50000\r\n"); code, _ = c.reply()
    if code == 250:
        c.send(b"RCPT TO:<b@example.test>\r\n"); c.reply()
    c.send(b"QUIT\r\n"); c.reply(); c.wait_close(5)

def s3_size_lie(srv, bind):
    c = Client(srv, 25, bind); ehlo(c)
    c.send(b"MAIL FROM:<a@example.org> SIZE=5000\r\n"); c.reply()
    c.send(b"RCPT TO:<b@example.test>\r\n"); c.reply()
    c.send(b"DATA\r\n"); c.reply()
    c.send(hdr("size lie") + (b"L" * 78 + b"\r\n") * 250 + b".\r\n"); c.reply()
    c.send(b"QUIT\r\n"); c.reply(); c.wait_close(5)

def s10_reuse_graceful(srv, bind):
    for i in range(2):
        c = Client.__new__(Client)
        c.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        c.sock.settimeout(15); c.buf = b""
        c.sock.bind((bind, 40666)); c.sock.connect((srv, 25))
        ehlo(c); full(c, f"graceful reuse {i}", rcpts=("b@example.test", "nobody@example.test") if i else ("b@example.test",))
        c.send(b"QUIT\r\n"); c.reply(); c.wait_close(5)
        time.sleep(0.2)

def s13_all_rcpt_rejected_pipelined(srv, bind):
    c = Client(srv, 25, bind); ehlo(c)
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<nobody@example.test>\r\nDATA\r\n")
    for _ in range(3):
        code, _ = c.reply(timeout=5)
        if code is None: break
    # client does not check and sends the body anyway (a sloppy pipelining client)
    c.send(hdr("after rejected DATA") + b"body line\r\n.\r\n")
    for _ in range(8):
        code, _ = c.reply(timeout=3)
        if code is None: break
    c.send(b"QUIT\r\n"); c.reply(timeout=5); c.wait_close(5)

def s14_multi_txn(srv, bind):
    c = Client(srv, 25, bind); ehlo(c)
    full(c, "first")
    c.send(b"MAIL FROM:<a@example.org>\r\n"); c.reply()
    c.send(b"RCPT TO:<grey@example.test>\r\n"); c.reply()
    c.send(b"RSET\r\n"); c.reply()
    c.send(b"NOOP\r\n"); c.reply()
    c.send(b"VRFY b\r\n"); c.reply()
    full(c, "third")
    c.send(b"MAIL FROM:<a@example.org>\r\n"); c.reply()
    c.send(b"RCPT TO:<nobody@example.test>\r\n"); c.reply()
    c.send(b"DATA\r\n"); c.reply()
    c.send(b"QUIT\r\n"); c.reply(); c.wait_close(5)

def _sess(srv, bind, fn):
    c = Client(srv, 25, bind); ehlo(c); fn(c)
    c.send(b"QUIT\r\n"); c.reply(timeout=5); c.wait_close(5)

def s15_misc(srv, bind):
    def quit_pipelined(c):
        env(c); c.send(b"DATA\r\n"); c.reply()
        c.send(hdr("pipelined quit") + b"body\r\n.\r\nQUIT\r\n"); c.reply(); c.reply(); c.wait_close(5)
    c = Client(srv, 25, bind); ehlo(c); quit_pipelined(c)
    def stuffed(c):
        env(c); c.send(b"DATA\r\n"); c.reply()
        c.send(hdr("dot stuffed") + b"..hidden line\r\n.\r\n"); c.reply()
    _sess(srv, bind, stuffed)
    def unstuffed(c):
        env(c); c.send(b"DATA\r\n"); c.reply()
        c.send(hdr("lone dot") + b"before\r\n.\r\nafter the dot\r\nsecond after\r\n.\r\n")
        for _ in range(4):
            code, _ = c.reply(timeout=3)
            if code is None: break
    _sess(srv, bind, unstuffed)
    def longline(c):
        env(c); c.send(b"DATA\r\n"); c.reply()
        c.send(hdr("long line") + b"A" * 1200 + b"\r\n.\r\n"); c.reply()
    _sess(srv, bind, longline)
    def longcmd(c):
        c.send(b"MAIL FROM:<a@example.org>\r\n"); c.reply()
        c.send(b"RCPT TO:<" + b"r" * 600 + b"@example.test>\r\n"); c.reply()
        c.send(b"RSET\r\n"); c.reply()
    _sess(srv, bind, longcmd)
    def lower(c):
        c.send(b"mail from:<a@example.org>\r\n"); c.reply()
        c.send(b"rcpt to:<b@example.test>\r\n"); c.reply()
        c.send(b"data\r\n"); c.reply()
        c.send(hdr("lowercase") + b"body\r\n.\r\n"); c.reply()
    _sess(srv, bind, lower)
    def nul(c):
        env(c); c.send(b"DATA\r\n"); c.reply()
        c.send(hdr("nul") + b"a\x00b\r\n.\r\n"); c.reply()
    _sess(srv, bind, nul)
    def starttls_not_offered(c):
        c.send(b"STARTTLS\r\n"); c.reply()
        full(c, "after failed starttls")
    _sess(srv, bind, starttls_not_offered)

def s16_pregreet(srv, bind):
    c = Client(srv, 25, bind)
    c.send(b"EHLO early.example.org\r\n")
    for _ in range(3):
        code, _ = c.reply(timeout=5)
        if code is None: break
    c.wait_close(5)

def s16_idle(srv, bind):
    c = Client(srv, 25, bind); c.expect(220)
    code, _ = c.reply(timeout=20)
    c.wait_close(5)

def s16_bdat_not_offered(srv, bind):
    c = Client(srv, 25, bind); ehlo(c); env(c)
    body = hdr("bdat no chunking") + b"body\r\n"
    c.send(b"BDAT %d LAST\r\n" % len(body)); time.sleep(0.2); c.send(body)
    for _ in range(6):
        code, _ = c.reply(timeout=3)
        if code is None: break
    c.send(b"QUIT\r\n"); c.reply(timeout=5); c.wait_close(5)

def s16_data_defer(srv, bind):
    for i in range(2):
        c = Client(srv, 25, bind); ehlo(c); env(c)
        c.send(b"DATA\r\n"); c.reply()
        c.send(hdr("defer me") + b"body\r\n.\r\n"); c.reply()
        c.send(b"QUIT\r\n"); c.reply(); c.wait_close(5)
    c = Client(srv, 25, bind); ehlo(c); env(c)
    c.send(b"DATA\r\n"); c.reply()
    c.send(hdr("reject me") + b"body\r\n.\r\n"); c.reply()
    c.send(b"QUIT\r\n"); c.reply(); c.wait_close(5)

def s16_max_per_conn(srv, bind):
    c = Client(srv, 25, bind); ehlo(c)
    for i in range(3):
        c.send(b"MAIL FROM:<a@example.org>\r\n"); code, _ = c.reply()
        if code != 250: break
        c.send(b"RCPT TO:<b@example.test>\r\n"); c.reply()
        c.send(b"DATA\r\n"); c.reply()
        c.send(hdr(f"msg {i}") + b"body\r\n.\r\n"); c.reply()
    try:
        c.send(b"QUIT\r\n"); c.reply(timeout=5)
    except Exception as e:
        print("exc", e, file=sys.stderr)
    c.wait_close(5)

def s16_hold(srv, bind):
    c = Client(srv, 25, bind); ehlo(c)
    print("HOLDING", file=sys.stderr, flush=True)
    time.sleep(6)
    c.send(b"QUIT\r\n"); c.reply(); c.wait_close(5)

def s16_second(srv, bind):
    c = Client(srv, 25, bind)
    code, _ = c.reply()
    if code == 220:
        c.send(b"EHLO second.example.org\r\n"); c.reply(); c.send(b"QUIT\r\n"); c.reply()
    c.wait_close(5)

import base64
def s17_auth(srv, bind):
    b64 = lambda s: base64.b64encode(s.encode())
    c = Client(srv, 25, bind); ehlo(c)
    c.send(b"AUTH LOGIN\r\n"); c.reply()
    c.send(b64("user") + b"\r\n"); c.reply()
    c.send(b64("WRONGPASSWORD123") + b"\r\n"); c.reply()
    c.send(b"AUTH PLAIN " + b64("\0user\0secret") + b"\r\n"); c.reply()
    full(c, "after auth")
    c.send(b"QUIT\r\n"); c.reply(); c.wait_close(5)
    c = Client(srv, 25, bind); ehlo(c)
    c.send(b"AUTH LOGIN\r\n"); c.reply()
    c.send(b"*\r\n"); c.reply()
    c.send(b"AUTH PLAIN\r\n"); c.reply()
    c.send(b64("\0user\0TOPSECRETPW") + b"\r\n"); c.reply()
    c.send(b"QUIT\r\n"); c.reply(); c.wait_close(5)

def s17_auth_not_offered(srv, bind):
    c = Client(srv, 25, bind); ehlo(c)
    c.send(b"AUTH PLAIN " + base64.b64encode(b"\0user\0LEAKEDPW99") + b"\r\n"); c.reply()
    c.send(b"QUIT\r\n"); c.reply(); c.wait_close(5)
