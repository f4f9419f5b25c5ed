import sys
BODY="From: a@example.org\r\nTo: user@example.test\r\nSubject: big report\r\n\r\n" + "".join("Line %04d of the quarterly report, nothing special here.\r\n"%i for i in range(60))
MODE=sys.argv[4]
def run(srv,cli):
    c=conn(srv,cli); c.r()
    c.cmd("EHLO client.example.org\r\n")
    if MODE=="nosize":
        c.cmd("MAIL FROM:<a@example.org>\r\n")
    else:
        c.cmd("MAIL FROM:<a@example.org> SIZE=500\r\n")
    c.cmd("RCPT TO:<user@example.test>\r\n"); c.cmd("DATA\r\n")
    c.send(BODY+".\r\n"); c.r()
    c.cmd("MAIL FROM:<a@example.org> SIZE=100\r\n"); c.cmd("RCPT TO:<user@example.test>\r\n"); c.cmd("DATA\r\n")
    c.send("Subject: small\r\n\r\nhi\r\n.\r\n"); c.r()
    c.cmd("QUIT\r\n"); c.r(1); c.close()
