#!/usr/bin/env python3
"""aiosmtpd server for recordings. env: ADDR PORT MODE TIMEOUT DATA_LIMIT TLS(0/1) AUTH(0/1)
MODE: accept | 451-rcpt | 451-data | drop-rcpt | drop-data
recipients: nosuch* -> 550, full* -> 452; messages > DATA_LIMIT -> aiosmtpd's own 552.
Runs in the chroot as /opt/sw/aiosrv.py (lib.sh's chroot_prep puts it there): s03_osd_relay.sh, s04_aiosmtpd.sh."""
import asyncio, os, ssl, logging, sys
from aiosmtpd.smtp import SMTP, AuthResult
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format='%(asctime)s %(name)s %(levelname)s %(message)s')
MODE = os.environ.get('MODE', 'accept')
log = logging.getLogger('handler')
class H:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split('@')[0].lower()
        if MODE == '451-rcpt':
            return '451 4.3.0 Temporary lookup failure, try again later'
        if MODE == 'drop-rcpt':
            log.info('dropping connection at RCPT %s', address); server.transport.abort(); return '250 OK'
        if local.startswith('nosuch'):
            return '550 5.1.1 <%s>: Recipient address rejected: User unknown' % address
        if local.startswith('full'):
            return '452 4.2.2 <%s>: Mailbox full' % address
        envelope.rcpt_tos.append(address)
        return '250 2.1.5 OK'
    async def handle_DATA(self, server, session, envelope):
        log.info('DATA from=%s to=%s bytes=%d opts=%s', envelope.mail_from, envelope.rcpt_tos, len(envelope.original_content or b''), envelope.mail_options)
        if MODE == '451-data':
            return '451 4.3.0 Temporary failure after end of data, try again later'
        if MODE == 'drop-data':
            log.info('dropping connection after end of data, no reply'); server.transport.abort(); return '250 never sent'
        return '250 2.0.0 Ok: queued'
def auth(server, session, envelope, mechanism, auth_data):
    log.info('AUTH %s %r', mechanism, auth_data)
    return AuthResult(success=True)
async def main():
    loop = asyncio.get_running_loop()
    ctx = None
    if os.environ.get('TLS') == '1':
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain('/etc/smtpd/mx.crt', '/etc/smtpd/mx.key')
    kw = dict(hostname='aio.test', enable_SMTPUTF8=True, timeout=float(os.environ.get('TIMEOUT', '300')),
              data_size_limit=int(os.environ.get('DATA_LIMIT', '33554432')), tls_context=ctx)
    if os.environ.get('AUTH') == '1':
        kw.update(authenticator=auth, auth_require_tls=False)
    srv = await loop.create_server(lambda: SMTP(H(), loop=loop, **kw), os.environ['ADDR'], int(os.environ.get('PORT', '25')))
    log.info('listening %s mode=%s', os.environ['ADDR'], MODE)
    async with srv:
        await srv.serve_forever()
asyncio.run(main())
