M=b"From: a@example.org\r\nTo: user@example.test\r\nSubject: chunk\r\n\r\nMAIL FROM:<evil@example.org>\r\nbody\r\n"
def run(srv,cli):
    c=conn(srv,cli); c.r()
    c.cmd("EHLO client.example.org\r\n")
    c.cmd("MAIL FROM:<a@example.org>\r\n"); c.cmd("RCPT TO:<user@example.test>\r\n")
    c.send(b"BDAT %d LAST\r\n"%len(M)+M)
    for i in range(8):
        if c.r(2) is None: break
    c.cmd("QUIT\r\n"); c.r(1); c.close()
