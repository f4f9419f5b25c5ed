#!/usr/bin/env python3
"""deaf_client.py SERVER BIND COUNT: a client that pipelines without reading, the deadlock RFC 2920
section 3.1 warns of. It reads the greeting and the EHLO reply, then writes MAIL FROM and COUNT
RCPT TO commands in one go, reading nothing. The server's replies fill the client's receive
buffer, the client's window closes, the server blocks writing and stops reading, the server's
window closes, and the client blocks writing too. After 10 s the client gives up and closes with
the replies unread (its kernel resets). Used by record.sh for deaf-client.pcap."""
import socket
import sys

server, bind, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
sock = socket.create_connection((server, 25), timeout=10, source_address=(bind, 0))
f = sock.makefile("rb")


def reply():
    while True:
        line = f.readline()
        if not line or line[3:4] != b"-":
            return line


reply()
sock.sendall(b"EHLO client.example.org\r\n")
reply()
commands = [b"MAIL FROM:<lists@example.org>\r\n"]
commands += [b"RCPT TO:<member%05d@example.test>\r\n" % i for i in range(count)]
try:
    sock.sendall(b"".join(commands))
    print("all written", file=sys.stderr)
except (socket.timeout, TimeoutError) as e:
    print("gave up writing:", e, file=sys.stderr)
sock.close()
