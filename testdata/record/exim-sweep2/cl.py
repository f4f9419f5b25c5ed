#!/usr/bin/env python3
"""cl.py SERVER PORT LOCAL SCRIPTFILE [NAME]: run one scripted SMTP session.
Script is python: a list STEPS of tuples: ('s', b'bytes') send; ('r',) read one full reply (timeout 30s);
('r', n) read n replies; ('w', secs) sleep; ('fin',) shutdown write and read until EOF (<=30s);
('rst',) close with RST; ('eof',) read until server closes (<=60s)."""
import socket, sys, time, struct
def run(server, port, local, steps, log=sys.stderr):
    fam = socket.AF_INET6 if ':' in server else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.bind((local, 0)); s.settimeout(30); s.connect((server, port))
    buf = b''
    def reply():
        nonlocal buf
        lines = []
        deadline = time.time() + 60
        while time.time() < deadline:
            while b'\n' in buf:
                l, buf = buf.split(b'\n', 1); lines.append(l)
                if len(l) >= 4 and l[3:4] == b' ' or len(l) < 4: return lines
            d = s.recv(65536)
            if not d: lines.append(b'<EOF>'); return lines
            buf += d
        return lines
    print('<', reply(), file=log)
    for st in steps:
        k = st[0]
        if k == 's': s.sendall(st[1]); print('>', st[1][:80], file=log)
        elif k == 'r':
            for _ in range(st[1] if len(st) > 1 else 1): print('<', reply(), file=log)
        elif k == 'w': time.sleep(st[1])
        elif k == 'fin':
            s.shutdown(socket.SHUT_WR)
            try:
                while s.recv(65536): pass
            except Exception as e: print('fin-read', e, file=log)
            s.close(); return
        elif k == 'rst':
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); s.close(); return
        elif k == 'eof':
            s.settimeout(60)
            try:
                while True:
                    d = s.recv(65536)
                    if not d: break
                    print('<', d[:200], file=log)
            except Exception as e: print('eof-read', e, file=log)
            s.close(); return
    s.close()
if __name__ == '__main__':
    ns = {}
    exec(open(sys.argv[4]).read(), ns)
    run(sys.argv[1], int(sys.argv[2]), sys.argv[3], ns['STEPS'])
