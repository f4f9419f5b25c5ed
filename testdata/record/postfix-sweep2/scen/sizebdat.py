BODY=b"From: a@example.org\r\nTo: user@example.test\r\nSubject: big\r\n\r\n" + (b"y"*70+b"\r\n")*60
def run(srv,cli):
    c=conn(srv,cli); c.r()
    c.cmd("EHLO client.example.org\r\n")
    c.cmd("MAIL FROM:<a@example.org>\r\n"); c.cmd("RCPT TO:<user@example.test>\r\n")
    h=len(BODY)//2
    c.send(b"BDAT %d\r\n"%h+BODY[:h]); c.r()
    c.send(b"BDAT %d LAST\r\n"%(len(BODY)-h)+BODY[h:]); c.r()
    c.cmd("QUIT\r\n"); c.r(1); c.close()
