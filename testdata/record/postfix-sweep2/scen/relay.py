def run(srv,cli):
    c=conn(srv,cli); c.r()
    c.cmd("EHLO client.example.org\r\n")
    c.cmd("MAIL FROM:<a@example.org>\r\n")
    c.cmd("RCPT TO:<victim@elsewhere.example>\r\n")   # 554 relay denied + footer
    c.cmd("RCPT TO:<nosuch@example.test>\r\n")        # 550 user unknown + footer
    c.cmd("RCPT TO:<user@example.test>\r\n")
    c.cmd("DATA\r\n")
    c.send("Subject: partial\r\n\r\nhello\r\n.\r\n"); c.r()
    c.cmd("QUIT\r\n"); c.r(1); c.close()
