"""cl.py: tiny scripted SMTP client. Usage: python3 cl.py SCRIPT.py SRV CLI
The script defines run(c). c.send(b) one write; c.r(t) read one reply; c.sleep(s)."""
import socket, sys, time
class C:
    def __init__(s, srv, cli, port=25):
        s.t0=time.time(); s.k=socket.socket(); s.k.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.k.bind((cli,0)); s.k.connect((srv,port)); s.buf=b""; s.eof=False
    def log(s,k,d): print("%8.3f %s %r"%(time.time()-s.t0,k,d), flush=True)
    def send(s,b):
        if isinstance(b,str): b=b.encode()
        try: s.k.sendall(b); s.log("C>S",b[:200])
        except OSError as e: s.log("sendfail",str(e))
    def r(s,t=5):
        end=time.time()+t
        while True:
            lines=s.buf.split(b"\r\n")
            for i,l in enumerate(lines[:-1]):
                if len(l)>=4 and l[3:4]==b" ":
                    rep=b"\r\n".join(lines[:i+1])+b"\r\n"; s.buf=s.buf[len(rep):]; s.log("S>C",rep); return rep
            left=end-time.time()
            if left<=0 or s.eof: s.log("timeout/eof",s.buf); return None
            s.k.settimeout(left)
            try: d=s.k.recv(65536)
            except socket.timeout: continue
            except OSError as e: s.log("recvfail",str(e)); s.eof=True; continue
            if not d: s.eof=True
            s.buf+=d
    def sleep(s,t): time.sleep(t)
    def cmd(s,b,t=5): s.send(b); return s.r(t)
    def close(s): s.k.close(); s.log("close","")
def conn(srv,cli): return C(srv,cli)
if __name__=="__main__":
    ns={"conn":conn,"time":time}; exec(open(sys.argv[1]).read(),ns); ns["run"](sys.argv[2],sys.argv[3])
