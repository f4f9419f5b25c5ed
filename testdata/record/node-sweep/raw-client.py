#!/usr/bin/env python3
# raw-client.py CASE HOST PORT : hand-driven SMTP/LMTP clients (TCP_NODELAY; a write per command but
# in lmtp, which pipelines the envelope) for
# s2-smtp-server.sh (ss-size, ss-sizerej, ss-nostarttls, ss-hidetls, ss-timeout, ss-lmtp) and
# s3-haraka.sh (h-early, h-early2, h-unrec, h-unrec2, h-barelf, h-bdat). SRC=ADDR binds the source
# address. Prints the dialogue to stdout.
import socket, ssl, sys, time
kase, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
import os
s = socket.create_connection((host, port), timeout=15, source_address=(os.environ['SRC'], 0) if os.environ.get('SRC') else None)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
f = None
def rd():
    buf = b''
    while True:
        try: c = s.recv(4096)
        except socket.timeout: print('R timeout'); return buf
        if not c: print('R EOF'); return buf
        buf += c
        lines = buf.split(b'\r\n')
        if len(lines) >= 2 and len(lines[-2]) >= 4 and lines[-2][3:4] == b' ' and buf.endswith(b'\r\n'):
            print('S:', buf.decode(errors='replace').rstrip()); return buf
def tx(b, wait=True):
    print('C:', b[:120]); s.sendall(b)
    return rd() if wait else None
def rd_n(n):  # read until n final reply lines
    buf=b''; t=time.time()
    while buf.count(b'\r\n') < n and time.time()-t < 10:
        c = s.recv(4096)
        if not c: break
        buf += c
    print('S:', buf.decode(errors='replace').rstrip()); return buf
if kase == 'early':
    s.sendall(b'EHLO client.example.org\r\n'); print('C: early EHLO')
rd()
if kase == 'early':
    rd(); tx(b'MAIL FROM:<a@example.org>\r\n'); tx(b'QUIT\r\n')
elif kase == 'unrec':
    tx(b'EHLO client.example.org\r\n')
    for i in range(13):
        r = tx(b'XYZZY%d\r\n' % i)
        if not r: break
elif kase == 'barelf':
    tx(b'EHLO client.example.org\r\n'); tx(b'MAIL FROM:<a@example.org>\r\n'); tx(b'RCPT TO:<bob@example.test>\r\n'); tx(b'DATA\r\n')
    tx(b'Subject: bare lf\r\n\r\nline one\r\nline two\n.\n')
    rd()
elif kase == 'bdat':
    tx(b'EHLO client.example.org\r\n'); tx(b'MAIL FROM:<a@example.org>\r\n'); tx(b'RCPT TO:<bob@example.test>\r\n')
    body = b'Subject: bdat\r\n\r\nhello via bdat\r\n'
    tx(b'BDAT %d LAST\r\n' % len(body) + body); tx(b'QUIT\r\n')
elif kase == 'hidetls':
    tx(b'EHLO client.example.org\r\n'); tx(b'STARTTLS\r\n')
    ctx = ssl.create_default_context(); ctx.check_hostname=False; ctx.verify_mode=ssl.CERT_NONE
    s = ctx.wrap_socket(s, server_hostname='mx.example.test'); print('TLS', s.version())
    tx(b'EHLO client.example.org\r\n'); tx(b'MAIL FROM:<a@example.org>\r\n'); tx(b'RCPT TO:<bob@example.test>\r\n'); tx(b'DATA\r\n')
    tx(b'Subject: hi\r\n\r\nhello\r\n.\r\n'); tx(b'QUIT\r\n')
elif kase == 'nostarttls':
    tx(b'EHLO client.example.org\r\n'); tx(b'STARTTLS\r\n'); tx(b'MAIL FROM:<a@example.org>\r\n'); tx(b'RCPT TO:<bob@example.test>\r\n'); tx(b'DATA\r\n')
    tx(b'Subject: hi\r\n\r\nhello\r\n.\r\n'); tx(b'QUIT\r\n')
elif kase == 'timeout':
    tx(b'EHLO client.example.org\r\n'); tx(b'MAIL FROM:<a@example.org>\r\n'); tx(b'RCPT TO:<bob@example.test>\r\n'); tx(b'DATA\r\n')
    tx(b'Subject: stalled\r\n\r\nfirst line\r\n', wait=False)
    print('stalling'); rd()
elif kase == 'size':
    tx(b'EHLO client.example.org\r\n')
    tx(b'MAIL FROM:<a@example.org> SIZE=50000\r\n')
    tx(b'MAIL FROM:<a@example.org> SIZE=500\r\n'); tx(b'RCPT TO:<bob@example.test>\r\n'); tx(b'DATA\r\n')
    tx(b'Subject: big\r\n\r\n' + (b'y'*70 + b'\r\n')*60 + b'.\r\n'); tx(b'QUIT\r\n')
elif kase == 'lmtp':
    tx(b'LHLO client.example.org\r\n')
    s.sendall(b'MAIL FROM:<a@example.org>\r\nRCPT TO:<bob@example.test>\r\nRCPT TO:<nobody@example.test>\r\nRCPT TO:<quota@example.test>\r\nRCPT TO:<later@example.test>\r\nRCPT TO:<carol@example.test>\r\nDATA\r\n')
    rd_n(7)
    s.sendall(b'Subject: lmtp\r\n\r\nhello\r\n.\r\n'); rd_n(4)
    tx(b'QUIT\r\n')
s.close()
