import sys, time, socket
sys.path.insert(0, "/tmp/psweep")
from rawsmtp import Client

def hdr(subj):
    return (f"From: a@example.org\r\nTo: b@example.test\r\nSubject: {subj}\r\n\r\n").encode()

def ehlo(c, name="client.example.org"):
    c.expect(220); c.send(f"EHLO {name}\r\n".encode()); return c.reply()

def env(c, rcpt="b@example.test"):
    c.send(b"MAIL FROM:<a@example.org>\r\n"); c.reply()
    c.send(f"RCPT TO:<{rcpt}>\r\n".encode()); return c.reply()

def replies(c, n, timeout=3):
    for _ in range(n):
        code, _ = c.reply(timeout=timeout)
        if code is None: return
def quit(c):
    try:
        c.send(b"QUIT\r\n"); c.reply(timeout=5)
    except Exception as e:
        print("exc", e, file=sys.stderr)
    c.wait_close(5)

# ---- 1 kill
def s1_client_kill(srv, bind):
    c = Client(srv, 25, bind); ehlo(c); env(c)
    c.send(b"DATA\r\n"); c.reply()
    c.send(hdr("killed client") + b"half of the body\r\n" * 20)
    print("SENT-HALF", file=sys.stderr, flush=True)
    time.sleep(30)

def s1_server_kill(srv, bind):
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

# ---- 2 bdat
def s2_under(srv, bind):
    c = Client(srv, 25, bind); ehlo(c); env(c)
    body = hdr("bdat under") + b"x" * 70 + b"\r\n"
    c.send(b"BDAT %d\r\n" % len(body) + body); c.reply()
    chunk = (b"y" * 98 + b"\r\n") * 9   # 900 bytes of 1000 declared
    c.send(b"BDAT 1000\r\n"); time.sleep(0.2); c.send(chunk)
    time.sleep(0.5)
    last = b"end\r\n" * 10
    c.send(b"BDAT %d LAST\r\n" % len(last) + last)
    code, _ = c.reply(timeout=25)   # Postfix (smtpd_timeout 10s) should time out
    print("reply after LAST:", code, file=sys.stderr)
    if code is not None and code < 400:
        quit(c)
    else:
        c.wait_close(5)

def s2_over(srv, bind):
    c = Client(srv, 25, bind); ehlo(c); env(c)
    chunk = hdr("bdat over") + (b"z" * 98 + b"\r\n") * 11
    c.send(b"BDAT %d LAST\r\n" % (len(chunk) - 100) + chunk)
    replies(c, 4)
    quit(c)

# ---- 3 refused rcpt, DATA refused, body anyway
def s3_data_anyway(srv, bind):
    c = Client(srv, 25, bind); ehlo(c)
    c.send(b"MAIL FROM:<a@example.org>\r\n"); c.reply()
    c.send(b"RCPT TO:<nobody@example.test>\r\n"); c.reply()
    c.send(b"DATA\r\n"); c.reply()
    c.send(hdr("after refused DATA") + b"body line\r\n.\r\n")
    replies(c, 8)
    quit(c)

# ---- 4 lone dot not stuffed
def s4_lonedot(srv, bind):
    c = Client(srv, 25, bind); ehlo(c); env(c)
    c.send(b"DATA\r\n"); c.reply()
    c.send(hdr("lone dot") + b"before\r\n.\r\nafter the dot\r\nsecond after\r\n.\r\n")
    replies(c, 5)
    quit(c)

# ---- 5 pipelining
def s5_pipe_not_offered(srv, bind):
    c = Client(srv, 25, bind); ehlo(c)
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
    replies(c, 3, 5)
    c.send(hdr("pipelined without PIPELINING") + b"body\r\n.\r\n"); c.reply()
    quit(c)

def s5_forbid(srv, bind):
    c = Client(srv, 25, bind); c.expect(220)
    c.send(b"HELO client.example.org\r\n"); c.reply()
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
    replies(c, 3, 5)
    c.wait_close(5)

def s5_forbid_ehlo_pipe_after_data(srv, bind):
    # EHLO with PIPELINING offered; but client sends message body together with DATA (not allowed: DATA must be last)
    c = Client(srv, 25, bind); ehlo(c); env(c)
    c.send(b"DATA\r\n" + hdr("body with DATA") + b"body\r\n.\r\n")
    replies(c, 3, 5)
    c.wait_close(5)

# ---- 6 limits
def s6_rcpt_limit(srv, bind):
    c = Client(srv, 25, bind); ehlo(c)
    c.send(b"MAIL FROM:<a@example.org>\r\n"); c.reply()
    for r in ("b", "c", "d"):
        c.send(f"RCPT TO:<{r}@example.test>\r\n".encode()); c.reply()
    c.send(b"DATA\r\n"); c.reply()
    c.send(hdr("three rcpts") + b"body\r\n.\r\n"); c.reply()
    quit(c)

def s6_errors(srv, bind):
    c = Client(srv, 25, bind); ehlo(c)
    for i in range(5):
        c.send(b"BOGUS%d\r\n" % i)
        code, _ = c.reply(timeout=5)
        if code is None or code == 421: break
    c.wait_close(5)

# ---- 7 pregreet
def s7_pregreet(srv, bind):
    c = Client(srv, 25, bind)
    c.send(b"EHLO early.example.org\r\n")
    replies(c, 2, 5)
    full(c, "pregreet")
    quit(c)

def full(c, subj="hi", rcpts=("b@example.test",), mail=b"MAIL FROM:<a@example.org>\r\n", body=b"body\r\n"):
    c.send(mail); code, _ = c.reply()
    if code != 250: return code
    for r in rcpts:
        c.send(f"RCPT TO:<{r}>\r\n".encode()); c.reply()
    c.send(b"DATA\r\n"); code, _ = c.reply()
    if code != 354: return code
    c.send(hdr(subj) + body + b".\r\n"); code, _ = c.reply(); return code

# ---- 8 8bit / smtputf8
def s8_8bit(srv, bind):
    body = "Grüße aus Köln\r\n".encode("utf-8")
    c = Client(srv, 25, bind); ehlo(c)
    full(c, "8bit declared", mail=b"MAIL FROM:<a@example.org> BODY=8BITMIME\r\n", body=body)
    full(c, "8bit undeclared", body=body)
    c.send("MAIL FROM:<jörg@example.org>\r\n".encode("utf-8")); code, _ = c.reply()
    if code == 250:
        c.send("RCPT TO:<b@example.test>\r\n".encode()); c.reply()
        c.send(b"RSET\r\n"); c.reply()
    c.send("MAIL FROM:<a@example.org>\r\n".encode()); c.reply()
    c.send("RCPT TO:<björn@example.test>\r\n".encode("utf-8")); c.reply()
    c.send(b"RSET\r\n"); c.reply()
    quit(c)

# ---- 9 timeouts
def s9_after_mail(srv, bind):
    c = Client(srv, 25, bind); ehlo(c)
    c.send(b"MAIL FROM:<a@example.org>\r\n"); c.reply()
    code, _ = c.reply(timeout=15)
    print("got", code, file=sys.stderr)
    c.wait_close(5)

def s9_mid_data(srv, bind):
    c = Client(srv, 25, bind); ehlo(c); env(c)
    c.send(b"DATA\r\n"); c.reply()
    c.send(hdr("stalls") + b"first half of the body\r\n")
    code, _ = c.reply(timeout=15)
    print("got", code, file=sys.stderr)
    c.wait_close(5)
