M1=b"From: a@example.org\r\nTo: user@example.test\r\nSubject: one\r\n\r\nbody one\r\n"
def run(srv,cli):
    c=conn(srv,cli); c.r()
    c.cmd("EHLO client.example.org\r\n")
    # tx1: pipelined MAIL RCPT BDAT(2 chunks)
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<user@example.test>\r\nBDAT 20\r\n"+M1[:20])
    c.r();c.r();c.r()
    c.send(b"BDAT %d LAST\r\n"%(len(M1)-20)+M1[20:]); c.r()
    # tx2: BDAT 0 LAST after a chunk
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nBDAT %d\r\n"%len(M1)+M1+b"BDAT 0 LAST\r\n")
    c.r();c.r();c.r();c.r()
    # tx3: chunk then RSET (abandon)
    c.cmd("MAIL FROM:<a@example.org>\r\n"); c.cmd("RCPT TO:<c@example.test>\r\n")
    c.send(b"BDAT 10\r\n0123456789"); c.r()
    c.cmd("RSET\r\n")
    # tx4: DATA after BDAT in same transaction -> error
    c.cmd("MAIL FROM:<a@example.org>\r\n"); c.cmd("RCPT TO:<d@example.test>\r\n")
    c.send(b"BDAT 10\r\n0123456789"); c.r()
    c.cmd("DATA\r\n")
    c.cmd("RSET\r\n")
    # tx5: BDAT with no recipients
    c.cmd("MAIL FROM:<a@example.org>\r\n")
    c.send(b"BDAT 5 LAST\r\nhello"); c.r()
    c.cmd("QUIT\r\n"); c.r(1); c.close()
