// nm-client.js CASE HOST PORT : nodemailer 10.6.1 client cases; logs to stdout (RESULT lines per message).
// Run by s1-nodemailer-exim.sh (nm-exim-*.pcap), s2-smtp-server.sh (ss-rcpt, ss-authreq, ss-nmlmtp,
// ss-smtps, ss-smtpsfail, ss-nmsize, ss-noauth, ss-authbad, ss-authok, ss-shutdown) and s3-haraka.sh
// (h-nm). The modules come from $SWEEP/node_modules (lib.sh sets NODE_PATH).
const nodemailer = require('nodemailer');
const crypto = require('crypto');
const [, , kase, host, port] = process.argv;
const base = { host, port: +port, name: 'client.example.org', logger: true, debug: true,
  ignoreTLS: true, connectionTimeout: 8000, greetingTimeout: 8000, socketTimeout: 15000 };
const msg = (n, to) => ({ from: 'alice@example.org', to, subject: 'test ' + n, text: 'Hello number ' + n + '\n.leading dot line\nbye\n' });
function done(t) { if (t.close) t.close(); }
async function send(t, m) {
  try { const i = await t.sendMail(m); console.log('RESULT ok', JSON.stringify({accepted: i.accepted, rejected: i.rejected, response: i.response})); }
  catch (e) { console.log('RESULT error', e.code, e.responseCode, e.response || e.message); }
}
(async () => {
  let t;
  switch (kase) {
  case 'plain':
    t = nodemailer.createTransport(base);
    await send(t, msg(1, ['bob@example.test', 'nobody@example.test', 'carol@example.test']));
    break;
  case 'ssrcpt':
    t = nodemailer.createTransport(base);
    await send(t, msg(8, ['bob@example.test', 'nobody@example.test', 'full@example.test', 'carol@example.test']));
    await send(t, msg(9, ['nobody@example.test', 'full@example.test']));
    break;
  case 'hplain':
    t = nodemailer.createTransport(base);
    await send(t, msg(30, ['bob@example.test', 'nobody@example.test', 'carol@example.test']));
    await send(t, msg(31, ['grey@example.test']));
    break;
  case 'lmtp':
    t = nodemailer.createTransport(Object.assign({}, base, { lmtp: true }));
    await send(t, msg(40, ['bob@example.test', 'nobody@example.test', 'quota@example.test', 'later@example.test', 'carol@example.test']));
    break;
  case 'smtps':
    t = nodemailer.createTransport(Object.assign({}, base, { secure: true, ignoreTLS: false, tls: { rejectUnauthorized: false } }));
    await send(t, msg(41, ['bob@example.test', 'nobody@example.test']));
    break;
  case 'smtpsfail':
    t = nodemailer.createTransport(Object.assign({}, base, { secure: true, ignoreTLS: false }));
    await send(t, msg(42, ['bob@example.test']));
    break;
  case 'sizenm':
    t = nodemailer.createTransport(base);
    await send(t, Object.assign(msg(43, 'bob@example.test'), { text: 'z'.repeat(70) + '\n'.repeat(1) + ('q'.repeat(70) + '\n').repeat(80) }));
    break;
  case 'authnm':
    t = nodemailer.createTransport(Object.assign({}, base, { auth: { user: 'alice', pass: 'secret' } }));
    await send(t, msg(44, 'bob@example.test'));
    break;
  case 'authbad':
    t = nodemailer.createTransport(Object.assign({}, base, { auth: { user: 'alice', pass: 'wrong' } }));
    await send(t, msg(45, 'bob@example.test'));
    break;
  case 'utf8':
    t = nodemailer.createTransport(base);
    await send(t, { from: 'ålice@example.org', to: ['josé@example.test', 'bob@example.test'], subject: 'ünïcödé', text: 'grüße\n' });
    break;
  case 'tlsfail12':
    t = nodemailer.createTransport(Object.assign({}, base, { ignoreTLS: false, requireTLS: true, tls: { rejectUnauthorized: true, maxVersion: 'TLSv1.2' } }));
    await send(t, msg(46, 'bob@example.test'));
    break;
  case 'poolwait':
    t = nodemailer.createTransport(Object.assign({}, base, { pool: true, maxConnections: 1, socketTimeout: 60000 }));
    await send(t, msg(50, 'bob@example.test'));
    await new Promise(r => setTimeout(r, 4000));
    await send(t, msg(51, 'bob@example.test'));
    t.close(); return;
  case 'attach': {
    t = nodemailer.createTransport(base);
    const buf = crypto.randomBytes(3 * 1024 * 1024);
    await send(t, Object.assign(msg(2, 'bob@example.test'), { attachments: [{ filename: 'big.bin', content: buf }] }));
    break; }
  case 'binary': {
    t = nodemailer.createTransport(base);
    const buf = crypto.randomBytes(200 * 1024);
    const eb = Buffer.from('line one\nbare lf line\rbare cr\r\n.\r\nafter dot\r\n\0nul here\r\n' + 'x'.repeat(1200) + '\r\nend\xe9\r\n', 'latin1');
    await send(t, Object.assign(msg(3, 'bob@example.test'), { attachments: [
      { filename: 'raw.bin', content: buf, contentTransferEncoding: 'binary' },
      { filename: 'e.txt', content: eb, contentType: 'application/octet-stream', contentTransferEncoding: '8bit' }] }));
    break; }
  case 'tls':
    t = nodemailer.createTransport(Object.assign({}, base, { ignoreTLS: false, requireTLS: true, tls: { rejectUnauthorized: false } }));
    await send(t, msg(4, ['bob@example.test', 'carol@example.test']));
    break;
  case 'tlsfail':
    t = nodemailer.createTransport(Object.assign({}, base, { ignoreTLS: false, requireTLS: true, tls: { rejectUnauthorized: true } }));
    await send(t, msg(5, 'bob@example.test'));
    break;
  case 'pool': case 'poolidle':
    t = nodemailer.createTransport(Object.assign({}, base, { pool: true, maxConnections: 1, maxMessages: 10, socketTimeout: 60000 }));
    await Promise.all([1, 2, 3, 4].map(i => send(t, msg(10 + i, i == 3 ? 'nobody@example.test' : 'bob@example.test'))));
    if (kase == 'pool') { await new Promise(r => setTimeout(r, 1500)); t.close(); }
    else { await new Promise(r => setTimeout(r, 6000)); await send(t, msg(20, 'bob@example.test')); t.close(); }
    return;
  case 'grey':
    t = nodemailer.createTransport(base);
    await send(t, msg(6, ['grey@example.test']));
    await send(t, msg(7, ['grey@example.test', 'bob@example.test']));
    break;
  }
  done(t);
})();
