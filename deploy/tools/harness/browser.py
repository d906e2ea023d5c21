"""Just enough of a browser over http.client: cookies, CSRF, forms and multipart bodies."""

import http.client
import json
import re
import ssl
import urllib.parse
import uuid
from http.cookies import SimpleCookie

# The host name the server target is configured for (DJANGO_ALLOWED_HOSTS), sent as Host.
HOST = "app.example.com"


class Response:
    """An HTTP response read in full: ``status``, ``headers``, ``body``."""

    def __init__(self, raw):
        self.status = raw.status
        self.headers = raw.headers
        self.body = raw.read()

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode()


class _NamedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address, naming ``server_name`` in TLS (SNI) as a browser names the host."""

    def __init__(self, address, port, *, context, server_name, timeout, source_address):
        super().__init__(
            address, port, timeout=timeout, source_address=source_address, context=context
        )
        self.tls, self.server_name = context, server_name

    def connect(self):
        http.client.HTTPConnection.connect(self)
        self.sock = self.tls.wrap_socket(self.sock, server_hostname=self.server_name)


class Browser:
    """Just enough of a browser: a cookie jar per host (Secure cookies kept: the TLS is in
    front), CSRF token handling, and the headers the proxy in front would add.

    ``client_address`` (another loopback address, 127.0.0.2...) is where its connections
    come from, for tests of what the server makes of distinct clients. A path in
    ``base_url`` (API Gateway's stage, ``/dev``) prefixes every request's.
    """

    def __init__(self, base_url, host=HOST, forwarded_proto=None, client_address=None):
        parts = urllib.parse.urlsplit(base_url)
        self.scheme, self.address, self.port = parts.scheme, parts.hostname, parts.port
        self.prefix = parts.path.rstrip("/")
        self.host = host
        self.forwarded_proto = forwarded_proto
        self.source = (client_address, 0) if client_address else None
        self.cookies = {}

    def _connection(self):
        if self.scheme == "https":
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
            return _NamedHTTPSConnection(
                self.address,
                self.port,
                context=context,
                server_name=self.host.split(":")[0],
                timeout=30,
                source_address=self.source,
            )
        return http.client.HTTPConnection(
            self.address, self.port, timeout=30, source_address=self.source
        )

    def request(self, method, path, body=None, headers=None):
        headers = {"Host": self.host, **(headers or {})}
        if self.forwarded_proto:
            headers.setdefault("X-Forwarded-Proto", self.forwarded_proto)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection = self._connection()
        try:
            connection.request(method, self.prefix + path, body=body, headers=headers)
            response = Response(connection.getresponse())
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def origin(self):
        proto = self.forwarded_proto or self.scheme
        return f"{proto}://{self.host}"

    def post(self, path, body=b"", content_type="application/x-www-form-urlencoded", **kw):
        headers = {
            "Content-Type": content_type,
            "Origin": self.origin(),
            "Referer": self.origin() + self.prefix + path,
            "X-CSRFToken": self.cookies.get("csrftoken", ""),
            **kw.pop("headers", {}),
        }
        return self.request("POST", path, body=body, headers=headers, **kw)

    def post_json(self, path, data):
        return self.post(path, json.dumps(data).encode(), content_type="application/json")

    def login(self, username, password):
        form = self.get("/accounts/login/")
        if form.status != 200:
            raise AssertionError(form.status)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        if token is None:
            raise AssertionError("no CSRF token in the login form")
        body = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token.group(1), "username": username, "password": password}
        )
        return self.post("/accounts/login/", body.encode())


def multipart(fields, file_field, filename, data):
    """A multipart/form-data body: what a browser sends to a presigned POST."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
