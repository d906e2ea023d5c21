"""A local API Gateway on 127.0.0.1 in front of the local Lambda's instances.

It turns each HTTP request into the event its ``kind`` of source sends (REST v1, HTTP
API v2, function URL or ALB), invokes the function, and answers with the status codes
AWS gives when a limit is hit:

- a request body over the gateway's limit (10 MB on API Gateway): 413, unread;
- an event over Lambda's 6 MB synchronous payload limit: 413, the function not invoked;
- no answer within the integration timeout (29 s REST, 30 s HTTP API): 504, while the
  invocation runs on until the function's own timeout, as it does on AWS;
- a function error, crash or timeout: 502 (500 on HTTP API);
- a path outside the stage (``/dev/...`` on REST and HTTP API URLs): 403 / 404.

It also answers Lambda's Invoke API for asynchronous invocations
(``POST /2015-03-31/functions/<name>/invocations`` with ``X-Amz-Invocation-Type: Event``),
so the function's own tasks (``AWS_ENDPOINT_URL_LAMBDA`` pointed here) run on its instances.
"""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import http_events
from .http_events import ALB, URL, V1, V2

MAX_GATEWAY_BYTES = 10 * 1024 * 1024
MAX_EVENT_BYTES = 6 * 1024 * 1024  # 6 MiB: Lambda's synchronous invocation payload
INTEGRATION_TIMEOUTS = {V1: 29.0, V2: 30.0}

FUNCTION_ERROR = {
    V1: (502, {"message": "Internal server error"}),
    V2: (500, {"message": "Internal Server Error"}),
    URL: (502, {"Message": "Internal Server Error"}),
    ALB: (502, {"message": "Bad Gateway"}),
}
_INVOKE = re.compile(r"^/2015-03-31/functions/[^/]+/invocations$")
_OUTSIDE_STAGE = {V1: (403, {"message": "Forbidden"}), V2: (404, {"message": "Not Found"})}


class Front:
    """An HTTP server on ``host:port`` (0: a free port) whose requests ``respond`` answers
    (a subclass's): the local gateway's, and the deploy rehearsal's execute-api."""

    max_request_bytes = MAX_GATEWAY_BYTES  # read by GatewayHandler

    def __init__(self, host="127.0.0.1", port=0):
        self.server = GatewayServer((host, port), GatewayHandler)
        self.server.daemon_threads = True
        self.server.gateway = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def respond(self, request):
        """``(status, [(name, value)], body)`` for one ``http_events.Request``."""
        raise NotImplementedError


class Gateway(Front):
    """``kind`` events for ``pool``'s function, served on ``host:port`` (0: a free port)."""

    def __init__(
        self,
        pool,
        kind=V1,
        stage="dev",
        host="127.0.0.1",
        port=0,
        integration_timeout=None,
        max_request_bytes=MAX_GATEWAY_BYTES,
        max_event_bytes=MAX_EVENT_BYTES,
    ):
        self.pool = pool
        self.kind = kind
        self.stage = stage if kind in (V1, V2) else None
        # Function URLs and ALB have no integration timeout of their own: the function's.
        self.integration_timeout = integration_timeout or INTEGRATION_TIMEOUTS.get(
            kind, pool.function.timeout + pool.function.init_timeout
        )
        self.max_request_bytes = max_request_bytes
        self.max_event_bytes = max_event_bytes
        super().__init__(host, port)

    @property
    def url(self):
        prefix = f"/{self.stage}" if self.stage else ""
        return f"{self.origin}{prefix}/"

    def respond(self, request):
        """``(status, [(name, value)], body)`` for one ``http_events.Request``."""
        if request.method == "POST" and _INVOKE.match(request.path):
            return self.invoke_async(request)
        if self.stage:
            prefix = f"/{self.stage}"
            if request.path != prefix and not request.path.startswith(prefix + "/"):
                return _json(*_OUTSIDE_STAGE[self.kind])
            request.path = request.path[len(prefix) :] or "/"
        event = http_events.event_for(self.kind, request, self.stage, scheme="http")
        payload = json.dumps(event).encode()
        if len(payload) > self.max_event_bytes:
            return _json(413, {"message": "Request Entity Too Large"})
        invocation = self.pool.submit(payload)
        if not invocation.done.wait(self.integration_timeout):
            return _json(504, {"message": "Endpoint request timed out"})
        if invocation.error is not None:
            return _json(*FUNCTION_ERROR[self.kind])
        try:
            return http_events.response_from(self.kind, invocation.result)
        except (ValueError, TypeError, AttributeError):
            # Lambda answered, but not with a response API Gateway understands.
            return _json(*FUNCTION_ERROR[self.kind])

    def invoke_async(self, request):
        """Lambda's Invoke API, asynchronous only: queued, answered 202 at once."""
        invocation_type = {k.lower(): v for k, v in request.headers}.get(
            "x-amz-invocation-type", "RequestResponse"
        )
        if invocation_type != "Event":
            return _json(400, {"Message": "The local Lambda takes Event invocations only."})
        if len(request.body) > 256 * 1024:
            return _json(413, {"Message": "Request must be smaller than 262144 bytes."})
        # In a thread: the caller may be the only instance, busy until we answer.
        threading.Thread(target=self.pool.invoke, args=(request.body,), daemon=True).start()
        return 202, [("Content-Type", "application/json")], b""


class GatewayServer(ThreadingHTTPServer):
    """The HTTP server of one ``Front``, which its handlers reach as ``server.gateway``."""

    gateway: Front
    # After bind, an AF_INET socket's own address: the host is a str, never bytes.
    server_address: tuple[str, int]


class GatewayHandler(BaseHTTPRequestHandler):
    server: GatewayServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # see RuntimeAPIHandler

    def log_message(self, *args):
        pass

    def handle_any(self):
        gateway = self.server.gateway
        length = int(self.headers.get("Content-Length") or 0)
        if length > gateway.max_request_bytes:
            # Not read: the connection closes instead.
            self.close_connection = True
            return self._send(*_json(413, {"message": "Request Too Long"}))
        path, _, query = self.path.partition("?")
        request = http_events.Request(
            method=self.command,
            path=path,
            query=query,
            headers=list(self.headers.items()),
            body=self.rfile.read(length) if length else b"",
            source_ip=self.client_address[0],
        )
        self._send(*gateway.respond(request))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = handle_any

    def _send(self, status, headers, body):
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _json(status, document):
    return status, [("Content-Type", "application/json")], json.dumps(document).encode()
