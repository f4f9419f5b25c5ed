#!/usr/bin/env python3
"""slow_server.py ADDR SPOOL: an SMTP server on ADDR:25 from Python 3.11's standard library (smtpd),
for record.sh's late-250-python.pcap. While the file SPOOL/slow exists it takes 12 s over each
message before it answers the end of data (as a slow content scanner does), and, unlike Exim, it
does not notice a client that has given up in the meantime: it accepts the message and answers
250 to a closed connection. Every message it accepts is appended to SPOOL/mbox."""
import asyncore
import os
import sys
import time
import warnings

warnings.simplefilter("ignore", DeprecationWarning)
import smtpd  # noqa: E402  (removed in Python 3.12; recorded with 3.11)

addr, spool = sys.argv[1], sys.argv[2]


class SlowServer(smtpd.SMTPServer):
    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        if os.path.exists(os.path.join(spool, "slow")):
            time.sleep(12)
        with open(os.path.join(spool, "mbox"), "ab") as f:
            f.write(b"From " + mailfrom.encode() + b"\n" + data + b"\n\n")
        return None  # 250 OK


SlowServer((addr, 25), None, decode_data=False)
deadline = time.time() + 120
while time.time() < deadline:
    asyncore.loop(timeout=1, count=1)
