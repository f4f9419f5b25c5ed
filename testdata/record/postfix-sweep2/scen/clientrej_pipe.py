def run(srv,cli):
    c=conn(srv,cli); c.r()
    c.cmd("EHLO client.example.org\r\n")
    c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<user@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
    for i in range(4): c.r()
    c.cmd("QUIT\r\n"); c.r(1); c.close()
