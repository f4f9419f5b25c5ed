BODY="From: a@example.org\r\nTo: user@example.test\r\nSubject: big\r\n\r\n" + ("x"*70+"\r\n")*60
def run(srv,cli):
    c=conn(srv,cli); c.r()
    c.cmd("EHLO client.example.org\r\n")
    # 1: SIZE declared over limit -> 552 at MAIL
    c.cmd("MAIL FROM:<a@example.org> SIZE=5000\r\n")
    # 2: no SIZE, body too big -> 552 after end of data
    c.cmd("MAIL FROM:<a@example.org>\r\n"); c.cmd("RCPT TO:<user@example.test>\r\n"); c.cmd("DATA\r\n")
    c.send(BODY+".\r\n"); c.r()
    # 3: SIZE declared small, body big
    c.cmd("MAIL FROM:<a@example.org> SIZE=500\r\n"); c.cmd("RCPT TO:<user@example.test>\r\n"); c.cmd("DATA\r\n")
    c.send(BODY+".\r\n"); c.r()
    # 4: small message ok
    c.cmd("MAIL FROM:<a@example.org> SIZE=100\r\n"); c.cmd("RCPT TO:<user@example.test>\r\n"); c.cmd("DATA\r\n")
    c.send("Subject: small\r\n\r\nhi\r\n.\r\n"); c.r()
    c.cmd("QUIT\r\n"); c.r(1); c.close()
