import socket,sys,time
src,dst,mode=sys.argv[1],sys.argv[2],sys.argv[3]
s=socket.socket(); s.bind((src,0)); s.settimeout(10); s.connect((dst,25))
def rd():
    d=s.recv(65536); print('S',d,flush=True); return d
rd(); s.sendall(b'EHLO c.example.org\r\n'); time.sleep(0.2); rd()
if mode=='bdat':
    s.sendall(b'MAIL FROM:<a@example.org>\r\nRCPT TO:<user@example.test>\r\nBDAT 1000 LAST\r\n'+b'x'*78+b'\r\n'); print('C envelope + 80 of 1000 bytes')
else:
    s.sendall(b'MAIL FROM:<a@example.org>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n'); time.sleep(0.2); rd()
    s.sendall(b'Subject: x\r\n\r\n'+b'x'*78+b'\r\n'); print('C 94 bytes of message')
time.sleep(0.5)
s.shutdown(socket.SHUT_WR); print('C FIN')
try:
    while True:
        d=rd()
        if not d: break
except Exception as e: print('!',e)
s.close()
