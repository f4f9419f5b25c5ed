#!/usr/bin/env python3
"""smtplib client: smtplib_send.py HOST PORT MODE   MODE: utf8 | big | multi
Python smtplib as the client of s04_aiosmtpd.sh (aio-smtplib-*; runs on the host)."""
import smtplib, sys
from email.message import EmailMessage
host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = smtplib.SMTP(host, port, local_hostname='pyclient.test', timeout=30)
s.set_debuglevel(1)
try:
    if mode == 'utf8':
        m = EmailMessage(); m['From'] = 'jörg@client.test'; m['To'] = 'zoë@remote.test'; m['Subject'] = 'Grüße ✓'
        m.set_content('Unicode body: naïve café ✓\n')
        print(s.send_message(m, mail_options=['SMTPUTF8']))
    elif mode == 'big':
        m = EmailMessage(); m['From'] = 'py@client.test'; m['To'] = 'alice@remote.test'; m['Subject'] = 'big'
        m.set_content(('y' * 70 + '\n') * 300)
        print(s.send_message(m))
    elif mode == 'multi':
        m = EmailMessage(); m['From'] = 'py@client.test'; m['To'] = 'alice@remote.test'; m['Subject'] = 'multi'
        m.set_content('hello\n')
        print(s.send_message(m, to_addrs=['alice@remote.test', 'nosuch@remote.test', 'full@remote.test', 'bob@remote.test']))
except smtplib.SMTPException as e:
    print('SMTPException:', repr(e))
try:
    s.quit()
except Exception as e:
    print('quit failed', e)
