#!/usr/bin/env python3
"""bigsend.py HOST PORT MB [RCPT]: one SMTP session with smtplib, a message of MB megabytes sent with one sendall."""
import smtplib, sys, os, base64
host, port, mb = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rcpt = sys.argv[4] if len(sys.argv) > 4 else "user@example.test"
body = base64.encodebytes(os.urandom(int(mb * 1024 * 1024 * 3 / 4))).decode().replace("\n", "\r\n")
msg = "From: big@example.org\r\nTo: %s\r\nSubject: big python message\r\n\r\n%s" % (rcpt, body)
with smtplib.SMTP(host, port, local_hostname="pyclient.example.org", timeout=30) as s:
    r = s.sendmail("big@example.org", [rcpt], msg)
    print("sendmail refused:", r)
