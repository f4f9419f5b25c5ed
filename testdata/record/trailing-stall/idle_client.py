#!/usr/bin/env python3
"""idle_client.py MODE SERVER LOCAL [HOLD]: one SMTP session to SERVER:25 from LOCAL (any port), with
TCP_NODELAY and one write per command (the message in one write), reading each reply (30 s at most),
then holding the connection open and silent: no RSET, no QUIT, no close. The caller ends the hold
with SIGTERM (the socket is then closed: FIN); after HOLD seconds (default 120) it closes by itself.

MODE:
  stuck      EHLO, MAIL, RCPT, DATA, then a short message whose last line ends in a bare LF, so the
             bytes end "%%EOF\\n.\\r\\n" (no <CRLF>.<CRLF>: a strict server waits for more); hold.
  ehlo       EHLO, then hold.
  cached     EHLO, MAIL, RCPT, DATA, a short proper message ending "\\r\\n.\\r\\n", its 250; hold
             (a client keeping the connection for more mail).
  quit-open  as cached, then QUIT and its 221, and hold without closing the socket (the server's
             FIN is read as EOF; the socket stays open).

Prints each step with its time to stdout, and once a line "MARK <epoch seconds> <what>" at the
moment the hold begins (stuck: the end of data was written; ehlo: EHLO's 250 arrived; cached and
quit-open: the message's 250 arrived), for the caller to time the rest against. While holding, it
reads (and prints) anything the server sends. Exit 0 if the session went as MODE wants, 1 otherwise."""
import select, signal, socket, sys, time

mode, server, local = sys.argv[1], sys.argv[2], sys.argv[3]
hold = float(sys.argv[4]) if len(sys.argv) > 4 else 120.0
if mode not in ('stuck', 'ehlo', 'cached', 'quit-open'):
    sys.exit('unknown MODE ' + mode)
t0 = time.time()
def say(*a): print('%6.2f' % (time.time() - t0), *a, flush=True)

class Stop(Exception): pass
def on_term(signum, frame): raise Stop()
signal.signal(signal.SIGTERM, on_term)

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
buf = b''
eof = False

def reply(timeout=30):
    """one whole (possibly multi-line) reply; its code, or None at EOF or timeout."""
    global buf, eof
    end = time.time() + timeout
    while True:
        while b'\n' in buf:
            line, buf = buf.split(b'\n', 1); say('<', line.rstrip().decode(errors='replace'))
            if line[3:4] != b'-': return line[:3].decode()
        left = end - time.time()
        if left <= 0: say('<no reply>'); return None
        s.settimeout(left)
        try: d = s.recv(4096)
        except socket.timeout: say('<no reply>'); return None
        if not d: say('<EOF>'); eof = True; return None
        buf += d

def send(b): s.sendall(b); say('>', b.splitlines()[0].decode(errors='replace'), '(%d bytes)' % len(b))

def mark(what): say('MARK %.6f %s' % (time.time(), what))

ok = False
try:
    s.bind((local, 0)); s.settimeout(30); s.connect((server, 25))
    say('connected from', s.getsockname())
    if reply() != '220': raise SystemExit(1)
    send(b'EHLO %s.example.org\r\n' % mode.encode())
    if reply() != '250': raise SystemExit(1)
    if mode == 'ehlo':
        ok = True; mark('ehlo-250')
    else:
        send(b'MAIL FROM:<%s@example.org>\r\n' % mode.encode())
        if reply() != '250': raise SystemExit(1)
        send(b'RCPT TO:<user@example.test>\r\n')
        if reply() != '250': raise SystemExit(1)
        send(b'DATA\r\n')
        if reply() != '354': raise SystemExit(1)
        if mode == 'stuck':
            send(b'From: stuck@example.org\r\nTo: user@example.test\r\nSubject: trailing stall\r\n'
                 b'Message-Id: <stuck-1@example.org>\r\n\r\n'
                 b'A PDF-like body whose last line ends with a bare LF.\r\n%%EOF\n.\r\n')
            ok = True; mark('end-of-data')
        else:
            send(b'From: %s@example.org\r\nTo: user@example.test\r\nSubject: kept open (%s)\r\n'
                 b'Message-Id: <%s-1@example.org>\r\n\r\nA short proper message.\r\n.\r\n'
                 % (mode.encode(), mode.encode(), mode.encode()))
            if reply() != '250': raise SystemExit(1)
            if mode == 'cached':
                ok = True; mark('data-250')
            else:
                mark('data-250')
                send(b'QUIT\r\n')
                ok = reply() == '221'
                mark('quit-221')
    # The hold: silent, reading whatever the server sends, until SIGTERM or HOLD seconds.
    end = time.time() + hold
    while time.time() < end:
        if eof:
            time.sleep(min(0.5, max(0.0, end - time.time()))); continue
        r, _, _ = select.select([s], [], [], min(0.5, max(0.0, end - time.time())))
        if not r: continue
        d = s.recv(4096)
        if not d: say('<EOF> (server closed; the socket stays open)'); eof = True; continue
        say('< (while holding)', d.decode(errors='replace').rstrip())
        if mode == 'stuck': ok = False   # the server took the bare-LF dot as the end of data
    say('hold of %.0f s over' % hold)
except Stop:
    say('SIGTERM')
except OSError as e:
    say('error', e); ok = False
finally:
    s.close(); say('closed')
sys.exit(0 if ok else 1)
