def run(srv,cli):
    c=conn(srv,cli); c.r()
    c.cmd("EHLO client.example.org\r\n")
    names=["user","b","c","d","root","postmaster"]
    lines=[b"MAIL FROM:<a@example.org>\r\n"]
    off=len(lines[0]); i=0
    while off<3000:
        rc=names[i%6]
        l=b"RCPT TO:<%s@example.test>\r\n"%rc.encode()
        if off<1448<off+len(l) or off<2896<off+len(l):
            l=b"RCPT TO:<nosuch%d@example.test>\r\n"%i
        lines.append(l); off+=len(l); i+=1
    lines.append(b"DATA\r\n")
    c.send(b"".join(lines))
    for _ in range(len(lines)):
        if c.r(3) is None: break
    c.send("Subject: many\r\n\r\nhi\r\n.\r\n"); c.r()
    c.cmd("QUIT\r\n"); c.r(1); c.close()
