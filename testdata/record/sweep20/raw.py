#!/usr/bin/env python3
"""raw.py SRC DST[:PORT] SCRIPT  -- SCRIPT lines: 'S text' send line+CRLF, 'B hex/ text' raw bytes,
'R' read one reply (multi-line), 'W secs' sleep, 'D file' send file bytes, 'X' read until close (10s)."""
import socket, sys, time
src, dst, script = sys.argv[1], sys.argv[2], sys.argv[3]
host, port = (dst.rsplit(':',1)+['25'])[:2]
fam = socket.AF_INET6 if ':' in host and host.count(':')>1 else socket.AF_INET
if '[' in dst: host=dst[1:dst.index(']')]; port=dst.split(']:')[1] if ']:' in dst else '25'; fam=socket.AF_INET6
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.bind((src, 0)); s.settimeout(30); s.connect((host, int(port)))
t0 = time.time(); buf = b''
def log(d, m): print(f"{time.time()-t0:8.3f} {d} {m!r}", flush=True)
def readreply(to=30):
    global buf
    s.settimeout(to)
    while True:
        while b'\r\n' in buf:
            line, buf = buf.split(b'\r\n', 1); log('S', line)
            if len(line) < 4 or line[3:4] != b'-': return line
        try: d = s.recv(65536)
        except socket.timeout: log('!', 'timeout'); return None
        if not d: log('!', 'closed'); return None
        buf += d
for ln in open(script).read().splitlines():
    if not ln.strip(): continue
    op, _, arg = ln.partition(' ')
    try:
        if op == 'S': s.sendall(arg.encode('utf-8', 'surrogateescape')+b'\r\n'); log('C', arg)
        elif op == 'B': b = eval(arg); s.sendall(b); log('C', b[:80])
        elif op == 'D': b = open(arg,'rb').read(); s.sendall(b); log('C', f'<{len(b)} bytes from {arg}>')
        elif op == 'R':
            if readreply() is None and buf == b'': pass
        elif op == 'W': time.sleep(float(arg))
        elif op == 'X':
            while readreply(10) is not None: pass
            break
    except OSError as e: log('!', str(e)); break
s.close(); log('!', 'client closed')
