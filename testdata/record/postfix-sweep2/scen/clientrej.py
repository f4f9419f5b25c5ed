def run(srv,cli):
    c=conn(srv,cli); c.r()
    c.cmd("EHLO client.example.org\r\n")
    c.cmd("MAIL FROM:<a@example.org>\r\n")
    c.cmd("RCPT TO:<user@example.test>\r\n")   # 554 client host rejected
    c.cmd("RCPT TO:<b@example.test>\r\n")
    c.cmd("DATA\r\n")                           # 554 no valid recipients
    c.cmd("QUIT\r\n"); c.r(1); c.close()
