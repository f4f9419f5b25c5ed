def run(srv,cli):
    c=conn(srv,cli); c.r()
    c.cmd("EHLO client.example.org\r\n")
    c.cmd("MAIL FROM:<a@example.org>\r\n")
    c.cmd("RCPT TO:<user@example.test>\r\n")
    c.cmd("QUIT\r\n"); c.r(1); c.close()
