#!/usr/bin/env python3
"""lost_server.py ADDR SPOOL: an SMTP server on ADDR:25 from Python 3.11's standard library (smtpd),
for record-postfix.sh's lost-250-postfix-python.pcap. It accepts every message at once and answers
the end of data with a reply no other command gets, "250 2.0.0 Ok: queued as LOSTREPLY", so that
an iptables string match on LOSTREPLY drops that reply, and only that one, on its way in to the
client (the greeting, EHLO, MAIL, RCPT and DATA replies pass). Every message it accepts is appended
to SPOOL/mbox. It serves for 180 s, then exits."""
import os
import sys
import time
import warnings

warnings.simplefilter("ignore", DeprecationWarning)
import asyncore  # noqa: E402  (removed in Python 3.12; recorded with 3.11)
import smtpd  # noqa: E402

addr, spool = sys.argv[1], sys.argv[2]


class LostServer(smtpd.SMTPServer):
    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        with open(os.path.join(spool, "mbox"), "ab") as f:
            f.write(b"From " + mailfrom.encode() + b"\n" + data + b"\n\n")
        return "250 2.0.0 Ok: queued as LOSTREPLY"


LostServer((addr, 25), None, decode_data=False)
deadline = time.time() + 180
while time.time() < deadline:
    asyncore.loop(timeout=1, count=1)
