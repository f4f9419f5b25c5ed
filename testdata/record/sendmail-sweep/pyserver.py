#!/usr/bin/env python3
"""Minimal SMTP server for sendmail-as-client tests. usage: pyserver.py ADDR PORT MODE LIFETIME
MODE: ok | defer451 (451 to RCPT, 554 to DATA w/o rcpts) | defer451lenient (451 to RCPT but 354 to DATA anyway) | drop (close socket after first body chunk) | defer-data (451 after end of data)
The servers Sendmail delivers to in s08, s08b and s11 here (testdata/record/sendmail-sweep)."""
import socket, sys, threading, time
addr, port, mode, life = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
ls = socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((addr, port)); ls.listen(5); ls.settimeout(1)
def log(*a): print(time.strftime('%H:%M:%S'), *a, flush=True)
def handle(c, peer):
    c.settimeout(30); f = c.makefile('rb')
    def w(s): c.sendall(s.encode()); log(peer, 'S:', s.strip())
    w('220 peer.example.test ESMTP pyserver\r\n'); nrcpt = 0
    try:
        while True:
            line = f.readline()
            if not line: log(peer, 'EOF'); break
            log(peer, 'C:', line.strip())
            u = line.upper()
            if u.startswith(b'EHLO'): w('250-peer.example.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n')
            elif u.startswith(b'HELO'): w('250 peer.example.test\r\n')
            elif u.startswith(b'MAIL'): nrcpt = 0; w('250 2.1.0 ok\r\n')
            elif u.startswith(b'RCPT'):
                if mode.startswith('defer451'): w('451 4.7.1 greylisted, try again later\r\n')
                else: nrcpt += 1; w('250 2.1.5 ok\r\n')
            elif u.startswith(b'DATA') and nrcpt == 0 and mode != 'defer451lenient': w('554 5.5.1 Error: no valid recipients\r\n')
            elif u.startswith(b'DATA'):
                w('354 go ahead\r\n')
                if mode == 'drop':
                    first = f.readline(); log(peer, 'body first line', first); time.sleep(0.3)
                    log(peer, 'closing mid-DATA'); c.close(); return
                while True:
                    l = f.readline()
                    if not l or l == b'.\r\n': break
                w('451 4.3.0 temporary failure after data\r\n' if mode == 'defer-data' else '250 2.0.0 queued\r\n')
            elif u.startswith(b'QUIT'): w('221 2.0.0 bye\r\n'); break
            elif u.startswith(b'RSET') or u.startswith(b'NOOP'): w('250 2.0.0 ok\r\n')
            else: w('502 5.5.2 not implemented\r\n')
    except Exception as e: log(peer, 'exc', e)
    c.close()
end = time.time() + life
while time.time() < end:
    try: c, p = ls.accept()
    except socket.timeout: continue
    threading.Thread(target=handle, args=(c, p), daemon=True).start()
