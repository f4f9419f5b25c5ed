#!/usr/bin/env python3
"""abort_client.py SERVER BIND MESSAGE: send MESSAGE with Python's smtplib from BIND to SERVER:25,
giving up on any step after 5 s. The socket lingers 0 s, so a client that gives up aborts the
connection: its kernel sends RST at once instead of queueing a FIN behind whatever of the message
it still holds. Used by record.sh for paused-client-aborts.pcap: a client that stops waiting on a
server that stopped reading."""
import smtplib
import socket
import struct
import sys

server, bind, path = sys.argv[1:4]
with open(path, encoding="ascii") as f:
    message = f.read()  # a str: smtplib sends its line endings as CRLF
smtp = smtplib.SMTP(server, 25, local_hostname="client.example.org", timeout=5, source_address=(bind, 0))
smtp.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
try:
    smtp.sendmail("reports@example.org", ["user@example.test"], message)
    smtp.quit()
except (OSError, smtplib.SMTPException) as e:
    print("gave up:", e, file=sys.stderr)
    smtp.close()
    sys.exit(1)
