"""Shared core of the server-recording SMTP clients (testdata/pcaps/sendmail,
opensmtpd and postfix-bare: smtp_client.py, each run by its record.sh).

One TCP connection with TCP_NODELAY, bound to the client address, so each
send() is one explicit write; replies are read with timeouts; every write and
every reply (and a timeout, a partial reply, EOF) is logged with the seconds
since start, to the log file and to stderr, one line each:
    "%9.6f KIND %r"  e.g. " 0.001234 C>S b'DATA\\r\\n'"
Nothing is read unless the caller asks for a reply. Scenarios, message content
and how long to wait after what stay in each smtp_client.py.

(testdata/record/rawsmtp.py is another helper, for record.sh's hand-made
scenarios, with its own log format and timeouts.)
"""
import socket
import sys
import time


class Client:
    """An SMTP client connection: Client(SERVER_ADDR, CLIENT_ADDR, LOGFILE).

    The clock starts and LOGFILE is opened before connecting; the connect is
    logged. `eof` is true once the server has closed (or reset) the
    connection; a caller may also set it to skip its QUIT.
    """

    def __init__(self, srv, cli, logf, port=25, tolerant_sends=False):
        """tolerant_sends: a failed write (the server may have closed already)
        is logged as "send failed" instead of raised, for every send()."""
        self.t0 = time.time()
        self.log = open(logf, "w")
        self.tolerant_sends = tolerant_sends
        self.sock = s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.bind((cli, 0))
        s.connect((srv, port))
        self.note("connect", "%s:%d -> %s:%d" % (s.getsockname() + (srv, port)))
        self.buf = b""  # received, not yet returned as a reply
        self.eof = False

    def note(self, kind, data):
        """Log one line: seconds since start, KIND, repr(data)."""
        line = "%9.6f %s %r" % (time.time() - self.t0, kind, data)
        print(line, file=self.log, flush=True)
        print(line, file=sys.stderr, flush=True)

    def reply(self, timeout):
        """One complete (possibly multi-line) reply, or None on timeout/EOF."""
        s = self.sock
        end = time.time() + timeout
        while True:
            lines = self.buf.split(b"\r\n")
            for i, l in enumerate(lines[:-1]):
                if len(l) >= 4 and l[3:4] == b" ":  # last line of a reply
                    r = b"\r\n".join(lines[: i + 1]) + b"\r\n"
                    self.buf = self.buf[len(r):]
                    self.note("S>C", r)
                    return r
            left = end - time.time()
            if self.eof or left <= 0:
                if self.buf:
                    self.note("S>C partial", self.buf)
                self.note("no reply", "eof" if self.eof else "timeout %gs" % timeout)
                return None
            s.settimeout(left)
            try:
                d = s.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                d = b""
                self.note("recv", "connection reset")
            if not d:
                self.eof = True
                self.note("recv", "EOF from server")
            self.buf += d

    def send(self, data, tolerant=None):
        """Log, then write `data` in one sendall() (nothing is read).
        tolerant (default: the client's tolerant_sends): log an OSError as
        "send failed" instead of raising it."""
        self.note("C>S", data)
        if tolerant is None:
            tolerant = self.tolerant_sends
        if not tolerant:
            self.sock.sendall(data)
            return
        try:
            self.sock.sendall(data)
        except OSError as e:  # the server may have closed already
            self.note("send failed", str(e))

    def cmd(self, line, want):
        """Send command `line` + CRLF; its reply (10 s) must start with `want`,
        else exit with a message."""
        self.send(line + b"\r\n")
        r = self.reply(10)
        if r is None or not r.startswith(want):
            raise SystemExit("unexpected reply to %r: %r" % (line, r))
        return r

    def drain(self, wait):
        """Read replies until the server closes or `wait` seconds pass without
        a complete one. Returns `eof`."""
        while not self.eof:
            if self.reply(wait) is None:
                break
        return self.eof

    def close(self):
        """Close the socket and log it."""
        self.sock.close()
        self.note("close", "client closed its socket")
