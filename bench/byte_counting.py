"""Bytes on loopback's wire, counted: a TCP proxy that counts each way, and a POST that stops
sending the moment the server answers (a 413 comes before the body is read)."""

import contextlib
import http.client
import select
import socket
import threading
import time

CHUNK = 64 * 1024


class CountingProxy:
    """A TCP proxy on a free loopback port counting the bytes each way, headers included."""

    def __init__(self, upstream_port):
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.to_upstream = self.from_upstream = self.open = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def counts(self):
        """``(bytes to upstream, bytes from upstream)`` once no connection is open."""
        wait_for(lambda: self.open == 0, 30, f"connections through :{self.port} to close")
        with self.lock:
            return self.to_upstream, self.from_upstream

    def since(self, before):
        to_upstream, from_upstream = self.counts()
        return {"to": to_upstream - before[0], "from": from_upstream - before[1]}

    def close(self):
        self.listener.close()

    def _accept(self):
        with contextlib.suppress(OSError):  # until the listener is closed
            while True:
                client, _ = self.listener.accept()
                with self.lock:
                    self.open += 1
                threading.Thread(target=self._connection, args=(client,), daemon=True).start()

    def _connection(self, client):
        try:
            with client, socket.create_connection(self.upstream, timeout=10) as upstream:
                upstream.settimeout(None)
                back = threading.Thread(
                    target=self._pump, args=(upstream, client, False), daemon=True
                )
                back.start()
                self._pump(client, upstream, True)
                back.join(timeout=300)
        except OSError:
            pass
        finally:
            with self.lock:
                self.open -= 1

    def _pump(self, source, target, to_upstream):
        # Counted send by send: when the upstream answers and closes mid-body (a 413 before
        # reading), what its socket took is what counts.
        try:
            while chunk := source.recv(CHUNK):
                view = memoryview(chunk)
                while view:
                    sent = target.send(view)
                    view = view[sent:]
                    with self.lock:
                        if to_upstream:
                            self.to_upstream += sent
                        else:
                            self.from_upstream += sent
        except OSError:
            pass
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


def post_until_answered(port, path, headers, body, timeout=60):
    """POST ``body`` to 127.0.0.1:``port``, stopping the moment the server answers.

    A 413 comes before the body is read; a client that kept writing would only see the
    connection reset. Returns ``(status or None, answer or error, body bytes sent)``.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.putrequest("POST", path, skip_accept_encoding=True)
    for name, value in {**headers, "Content-Length": str(len(body))}.items():
        connection.putheader(name, value)
    connection.endheaders()
    sock, sent, view = connection.sock, 0, memoryview(body)
    deadline = time.monotonic() + timeout
    try:
        while sent < len(body) and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1)
            if readable:
                break
            if writable:
                sent += sock.send(view[sent : sent + CHUNK])
    except OSError:
        pass  # closed mid-body: the answer may still be there to read
    try:
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace"), sent
    except OSError as exc:
        return None, repr(exc), sent
    finally:
        connection.close()


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)
