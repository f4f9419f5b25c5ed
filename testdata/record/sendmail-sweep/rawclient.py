#!/usr/bin/env python3
"""Tiny scripted SMTP client. Steps from argv (JSON list): ["send","text"], ["sleep",s], ["read",timeout], ["readall",timeout], ["close"], ["shutwr"], ["rst"]
usage: rawclient.py HOST PORT STEPS_JSON
The scripted client of s02-s05, s07, s09, s10, s12 and s13 here (testdata/record/sendmail-sweep)."""
import socket, sys, json, time, struct
host, port, steps = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.settimeout(10)
s.connect((host, port))
def rd(t):
    s.settimeout(t); buf=b''
    try:
        while True:
            d = s.recv(65536)
            if not d: print("<EOF>"); break
            buf += d; sys.stdout.write(d.decode('latin1')); sys.stdout.flush()
            if buf.endswith(b'\r\n') and (len(buf.split(b'\r\n')[-2])<4 or buf.split(b'\r\n')[-2][3:4]==b' '): break
    except socket.timeout: print("<timeout>")
    except ConnectionResetError: print("<RST>")
for st in steps:
    op = st[0]
    if op == 'send': 
        data = st[1].encode('latin1') if isinstance(st[1], str) else bytes(st[1])
        print(">>", repr(data[:200])); s.sendall(data)
    elif op == 'sendfile':
        data=open(st[1],'rb').read(); print(">> file", st[1], len(data)); s.sendall(data)
    elif op == 'sleep': time.sleep(st[1])
    elif op == 'read': rd(st[1])
    elif op == 'readall':
        s.settimeout(st[1]); end=time.time()+st[1]
        try:
            while time.time()<end:
                d=s.recv(65536)
                if not d: print("<EOF>"); break
                sys.stdout.write(d.decode('latin1')); sys.stdout.flush()
        except socket.timeout: print("<timeout>")
        except ConnectionResetError: print("<RST>")
    elif op == 'shutwr': s.shutdown(socket.SHUT_WR)
    elif op == 'rst':
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii',1,0)); s.close(); sys.exit(0)
    elif op == 'close': s.close(); sys.exit(0)
s.close()
