def run(srv,cli):
    c=conn(srv,cli); c.r()
    c.cmd("EHLO client.example.org\r\n")
    c.cmd("XCLIENT NAME=spike.example ADDR=192.0.2.7 HELO=spike.example\r\n")
    c.cmd("EHLO spike.example\r\n")
    c.cmd("MAIL FROM:<a@example.org>\r\n"); c.cmd("RCPT TO:<user@example.test>\r\n"); c.cmd("DATA\r\n")
    c.send("Subject: via xclient\r\n\r\nhi\r\n.\r\n"); c.r()
    c.cmd("QUIT\r\n"); c.r(1); c.close()
