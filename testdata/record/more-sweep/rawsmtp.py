"""Minimal SMTP client helpers for record.sh's hand-made scenarios.

Each write is one send() on a TCP_NODELAY socket, so on the namespace's
loopback (MTU 1500, TSO/GSO off) each write becomes one TCP segment.
Every wait is bounded by the socket timeout.
"""

import argparse
import socket
import sys
import time

TIMEOUT = 15.0  # seconds, per read


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--server", required=True, help="server address (IPv4 or IPv6)")
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--bind", default=None, help="local address to bind to")
    p.add_argument("--helo", default="client.example.org")
    return p.parse_args()


class Client:
    def __init__(self, server, port, bind=None):
        family = socket.AF_INET6 if ":" in server else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(TIMEOUT)
        if bind:
            self.sock.bind((bind, 0))
        self.sock.connect((server, port))
        self.buf = b""

    def log(self, direction, data):
        for line in data.decode("latin-1").splitlines() or [""]:
            print(f"{direction} {line}", file=sys.stderr)

    def send(self, data):
        """One write, one segment."""
        self.log(" ->", data)
        self.sock.sendall(data)

    def reply(self, timeout=TIMEOUT):
        """Read one complete (possibly multi-line) reply; return (code, text).

        Returns (None, partial) if the peer closed or the timeout expired."""
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None, b"".join(lines)
                self.sock.settimeout(left)
                try:
                    chunk = self.sock.recv(65536)
                except socket.timeout:
                    return None, b"".join(lines)
                if not chunk:
                    return None, b"".join(lines)
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line + b"\r\n")
            self.log("<- ", line)
            if len(line) < 4 or line[3:4] != b"-":
                self.sock.settimeout(TIMEOUT)
                return int(line[:3]), b"".join(lines)

    def expect(self, code, timeout=TIMEOUT):
        got, text = self.reply(timeout)
        if got != code:
            raise SystemExit(f"expected {code}, got {got}: {text!r}")
        return text

    def wait_close(self, timeout=5.0):
        """Wait (bounded) for the server to close, then close our side."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
        except socket.timeout:
            pass
        self.sock.close()

    def reset(self):
        """Abortive close: SO_LINGER 0 makes close() send RST."""
        import struct

        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()
