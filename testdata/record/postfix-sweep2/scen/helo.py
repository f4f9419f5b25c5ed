def run(srv,cli):
    c=conn(srv,cli); c.r()
    c.cmd("MAIL FROM:<a@example.org>\r\n")          # 503 send HELO first
    c.cmd("HELO bad_name!\r\n")
    c.cmd("MAIL FROM:<a@example.org>\r\n")
    c.cmd("RCPT TO:<user@example.test>\r\n")        # 501 helo invalid
    c.cmd("DATA\r\n")                                # 554 no valid rcpts
    c.cmd("RSET\r\n")
    c.cmd("EHLO foo\r\n")
    c.cmd("MAIL FROM:<a@example.org>\r\n")
    c.cmd("RCPT TO:<user@example.test>\r\n")        # 504 non fqdn
    c.cmd("RSET\r\n")
    c.cmd("EHLO client.example.org\r\n")
    c.cmd("MAIL FROM:<a@example.org>\r\n")
    c.cmd("RCPT TO:<user@example.test>\r\n",20)     # 450 host not found
    c.cmd("VRFY user\r\n")
    c.cmd("NOOP\r\n")
    c.cmd("HELP\r\n")
    c.cmd("FOOBAR\r\n")
    c.cmd("QUIT\r\n"); c.r(1); c.close()
