import ssl
def run(srv,cli):
    c=conn(srv,cli); c.r()
    c.cmd("EHLO client.example.org\r\n")
    c.cmd("MAIL FROM:<a@example.org>\r\n")   # 530 must issue STARTTLS
    c.cmd("RCPT TO:<user@example.test>\r\n") # 503?
    c.send("STARTTLS\r\nRSET\r\n")           # injection attempt
    c.r()
    ctx=ssl.create_default_context(); ctx.check_hostname=False; ctx.verify_mode=ssl.CERT_NONE
    s=ctx.wrap_socket(c.k, server_hostname="mx.example.test")
    c.log("tls",s.version())
    s.settimeout(3)
    try: c.log("tls-read",s.recv(1000))
    except Exception as e: c.log("tls-read-exc",str(e))
    for cmd in [b"EHLO client.example.org\r\n",b"MAIL FROM:<a@example.org>\r\n",b"RCPT TO:<user@example.test>\r\n",b"DATA\r\n",b"Subject: t\r\n\r\nhi\r\n.\r\n",b"QUIT\r\n"]:
        s.sendall(cmd)
        try: c.log("tls-S>C",s.recv(1000))
        except Exception as e: c.log("exc",str(e))
    s.close()
