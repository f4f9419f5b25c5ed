def run(srv,cli):
    a=conn(srv,cli); a.r()
    a.cmd("EHLO client.example.org\r\n")
    b=conn(srv,cli); b.r(); b.cmd("EHLO client.example.org\r\n"); b.cmd("QUIT\r\n"); b.r(1); b.close()
    for i in range(3):
        r=a.cmd("MAIL FROM:<a@example.org>\r\n")
        if not r.startswith(b"250"): continue
        a.cmd("RCPT TO:<user@example.test>\r\n"); a.cmd("DATA\r\n"); a.send("Subject: %d\r\n\r\nhi\r\n.\r\n"%i); a.r()
    a.cmd("QUIT\r\n"); a.r(1); a.close()
