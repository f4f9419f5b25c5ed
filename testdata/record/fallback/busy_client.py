#!/usr/bin/env python3
"""busy_client.py SERVER LOCAL P1 P2 P3 P4: one slow SMTP session to SERVER:25 from LOCAL (any port),
with TCP_NODELAY and one write per command: banner, EHLO, then P1 seconds before MAIL, P2 before
RCPT, P3 before DATA (+ the message in one write), P4 before QUIT; reads every reply (30 s each at
most), then reads to EOF (10 s at most).
Prints each step with its time to stdout. Exit 0 if the message got its 250, 1 otherwise."""
import socket, sys, time

server, local = sys.argv[1], sys.argv[2]
p1, p2, p3, p4 = (float(a) for a in sys.argv[3:7])
t0 = time.time()
def say(*a): print('%6.2f' % (time.time() - t0), *a, flush=True)

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.bind((local, 0)); s.settimeout(30); s.connect((server, 25))
say('connected from', s.getsockname())
buf = b''
def reply():
    """one whole (possibly multi-line) reply; its code, or None at EOF."""
    global buf
    while True:
        while b'\n' in buf:
            line, buf = buf.split(b'\n', 1); say('<', line.rstrip().decode(errors='replace'))
            if line[3:4] != b'-': return line[:3].decode()
        d = s.recv(4096)
        if not d: say('<EOF>'); return None
        buf += d
def send(b): s.sendall(b); say('>', b.splitlines()[0].decode())

ok = False
reply()                                         # 220 banner
send(b'EHLO busy.example.org\r\n'); reply()
time.sleep(p1)
send(b'MAIL FROM:<busy@example.org>\r\n'); reply()
time.sleep(p2)
send(b'RCPT TO:<other@example.test>\r\n'); reply()
time.sleep(p3)
send(b'DATA\r\n')
if reply() == '354':
    send(b'From: busy@example.org\r\nTo: other@example.test\r\nSubject: the busy session\r\n'
         b'Message-Id: <busy-1@example.org>\r\n\r\nsent while Exim tries its MX hosts\r\n.\r\n')
    ok = reply() == '250'
time.sleep(p4)
send(b'QUIT\r\n'); reply()
s.settimeout(10)
try:
    while s.recv(4096): pass
except OSError as e: say('eof-read', e)
s.close(); say('closed')
sys.exit(0 if ok else 1)
