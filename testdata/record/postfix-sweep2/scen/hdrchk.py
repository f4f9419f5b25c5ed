def msg(subj, extra=""): return "From: a@example.org\r\nTo: user@example.test\r\nSubject: %s\r\n\r\nline\r\n%s.\r\n"%(subj,extra)
def run(srv,cli):
    c=conn(srv,cli); c.r()
    c.cmd("EHLO client.example.org\r\n")
    for subj,extra in [("reject me",""),("ok one",""),("discard me",""),("body","BADBODY here\r\n"),("hold me","")]:
        c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n"); c.r();c.r();c.r()
        c.send(msg(subj,extra)); c.r()
    c.cmd("QUIT\r\n"); c.r(1); c.close()
