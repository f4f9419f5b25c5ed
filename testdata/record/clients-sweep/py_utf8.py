import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m['From'] = 'jörg@example.org'; m['To'] = 'müller@example.test'; m['Subject'] = 'Grüße'
m.set_content('Grüße aus Köln\n'*3)  # 8bit/utf-8 body
s = smtplib.SMTP('127.0.0.12', 25, local_hostname='py.example.org', timeout=30)
if len(sys.argv) > 1 and sys.argv[1] == 'tls':
    import ssl; c = ssl.create_default_context(); c.check_hostname=False; c.verify_mode=ssl.CERT_NONE
    s.starttls(context=c)
print(s.send_message(m))
s.quit()
