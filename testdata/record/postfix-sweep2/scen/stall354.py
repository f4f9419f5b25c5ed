def run(srv,cli):
    c=conn(srv,cli); c.r()
    c.cmd("EHLO client.example.org\r\n")
    c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n"); c.r(); c.r(); c.r()
    c.r(10)
    c.send("Subject: late\r\n\r\nhi\r\n.\r\n"); c.r(2); c.close()
