"""Loopback: free ports on 127.0.0.1, and tiny HTTP servers there standing in for AWS endpoints."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port():
    """A port nothing listens on now (the OS's pick; free until someone binds it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_ports(count):
    """``count`` distinct free ports: held open together while the OS picks them, since two
    ``free_port()`` calls in a row may well get the same one back."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def listening(host, port):
    """Whether ``host:port`` accepts a TCP connection within a second."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class OwnedHTTPServer(ThreadingHTTPServer):
    """The HTTP server of a LoopbackServer, which its handlers reach as ``self.server.owner``."""

    owner: Any  # the LoopbackServer subclass, with whatever state its handlers keep there


class LoopbackServer:
    """A ThreadingHTTPServer on a free loopback port; ``handler.server.owner`` is this object."""

    def __init__(self, handler):
        self.server = OwnedHTTPServer(("127.0.0.1", 0), handler)
        self.server.owner = self
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and answers in one call (``reply``)."""

    server: OwnedHTTPServer

    def log_message(self, *args):
        pass

    def read_body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def reply(self, status, body=b"", content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
