// ss-server.js CASE ADDR PORT : Node smtp-server 3.21.6 as the server of s2-smtp-server.sh (captures
// ss-*.pcap), with per-case options and handlers (nobody@ 550, full@ 452 at RCPT; quota@ 552 and
// later@ 451 after LMTP's end of data); logs to stdout. The certificate is $SWEEP/certs (lib.sh certs).
const { SMTPServer } = require('smtp-server');
const fs = require('fs');
const [, , kase, addr, port] = process.argv;
const W = process.env.SWEEP || '/tmp/sw-node';
const o = { logger: true, name: 'mx.example.test', authOptional: true, banner: 'node smtp-server',
  key: fs.readFileSync(W + '/certs/key.pem'), cert: fs.readFileSync(W + '/certs/cert.pem'),
  onRcptTo(a, s, cb) {
    if (/^nobody@/.test(a.address)) { const e = new Error('<' + a.address + '>: no such user'); e.responseCode = 550; return cb(e); }
    if (/^full@/.test(a.address)) { const e = new Error('<' + a.address + '>: mailbox full, try later'); e.responseCode = 452; return cb(e); }
    cb();
  },
  onData(stream, s, cb) {
    let n = 0; stream.on('data', c => n += c.length);
    stream.on('end', () => {
      console.log('ONDATA bytes', n, 'sizeExceeded', stream.sizeExceeded);
      if (kase == 'data552') { const e = new Error('message rejected by content filter'); e.responseCode = 552; return cb(e); }
      if (kase == 'data451') { const e = new Error('local error in processing, try later'); e.responseCode = 451; return cb(e); }
      if (kase == 'lmtp') return cb(null, s.envelope.rcptTo.map(r => /^quota@/.test(r.address) ? Object.assign(new Error('<' + r.address + '> over quota'), { responseCode: 552 }) : /^later@/.test(r.address) ? Object.assign(new Error('<' + r.address + '> try later'), { responseCode: 451 }) : 'OK ' + r.address));
      cb(null, 'queued as ' + Date.now());
    });
    if (kase == 'close') { stream.once('data', () => { console.log('DESTROYING SOCKET in onData'); global.lastSock.destroy(); }); }
  },
};
if (kase == 'authreq') o.authOptional = false;
if (kase == 'size') o.size = 2000;
if (kase == 'sizerej') { o.size = 2000; o.rejectOversized = true; }
if (kase == 'nostarttls') o.disabledCommands = ['STARTTLS'];
if (kase == 'hidetls') o.hideSTARTTLS = true;
if (kase == 'timeout') o.socketTimeout = 3000;
if (kase == 'lmtp') o.lmtp = true;
if (kase == 'smtps') o.secure = true;
if (kase == 'noauth') { o.disabledCommands = ['AUTH']; }
if (kase == 'auth') { o.authOptional = false; o.allowInsecureAuth = true; o.onAuth = (a, s, cb) => a.username == 'alice' && a.password == 'secret' ? cb(null, { user: 'alice' }) : cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 })); }
const srv = new SMTPServer(o);
if (kase == 'close') srv.server.on('connection', sock => { global.lastSock = sock; });
srv.on('error', e => console.log('SERVER ERROR', e.message));
srv.listen(+port, addr, () => console.log('LISTENING', addr, port));
process.on('SIGTERM', () => { srv.close(() => process.exit(0)); setTimeout(() => process.exit(0), 1500); });
