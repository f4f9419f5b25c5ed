import smtplib
s = smtplib.SMTP('127.0.0.12', 25, local_hostname='py.example.org', timeout=30)
msg = open('${SWEEP:-/tmp/clients-sweep}/msgs/big.eml','rb').read()
try:
    print(s.sendmail('sender@example.org', ['a@example.test','nobody@example.test','grey@example.test'], msg))
except Exception as e: print('ERR', e)
s.quit()
