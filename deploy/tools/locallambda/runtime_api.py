"""The Runtime API of one instance: the endpoints the runtime interface client calls.

Each instance serves its own on 127.0.0.1, as each Lambda sandbox has:
``/2018-06-01/runtime/invocation/next`` hands the worker its next event (and blocks until
there is one), ``.../<id>/response`` and ``.../<id>/error`` give that invocation its
outcome, and ``/init/error`` reports a handler that failed to load. With SnapStart,
``/restore/next`` marks the snapshot taken (or, in a restored instance, its after-restore
hooks started) and ``/restore/error`` reports a hook that failed. The server's ``instance``
(``instance.Instance``) holds the events and the invocation in progress; a snapshot's
(``snapstart.Snapshot``) passes each request on to the restored instance it is for.
"""

import contextlib
import json
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API = "/2018-06-01/runtime"
MAX_RESPONSE_BYTES = 6 * 1024 * 1024  # synchronous invocation response limit
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"


class RuntimeAPIServer(ThreadingHTTPServer):
    """One instance's Runtime API, on a free port of 127.0.0.1."""

    daemon_threads = True

    def __init__(self, instance):  # an instance.Instance; not imported: it imports this
        super().__init__(("127.0.0.1", 0), RuntimeAPIHandler)
        self.instance = instance

    def handle_error(self, request, client_address):
        # A worker killed mid-request (a timeout, a closed pool) resets its connection.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class RuntimeAPIHandler(BaseHTTPRequestHandler):
    """The Runtime API endpoints the runtime interface client calls."""

    server: RuntimeAPIServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes on a kept-alive connection: with Nagle's
    # algorithm the body would wait for the client's delayed ACK (~40 ms per reply).
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        instance = self.server.instance.serving(self.headers)
        if instance is None:
            return self._reply(500, {"errorMessage": "instance stopped"})
        if self.path == f"{API}/restore/next":
            if not instance.restore_next():
                return self._reply(403, {"errorType": "InvalidStateTransition"})
            return self._reply(200, {})
        if self.path != f"{API}/invocation/next":
            return self._reply(404, {"errorMessage": "unknown path"})
        invocation = instance.next_invocation()
        if invocation is None:
            return self._reply(500, {"errorMessage": "instance stopped"})
        function = instance.function
        deadline_ms = int((time.time() + function.timeout) * 1000)
        self._reply(
            200,
            invocation.payload,
            {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": (
                    f"arn:aws:lambda:{function.region}:000000000000:function:{function.name}"
                ),
                "Lambda-Runtime-Trace-Id": _trace_id(),
            },
        )

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        instance = self.server.instance.serving(self.headers)
        if instance is None:
            return self._reply(500, {"errorMessage": "instance stopped"})
        if self.path == f"{API}/init/error":
            instance.init_error = _init_error(body, self.headers)
            return self._reply(202, {"status": "OK"})
        if self.path == f"{API}/restore/error":
            instance.restore_error = _json_or(body, {"errorType": "Runtime.AfterRestoreError"})
            return self._reply(202, {"status": "OK"})
        prefix, _, outcome = self.path.rpartition("/")
        request_id = prefix.rsplit("/", 1)[-1]
        invocation = instance.current
        if invocation is None or invocation.request_id != request_id:
            return self._reply(400, {"errorType": "InvalidRequestID"})
        if outcome == "response":
            if len(body) > MAX_RESPONSE_BYTES:
                invocation.fail(
                    "Function.ResponseSizeTooLarge",
                    f"Response payload size ({len(body)} bytes) exceeded maximum allowed "
                    f"payload size ({MAX_RESPONSE_BYTES} bytes).",
                )
                return self._reply(413, {"errorType": "RequestEntityTooLarge"})
            invocation.succeed(body)
        elif outcome == "error":
            invocation.fail(**_error_fields(body, self.headers))
        else:
            return self._reply(404, {"errorMessage": "unknown path"})
        self._reply(202, {"status": "OK"})

    def _reply(self, status, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        # The instance may be gone (stopped, or timed out and killed).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)


def _json_or(body, default):
    try:
        return json.loads(body)
    except ValueError:
        return default


def _init_error(body, headers):
    """What /init/error posted; a failed before-snapshot hook is named as such (the runtime
    sends the hook's exception as the body and its category in the header)."""
    error = _json_or(body, {"errorType": "Runtime.InitError"})
    category = headers.get(ERROR_TYPE_HEADER)
    if category and category != error.get("errorType"):
        message = f"{error.get('errorType')}: {error.get('errorMessage', '')}"
        error = {**error, "errorType": category, "errorMessage": message}
    return error


def _error_fields(body, headers):
    error = _json_or(body, {})
    return {
        "error_type": error.get("errorType") or headers.get(ERROR_TYPE_HEADER),
        "message": error.get("errorMessage", ""),
    }


def _trace_id():
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
